"""A person taking over a handed-off conversation (chatbot.live), through the Console as the
console page calls it and the bot as the chat calls it, on the real store: the bot falls silent
and drafts, messages go both ways, two people pressing Take at once, handing back, the e-mail
address left outside business hours, the audit trail and the traffic figures."""

from __future__ import annotations

import threading

import gradio as gr
import pytest

from chatbot.admin import Console
from chatbot.admin.users import acting_as
from chatbot.live import GONE_AFTER_S, LiveError, email_in, is_gone
from chatbot.store import Taken
from tests.chatbot.test_handoff import AMSTERDAM, HOURS, at, make_bot


@pytest.fixture
def console(operator_bot) -> Console:
    return Console(operator_bot, operator_bot.store)


def hand_off(bot, session_id: str = "customer-1") -> int:
    bot.reply(session_id, "my parcel never arrived")
    assert bot.reply(session_id, "I want to talk to a person").route == "handoff"
    (handoff,) = [h for h in bot.store.handoffs() if h["session_id"] == session_id]
    return handoff["id"]


def news_texts(bot, session_id: str, after: int = 0) -> list[tuple[str, str]]:
    return [(m.sender, m.text) for m in bot.live.news(session_id, after).messages]


def test_a_person_takes_over_answers_and_hands_back_to_the_bot(operator_bot, console):
    bot = operator_bot
    handoff_id = hand_off(bot)
    waiting = bot.reply("customer-1", "how much is shipping?")  # waiting: the bot still answers
    assert waiting.route in ("faq", "template") and waiting.text

    with acting_as("anna"):
        console.take_handoff(handoff_id)
    assert news_texts(bot, "customer-1") == [("system", "anna from our team has joined the chat.")]

    silent = bot.reply("customer-1", "and to Norway?")
    assert (silent.route, silent.text, silent.trace["agent"]) == ("live", "", "anna")
    conversation = console.conversation(handoff_id)
    said = [(m.sender, m.text) for m in conversation.messages]
    assert said[:2] == [("customer", "how much is shipping?"), ("bot", waiting.text)]  # kept for the person
    assert said[-1] == ("customer", "and to Norway?")
    assert conversation.draft == bot.reply("someone-else", "and to Norway?").text  # the bot's answer, as a draft

    with acting_as("anna"):
        console.send_to_customer(handoff_id, "Norway is 14.95 EUR, <b>any</b> size.")
    assert news_texts(bot, "customer-1")[-1] == ("agent", "Norway is 14.95 EUR, <b>any</b> size.")
    with acting_as("anna"):
        console.hand_back(handoff_id)
    assert (
        news_texts(bot, "customer-1")[-1][1]
        == "anna has handed you back to our assistant. Ask me anything else you'd like to know."
    )

    back = bot.reply("customer-1", "how much is shipping?")
    assert back.route in ("faq", "template") and back.text == waiting.text
    assert bot.live.state("customer-1") is None
    trail = [(e["actor"], e["action"], e["before"], e["after"]) for e in console.audit_log()]
    assert trail[:2] == [
        ("anna", "handoff.hand_back", "live", "closed: handed back"),
        ("anna", "handoff.take", "open", "live: anna"),
    ]


