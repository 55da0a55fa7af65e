"""Multi-turn conversations on the default bot: each step is (customer says, expected route,
expected intent or FAQ id prefix, slots expected after the turn)."""

from __future__ import annotations

import pytest

ANY = object()

DIALOGUES = {
    "order number asked, then given": [
        ("where is my order?", "ask_slot", "order_status"),
        ("A-12345", "template", "order_status", {"order_id": "A-12345"}),
    ],
    "order number given in a sentence": [
        ("where is my order?", "ask_slot", "order_status"),
        ("it's A-12345", "template", "order_status", {"order_id": "A-12345"}),
    ],
    "lower-case order number is normalised": [
        ("where is my order?", "ask_slot", "order_status"),
        ("a-12345", "template", "order_status", {"order_id": "A-12345"}),
    ],
    "order number in the first message": [
        ("Where is my order B-22222?", "template", "order_status", {"order_id": "B-22222"})
    ],
    "greeting, then a request": [
        ("hi", "template", "greet"),
        ("where is my order B-22222?", "template", "order_status", {"order_id": "B-22222"}),
    ],
    "cancel asks for the order, then cancels": [
        ("cancel my order", "ask_slot", "cancel_order"),
        ("A-54321", "template", "cancel_order", {"order_id": "A-54321"}),
    ],
    "slot re-asked, then a person offered and accepted": [
        ("where is my order?", "ask_slot", "order_status"),
        ("I don't know it", "ask_slot", "order_status"),
        ("still no idea", "ask_slot", "order_status"),
        ("no clue at all", "fallback", "order_status"),
        ("yes", "handoff", "human_handoff"),
    ],
    "topic changed while a slot is pending": [
        ("where is my order?", "ask_slot", "order_status"),
        ("actually I want to cancel it", "ask_slot", "cancel_order"),
        ("A-77777", "template", "cancel_order", {"order_id": "A-77777"}),
    ],
    "a known order number is reused by the next question": [
        ("where is my order A-12345?", "template", "order_status", {"order_id": "A-12345"}),
        ("and can I still change it?", "template", "change_order", {"order_id": "A-12345"}),
    ],
    "suggestion chosen by number": [
        ("gift", "clarify", ANY),
        ("2", "faq", "ret-"),
    ],
    "suggestion chosen by ordinal": [
        ("gift", "clarify", ANY),
        ("the second one", "faq", "ret-"),
    ],
    "suggestion chosen as the last one": [
        ("gift", "clarify", ANY),
        ("the last one please", "faq", ANY),
    ],
    "suggestion chosen by its words": [
        ("gift", "clarify", ANY),
        ("return a gift", "faq", "ret-"),
    ],
    "suggestion chosen by its button text": [
        ("gift", "clarify", ANY),
        ("Can I return a gift I received?", "faq", "ret-"),
    ],
    "an intent suggestion chosen": [
        ("gift", "clarify", ANY),
        ("1", "template", "wrong_item"),
    ],
    "a number out of range is not a choice": [
        ("gift", "clarify", ANY),
        ("7", ANY, ANY),
    ],
    "two fallbacks offer a person, yes accepts": [
        ("blorf zzkx", "fallback", None),
        ("qwerty asdf", "fallback", None),
        ("yes", "handoff", "human_handoff"),
    ],
    "two fallbacks offer a person, no declines": [
        ("blorf zzkx", "fallback", None),
        ("qwerty asdf", "fallback", None),
        ("no thanks", "template", "deny"),
    ],
    "asking for a person directly": [("I want to speak to a human", "handoff", "human_handoff")],
    "angry request for a person": [("this is useless, I want a real person", "handoff", "human_handoff")],
    "follow-up about returns after delivery": [
        ("how long does delivery take?", "template", "delivery_time"),
        ("what about returns?", "template", "return_item"),
    ],
    "follow-up about cost after delivery": [
        ("how long does delivery take?", "template", "delivery_time"),
        ("and how much does it cost?", "template", "shipping_cost"),
    ],
    "follow-up that needs the previous question": [
        ("reset my password", "template", "reset_password"),
        ("it didn't work", "template", "reset_password"),
    ],
    "follow-up on the same FAQ product": [
        ("Is the Fjord linen duvet cover machine washable?", "faq", "prod-"),
        ("and what sizes does it come in?", "faq", "prod-"),
    ],
    "payment failure then methods": [
        ("my payment was declined", "template", "payment_failed"),
        ("what other payment methods do you have?", "template", "payment_methods"),
    ],
    "payment methods then a named method": [
        ("can I pay with paypal?", "template", "payment_methods"),
        ("and klarna?", "template", "payment_methods"),
    ],
    "small talk around a request": [
        ("hello there", "template", "greet"),
        ("my vase arrived broken", "template", "damaged_item"),
        ("thanks", "template", "thanks"),
        ("bye", "template", "goodbye"),
    ],
    "FAQ by product code": [("HG-4471", "faq", "prod-")],
    "empty message, then a real one": [
        ("   ", "empty", None),
        ("how much is shipping?", "template", "shipping_cost"),
    ],
    "shipping abroad then timing": [
        ("do you ship to Norway?", "template", "international_shipping"),
        ("what does delivery cost", "template", "shipping_cost"),
    ],
    "wrong item then missing item": [
        ("I got the wrong lamp", "template", "wrong_item"),
        ("and one of the chairs is missing from the box", "template", "missing_item"),
    ],
    "invoice request then password": [
        ("I need an invoice for my company", "template", "invoice_request"),
        ("I forgot my password and can't log in", "template", "reset_password"),
    ],
}


