"""Routing on the default bot (trained from assets/ exactly as on first start): utterance -> route."""

from __future__ import annotations

import pytest

ROUTES = [
    # (customer says, expected route, expected intent or FAQ id)
    ("hi there", "template", "greet"),
    ("thank you so much!", "template", "thanks"),
    ("bye, have a good day", "template", "goodbye"),
    ("are you a real person?", "template", "bot_challenge"),
    ("How long will shipping take to Spain?", "template", "delivery_time"),
    ("what does delivery cost", "template", "shipping_cost"),
    ("I forgot my password and can't log in", "template", "reset_password"),
    ("my card payment was declined", "template", "payment_failed"),
    ("the vase arrived broken", "template", "damaged_item"),
    ("I need an invoice for my company", "template", "invoice_request"),
    ("I want to send my chair back", "template", "return_item"),
    ("Where is my order A-12345?", "template", "order_status"),
    ("please cancel order B-55555", "template", "cancel_order"),
    ("where is my order", "ask_slot", "order_status"),
    ("I want to speak to a human", "handoff", "human_handoff"),
    ("Is the Fjord linen duvet cover machine washable?", "faq", "prod-"),
    ("HG-4471", "faq", "prod-"),
]


@pytest.mark.parametrize("text, route, expected", ROUTES)
def test_route(default_bot, text, route, expected):
    reply = default_bot.reply(None, text)
    assert reply.route == route, reply.trace
    if route == "faq":
        assert reply.sources and reply.sources[0]["faq_id"].startswith(expected), reply.trace
    else:
        assert reply.intent == expected, reply.trace
    assert reply.text and "{" not in reply.text  # every template variable was filled


def test_order_number_is_asked_for_and_used_next_turn(default_bot):
    session = default_bot.session()
    first = default_bot.reply(session, "where is my order?")
    assert first.route == "ask_slot" and "order number" in first.text.lower()
    second = default_bot.reply(session, "it's A-12345")
    assert second.route == "template" and second.intent == "order_status"
    assert "A-12345" in second.text


def test_slot_question_is_repeated_then_given_up(default_bot):
    session = default_bot.session()
    assert default_bot.reply(session, "cancel my order please").route == "ask_slot"
    retries = [default_bot.reply(session, "I don't know it") for _ in range(default_bot.settings.slot_retries)]
    assert all(r.route == "ask_slot" for r in retries)
    final = default_bot.reply(session, "no idea")
    assert final.route == "fallback" and final.suggestions == ["Talk to a person"]
    assert default_bot.reply(session, "yes please").route == "handoff"


def test_customer_can_change_topic_while_asked_for_a_slot(default_bot):
    session = default_bot.session()
    assert default_bot.reply(session, "where is my order").route == "ask_slot"
    reply = default_bot.reply(session, "actually, how do I reset my password?")
    assert reply.intent == "reset_password" and reply.route == "template"


def test_gibberish_is_not_answered(default_bot):
    # Off-topic but well-formed questions ("what time is it") can still reach a confident
    # intent with a max-softmax threshold; out-of-scope detection is its own piece of work.
    for text in ["asdf qwerty zxcv", "blorp zzz", "lkjh poiu mnbv"]:
        reply = default_bot.reply(None, text)
        assert reply.route in ("clarify", "fallback"), (text, reply.trace)


def test_repeated_fallbacks_offer_a_person(default_bot):
    session = default_bot.session()
    replies = [default_bot.reply(session, text) for text in ["blorp zzz", "qwxz vvv", "pfft grr"]]
    offers = [r for r in replies if "Talk to a person" in r.suggestions]
    assert offers, [r.route for r in replies]


def test_clarifying_question_offers_clickable_suggestions(default_bot):
    reply = default_bot.reply(None, "problem with my thing")
    assert reply.route == "clarify", reply.trace
    assert 1 <= len(reply.suggestions) <= default_bot.settings.suggestions
    follow = default_bot.reply(None, reply.suggestions[0])
    assert follow.route in ("template", "faq", "ask_slot", "handoff"), follow.trace


def test_trace_explains_the_decision(default_bot):
    reply = default_bot.reply(None, "Is the Nordby oak side table solid wood?")
    trace = reply.trace
    assert {"intent", "confidence", "route", "threshold", "ms"} <= set(trace)
    assert trace["ms"]["total"] >= trace["ms"]["classify"] > 0
    assert reply.route == "faq", trace
    assert trace["faq_id"] == reply.sources[0]["faq_id"] and "faq" in trace["ms"]


def test_faq_answers_use_the_thresholds_calibrated_for_the_served_faq(default_bot):
    calibrated = default_bot.faq.thresholds
    assert default_bot.faq_thresholds() == (calibrated.answer, calibrated.suggest)
    reply = default_bot.reply(None, "Is the Fjord linen duvet cover machine washable?")
    assert reply.route == "faq"
    assert reply.trace["faq_answer_at"] == calibrated.answer <= reply.trace["faq_score"]


def test_configured_faq_thresholds_override_the_calibrated_ones(default_bot):
    settings = default_bot.settings
    try:
        default_bot.settings = settings.replace(faq_answer_threshold=0.99, faq_suggest_threshold=0.2)
        assert default_bot.faq_thresholds() == (0.99, 0.2)
        reply = default_bot.reply(None, "Is the Fjord linen duvet cover machine washable?")
        assert reply.route == "clarify", reply.trace  # 0.99: nothing is close enough to answer; 0.2: offer some
    finally:
        default_bot.settings = settings
