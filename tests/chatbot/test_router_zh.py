"""Routing on the Chinese default bot (``CHATBOT_LANGUAGE=zh``): utterance -> route, in Chinese.

The bot is the session's ``zh_bot`` (tests/conftest.py): assets/zh on multilingual-e5-small,
trained by a short run (the English bot's tests cover a full first-start training)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow  # the Chinese bot trains a second model (`make test-slow`)

CHINESE = re.compile(r"[\u4e00-\u9fff]")

ROUTES = [
    # (customer says, expected route, expected intent or FAQ id prefix)
    ("你好", "template", "greet"),
    ("谢谢你", "template", "thanks"),
    ("你是机器人吗？", "template", "bot_challenge"),
    ("我的订单A-12345到哪了", "template", "order_status"),
    ("帮我取消订单B-55555", "template", "cancel_order"),
    ("我的订单怎么还没到", "ask_slot", "order_status"),
    ("我要退货", "template", "return_item"),
    ("怎么开发票？", "template", "invoice_request"),
    ("转人工", "handoff", "human_handoff"),
    ("峡湾亚麻被套可以机洗吗", "faq", "prod-"),
]


@pytest.mark.parametrize("text, route, expected", ROUTES)
def test_route(zh_bot, text, route, expected):
    reply = zh_bot.reply(None, text)
    assert reply.route == route, reply.trace
    if route == "faq":
        assert reply.sources and reply.sources[0]["faq_id"].startswith(expected), reply.trace
    else:
        assert reply.intent == expected, reply.trace
    assert CHINESE.search(reply.text) and "{" not in reply.text  # a Chinese answer, every variable filled


def test_the_order_number_is_asked_for_in_chinese_and_taken_from_the_next_turn(zh_bot):
    session = zh_bot.session()
    first = zh_bot.reply(session, "帮我查一下订单")
    assert first.route == "ask_slot" and "订单号" in first.text
    second = zh_bot.reply(session, "订单号是ａ－１２３４５")  # full-width, as a Chinese keyboard may type it
    assert second.route == "template" and second.intent == "order_status" and "A-12345" in second.text


def test_a_slot_never_given_ends_with_an_offer_of_a_person_in_chinese(zh_bot):
    session = zh_bot.session()
    assert zh_bot.reply(session, "我要取消订单").route == "ask_slot"
    for _ in range(zh_bot.settings.slot_retries):
        assert zh_bot.reply(session, "我不记得了").route == "ask_slot"
    final = zh_bot.reply(session, "真的不知道")
    assert final.route == "fallback" and "订单号" in final.text and final.suggestions == [zh_bot.person_label]
    assert CHINESE.search(zh_bot.person_label)