@pytest.mark.parametrize("steps", DIALOGUES.values(), ids=DIALOGUES.keys())
def test_dialogue(default_bot, steps):
    session = default_bot.session(None)
    for number, (text, route, expected, *slots) in enumerate(steps, 1):
        reply = default_bot.reply(session, text)
        where = f"turn {number} {text!r}: {reply.trace}"
        if route is not ANY:
            assert reply.route == route, where
        if expected is not ANY and route == "faq":
            assert reply.sources and reply.sources[0]["faq_id"].startswith(expected), where
        elif expected is not ANY:
            assert reply.intent == expected, where
        if slots:
            assert slots[0].items() <= session.slots.items(), where


def test_the_other_one_after_choosing_between_two(default_bot):
    from chatbot.context import Offer

    session = default_bot.session(None)
    faq = default_bot.faq.entries
    session.offers = [Offer(faq[0].question, "faq", faq[0].id), Offer(faq[1].question, "faq", faq[1].id)]
    first = default_bot.reply(session, "the first one")
    assert first.sources[0]["faq_id"] == faq[0].id
    other = default_bot.reply(session, "no, the other one")
    assert other.route == "faq" and other.sources[0]["faq_id"] == faq[1].id


def test_what_a_handoff_is_about_follows_the_small_talk_role(default_bot):
    """The same model and the same turns: "thanks" is small talk in the default domain, so the
    conversation stays about the order (what a handoff would be filed under); declared with
    no small talk, "thanks" becomes the topic."""
    from dataclasses import replace

    from chatbot import Bot

    def topic(bot: Bot) -> str | None:
        session = bot.session()
        replies = [bot.reply(session, text) for text in ("where is my order A-12345?", "thanks")]
        assert [r.intent for r in replies] == ["order_status", "thanks"], replies
        return session.last_intent

    assert "thanks" in default_bot.domain.roles.small_talk
    assert topic(default_bot) == "order_status"
    domain = replace(default_bot.domain, roles=replace(default_bot.domain.roles, small_talk=frozenset()))
    bot = Bot(default_bot.settings, domain, default_bot.classifier, default_bot.faq, None, default_bot.model_version)
    assert topic(bot) == "thanks"