def test_of_two_people_pressing_take_at_once_one_gets_it_and_the_other_is_told_who(operator_bot, console):
    handoff_id = hand_off(operator_bot)
    start, outcomes = threading.Barrier(2), {}

    def take(name: str) -> None:
        start.wait()
        with acting_as(name):
            try:
                console.take_handoff(handoff_id)
                outcomes[name] = "took it"
            except Taken as exc:
                outcomes[name] = exc.holder

    threads = [threading.Thread(target=take, args=(name,)) for name in ("anna", "bea")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = next(name for name, outcome in outcomes.items() if outcome == "took it")
    loser = ({"anna", "bea"} - {winner}).pop()
    assert outcomes[loser] == winner  # told who has it
    assert operator_bot.store.handoff(handoff_id)["agent"] == winner
    joined = [text for sender, text in news_texts(operator_bot, "customer-1") if sender == "system"]
    assert joined == [f"{winner} from our team has joined the chat."]  # the customer is told once


def test_only_the_person_who_took_it_answers_and_ends_it(operator_bot, console):
    handoff_id = hand_off(operator_bot)
    with acting_as("bea"), pytest.raises(LiveError, match="take the conversation first"):
        console.send_to_customer(handoff_id, "hello")
    with acting_as("anna"):
        console.take_handoff(handoff_id)
    with acting_as("bea"):
        with pytest.raises(LiveError, match="anna is answering"):
            console.send_to_customer(handoff_id, "hello")
        with pytest.raises(LiveError, match="only they can end it"):
            console.close_handoff(handoff_id)
    with acting_as("anna"):
        with pytest.raises(LiveError, match="empty"):
            console.send_to_customer(handoff_id, "   \n ")
        console.close_handoff(handoff_id)
        with pytest.raises(LiveError, match="has ended"):
            console.send_to_customer(handoff_id, "hello")
    assert [m.sender for m in operator_bot.store.handoff_messages(handoff_id)].count("agent") == 0
    assert news_texts(operator_bot, "customer-1")[-1] == (
        "system",
        "anna has closed this conversation. Thanks for talking to us!",
    )
    assert operator_bot.reply("customer-1", "how much is shipping?").route != "live"


def test_what_a_person_and_the_customer_say_is_stored_redacted_and_counted_in_traffic(operator_bot, console):
    bot = operator_bot
    handoff_id = hand_off(bot)
    with acting_as("anna"):
        console.take_handoff(handoff_id)
    bot.reply("customer-1", "my email is jan.jansen@example.com")
    with acting_as("anna"):
        console.send_to_customer(handoff_id, "Thanks, I'll write to jan.jansen@example.com today.")
        console.close_handoff(handoff_id)
    stored = [m.text for m in bot.store.handoff_messages(handoff_id)]
    assert not any("jan.jansen@example.com" in text for text in stored)
    assert "my email is [EMAIL]" in stored and "Thanks, I'll write to [EMAIL] today." in stored
    human = [t for t in bot.store.turns("customer-1") if t["route"] == "human"]
    assert [t["reply"] for t in human] == ["Thanks, I'll write to [EMAIL] today."]  # logged like a bot turn
    traffic = bot.store.traffic()
    routes = {r["route"]: r["turns"] for r in traffic["routes"]}
    assert routes["human"] == 1 and routes["live"] == 1
    assert traffic["handoffs_resolved"] == 1 and 0 <= traffic["first_reply_s"] < 60


def test_asking_for_a_person_twice_queues_the_conversation_once(operator_bot):
    hand_off(operator_bot)
    operator_bot.handoff("customer-1")  # the button as well
    assert len(operator_bot.store.handoffs()) == 1


def test_a_customer_who_stops_asking_for_news_is_shown_as_gone(operator_bot, console):
    handoff_id = hand_off(operator_bot)
    operator_bot.live.news("customer-1", 0)  # the chat asks
    row = operator_bot.store.handoff(handoff_id)
    assert not is_gone(row, now=row["customer_seen"] + GONE_AFTER_S - 1)
    assert is_gone(row, now=row["customer_seen"] + GONE_AFTER_S + 1)
    assert not console.conversation(handoff_id).gone


def test_outside_business_hours_the_customer_leaves_a_checked_email_address(default_bot, tmp_path):
    saturday_evening = at("2026-11-21T19:00:00+01:00")
    bot = make_bot(default_bot, tmp_path, clock=lambda: saturday_evening, business_hours=HOURS, timezone=AMSTERDAM)
    closed = bot.reply("late", "I want to talk to a person")
    assert "leave your email address here" in closed.text
    wrong = bot.reply("late", "it's jan@example")
    assert wrong.route == "email" and "doesn't look right" in wrong.text and "period" in wrong.text
    assert bot.store.handoffs()[0]["email"] is None
    right = bot.reply("late", "Sure: Jan.Jansen@Example.com.")
    assert right.route == "email" and "Jan.Jansen@example.com" in right.text
    (handoff,) = bot.store.handoffs()
    assert handoff["email"] == "Jan.Jansen@example.com" and handoff["status"] == "open"  # the queue keeps it
    assert bot.reply("late", "what does a@b.com cost?").route != "email"  # asked once: back to the bot


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("jan@example.com", "jan@example.com"),
        ("(mail: jan@EXAMPLE.org)", "jan@example.org"),
        ("用户@例子.中国", "用户@例子.中国"),
    ],
)
def test_email_in_finds_the_address(text, address):
    assert email_in(text) == address


@pytest.mark.parametrize("text", ["jan@example", "jan@@example.com", "no address here", "@example.com"])
def test_email_in_says_why_an_address_is_wrong(text):
    with pytest.raises(ValueError, match=r"\w"):
        email_in(text)


def test_the_chat_page_loses_no_line_when_a_turn_and_the_news_cross(operator_bot, console):
    """The customer's turn and the page's timer each get the chat as the browser had it when
    they fired: neither may wipe out what the other added."""
    from chatbot.web import ChatEvents, Limits

    events = ChatEvents(operator_bot, Limits.off(), refuse=None, thanks=("", ""))
    _, chat, turns, session, *_ = events.talk_to_person([], {}, None)
    handoff_id = operator_bot.live.state(session).handoff_id
    with acting_as("anna"):
        console.take_handoff(handoff_id)
        console.send_to_customer(handoff_id, "Hello, Anna here.")
    stale = list(chat)  # the browser has not heard the news yet when the customer sends
    _, after_turn, *_, timer = events.respond("my parcel is lost", stale, turns, session, None)
    texts = [line["content"] for line in after_turn]
    assert texts[2:] == [
        "_anna from our team has joined the chat._",
        "**anna**: Hello, Anna here.",
        "my parcel is lost",
    ]
    assert timer.active
    lines, timer = events.news(stale, session)  # the timer fired with the same stale chat: nothing to undo
    assert lines == gr.update() and timer.active
    with acting_as("anna"):
        console.send_to_customer(handoff_id, "Found it.")
    lines, _ = events.news(stale, session)
    assert [line["content"] for line in lines] == [*texts, "**anna**: Found it."]
