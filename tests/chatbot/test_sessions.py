"""Conversations kept in the database: a session's state survives the trip through storage
(names resolved against the domain, texts redacted), and two bots on one database (two
replicas, or a process before and after a restart) continue each other's conversations."""

from __future__ import annotations

import json
import threading

from chatbot import Bot
from chatbot.context import Offer
from chatbot.domain import Domain
from chatbot.redact import redact
from chatbot.sessions import PendingSlot, Session
from chatbot.store import Store
from tests.conftest import ASSETS


def test_a_session_survives_storage_with_its_pending_slot_offers_and_counters():
    domain = Domain.load(ASSETS)
    intent = domain.intents["order_status"]
    session = Session("c-1", slots={"email": "ann@example.com"}, fallbacks=1, turns=3, last_intent="order_status")
    session.pending = PendingSlot(intent, intent.slots[0], retries=1)
    session.offers = [Offer("Where is my order?", "intent", "order_status"), Offer("Returns", "faq", "returns-1")]
    session.remember("mail me at ann@example.com", "Sure.")
    state = json.loads(json.dumps(session.to_state(redact)))  # what the database holds
    again = Session.from_state("c-1", state, domain)
    assert again.pending == session.pending and again.offers == session.offers
    assert (again.slots, again.fallbacks, again.turns, again.last_intent) == (session.slots, 1, 3, "order_status")
    assert again.history == [("user", "mail me at [EMAIL]"), ("bot", "Sure.")]  # stored redacted


def test_a_stored_pending_slot_or_offer_of_an_intent_the_domain_lost_is_dropped():
    domain = Domain.load(ASSETS)
    state = {
        "pending": {"intent": "renamed_intent", "slot": "order_id", "retries": 0},
        "offers": [{"label": "Old", "kind": "intent", "target": "renamed_intent"}],
    }
    session = Session.from_state("c-2", state, domain)
    assert session.pending is None and session.offers == []


def test_only_new_history_lines_are_redacted_again():
    calls: list[str] = []

    def counting(text: str) -> str:
        calls.append(text)
        return text

    session = Session("c-3", history=[("user", f"line {n}") for n in range(50)])  # as read from storage
    session.remember("new question", "new answer")
    session.to_state(counting)
    assert calls == ["new question", "new answer"]


def bot_on(default_bot, store: Store) -> Bot:
    return Bot(default_bot.settings, default_bot.domain, default_bot.classifier, default_bot.faq, store)


def test_two_bots_on_one_database_continue_each_others_conversations(default_bot, database_url):
    first, second = bot_on(default_bot, Store(database_url)), bot_on(default_bot, Store(database_url))
    assert first.reply("c-4", "where is my order?").route == "ask_slot"
    reply = second.reply("c-4", "A-12345")  # the other replica, or the same process restarted
    assert reply.route == "template" and "A-12345" in reply.text
    assert second.session("c-4").slots == {"order_id": "A-12345"} and second.session("c-4").pending is None


def test_turns_of_one_conversation_on_two_bots_at_once_are_all_kept(default_bot, database_url):
    bots = [bot_on(default_bot, Store(database_url)) for _ in range(2)]

    def talk(bot: Bot) -> None:
        for _ in range(5):
            bot.reply("c-5", "hello")

    threads = [threading.Thread(target=talk, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session = bots[0].session("c-5")
    assert session.turns == 10 and len(session.history) == 20  # no turn overwrote another
    assert len(bots[0].store.turns("c-5")) == 10
