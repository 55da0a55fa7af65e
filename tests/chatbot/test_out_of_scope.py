"""Out of scope in the bot: a message far from everything trained, that the FAQ does not answer
either, is told "I can't help with that here" instead of being answered or given suggestions."""

from __future__ import annotations

OFF_TOPIC = [
    "what is the capital of France",
    "write me a poem about the sea",
    "who is the president of the united states",
    "my cat is sick what should I do",
    "what's 17 times 23",
]
IN_SCOPE = ["where is my order", "I want a refund", "how much is shipping to germany", "can I pay with paypal"]


def test_off_topic_questions_are_declined_not_answered(default_bot):
    replies = {text: default_bot.reply(None, text) for text in OFF_TOPIC}
    assert all(r.route in ("fallback", "clarify") for r in replies.values()), {
        t: (r.route, r.intent) for t, r in replies.items()
    }
    declined = [r for r in replies.values() if r.trace.get("out_of_scope")]
    assert len(declined) >= 3, {t: r.trace.get("similarity") for t, r in replies.items()}
    for reply in declined:
        assert reply.route == "fallback" and reply.suggestions == []
        assert "can't help with that here" in reply.text or "outside what I can do here" in reply.text


def test_in_scope_questions_are_not_declined(default_bot):
    for text in IN_SCOPE:
        reply = default_bot.reply(None, text)
        assert reply.route in ("template", "faq", "ask_slot"), (text, reply.trace)
        assert not reply.trace.get("out_of_scope")


def test_declined_twice_offers_a_person(default_bot):
    session = default_bot.session()
    default_bot.reply(session, "write me a poem about the sea")
    second = default_bot.reply(session, "who is the president of the united states")
    assert second.route == "fallback" and second.suggestions == ["Talk to a person"]
    assert default_bot.reply(session, "yes").route == "handoff"
