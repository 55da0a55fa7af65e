"""Whatever a customer sends, the bot answers politely and never crashes."""

from __future__ import annotations

import pytest

from chatbot.guard import clean_text

NASTY = [
    "",
    "   \n\t  ",
    "x" * 100_000,
    "where is my order " * 6000,
    "hello\x00\x01\x02\x1b[31m world\x7f",
    "🙂🙂🙂",
    "📦❓",
    "我的订单在哪里？",
    "Где мой заказ?",
    "مرحبا، أين طلبي؟",
    "\ud800\udfff broken surrogates",
    "\u200b\u200b\u200b",
    "<script>alert(1)</script>",
    "{shop_name} {0} {__class__}",
    "Robert'); DROP TABLE orders;--",
]


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_any_text_gets_a_polite_reply(default_bot, text):
    reply = default_bot.reply(None, text)
    assert reply.text.strip()
    assert reply.route in {"template", "faq", "handoff", "ask_slot", "clarify", "fallback", "empty"}
    assert "Traceback" not in reply.text and "{" not in reply.text


def test_binary_junk_is_decoded_not_fatal(default_bot):
    reply = default_bot.reply(None, bytes(range(256)) * 50)
    assert reply.text


def test_empty_turn_asks_for_a_message(default_bot):
    for text in ["", "   ", "\x00\x00", "\u200b"]:
        assert default_bot.reply(None, text).route == "empty"


def test_long_turn_is_cut_and_marked(default_bot):
    reply = default_bot.reply(None, "how long does delivery take " * 5000)
    assert reply.trace["truncated"] is True


def test_user_text_is_never_a_format_string(default_bot):
    session = default_bot.session()
    default_bot.reply(session, "where is my order")
    reply = default_bot.reply(session, "A-12345 {support_email.__class__}")
    assert "__class__" not in reply.text


def test_non_text_is_a_clear_error(default_bot):
    with pytest.raises(TypeError, match="must be text"):
        default_bot.reply(None, 12345)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  hello \n\n world\t", "hello world"),
        ("a\x00b\x07c", "abc"),
        ("caf\u0065\u0301", "café"),
        ("🙂 ok", "🙂 ok"),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw, 100) == (expected, False)


def test_clean_text_cuts_at_a_word():
    text, truncated = clean_text("word " * 100, 52)
    assert truncated and len(text) <= 52 and text.endswith("word")
