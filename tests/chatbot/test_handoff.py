"""Handoff: business hours (a fixed clock, no sleeping), the settings that configure them, and
the webhook against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chatbot import Bot, Settings
from chatbot.domain import Domain
from chatbot.handoff import BusinessHours, BusinessHoursError, Webhook
from chatbot.settings import SettingsError
from chatbot.store import Store
from tests.conftest import PROJECT, free_port

HOURS = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"
ENGLISH, CHINESE = Domain.load(PROJECT / "assets"), Domain.load(PROJECT / "assets" / "zh")
AMSTERDAM = "Europe/Amsterdam"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- business hours ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "is_open", "next_open"),
    [
        ("2026-11-18T10:00:00+01:00", True, None),  # Wednesday morning
        ("2026-11-18T08:59:00+01:00", False, "today at 09:00 (Europe/Amsterdam)"),
        ("2026-11-18T17:00:00+01:00", False, "tomorrow at 09:00 (Europe/Amsterdam)"),  # the end is exclusive
        ("2026-11-20T18:30:00+01:00", False, "tomorrow at 10:00 (Europe/Amsterdam)"),  # Friday evening
        ("2026-11-21T15:00:00+01:00", False, "on Monday at 09:00 (Europe/Amsterdam)"),  # Saturday afternoon
        ("2026-11-22T07:00:00+00:00", False, "tomorrow at 09:00 (Europe/Amsterdam)"),  # Sunday, given in UTC
        ("2026-11-21T09:30:00+00:00", True, None),  # Saturday 10:30 in Amsterdam
    ],
)
def test_business_hours_table(now, is_open, next_open):
    hours = BusinessHours.parse(HOURS, AMSTERDAM)
    assert hours.is_open(at(now)) is is_open
    opening = hours.next_opening(at(now))
    assert (opening and ENGLISH.describe_opening(opening, at(now))) == next_open


def test_the_next_opening_is_said_in_the_bot_s_language():
    hours = BusinessHours.parse(HOURS, "Asia/Shanghai")
    saturday = at("2026-11-21T15:00:00+08:00")
    opening = hours.next_opening(saturday)
    assert CHINESE.describe_opening(opening, saturday) == "周一 09:00（Asia/Shanghai）"
    assert CHINESE.describe_opening(opening, at("2026-11-22T20:00:00+08:00")) == "明天 09:00（Asia/Shanghai）"
    assert "周一 09:00" in CHINESE.render("handoff_closed", {"next_open": CHINESE.describe_opening(opening, saturday)})


def test_business_hours_grammar():
    hours = BusinessHours.parse("mon-fri 09:00-12:30 13:30-17:00, Fri-Sun 20:00-24:00", "UTC")
    assert hours.spans[0] == ((540, 750), (810, 1020))
    assert hours.spans[4] == ((540, 750), (810, 1020), (1200, 1440))  # Friday: both rules
    assert hours.spans[6] == ((1200, 1440),)  # Fri-Sun covers Sunday too
    assert BusinessHours.parse("Sat-Mon 10:00-11:00", "UTC").spans[0] == ((600, 660),)  # wraps the week
    assert BusinessHours.parse("Sun 10:00-11:00", "UTC").next_opening(at("2026-11-22T12:00:00+00:00")) == at(
        "2026-11-29T10:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("hours", "timezone", "complaint"),
    [
        ("Mon-Fri 9-17", "UTC", "'9-17' is not a time span"),
        ("Mo-Fr 09:00-17:00", "UTC", "'Mo' is not a day"),
        ("Fri 22:00-02:00", "UTC", "ends before it starts"),
        ("Mon 09:00-25:00", "UTC", "not a time span"),
        ("weekdays", "UTC", "not 'DAYS HH:MM-HH:MM'"),
        ("", "UTC", "expected rules"),
        ("Mon-Fri 09:00-17:00", "Mars/Olympus", "not an IANA time zone"),
    ],
)
def test_bad_business_hours_are_refused_with_the_bad_value(hours, timezone, complaint):
    with pytest.raises(BusinessHoursError, match=complaint):
        BusinessHours.parse(hours, timezone)
    with pytest.raises(SettingsError, match=complaint):
        Settings.load(env={}, business_hours=hours, timezone=timezone)


def test_settings_read_the_conversation_keys_from_the_environment():
    env = {
        "CHATBOT_BUSINESS_HOURS": HOURS,
        "CHATBOT_TIMEZONE": AMSTERDAM,
        "CHATBOT_HANDOFF_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "CHATBOT_HANDOFF_WEBHOOK_TIMEOUT": "1.5",
        "CHATBOT_FRUSTRATION_THRESHOLD": "0.4",
    }
    settings = Settings.load(env=env)
    assert (settings.business_hours, settings.timezone) == (HOURS, AMSTERDAM)
    assert settings.handoff_webhook_url == "http://127.0.0.1:9/hook" and settings.handoff_webhook_timeout == 1.5
    assert settings.frustration_threshold == 0.4
    defaults = Settings.load(env={})
    assert defaults.handoff_webhook_url is None and defaults.business_hours is None
    with pytest.raises(SettingsError, match="handoff_webhook_url='ftp://example.com'"):
        Settings.load(env={}, handoff_webhook_url="ftp://example.com")
    with pytest.raises(SettingsError, match="frustration_threshold=1.2"):
        Settings.load(env={}, frustration_threshold=1.2)


# -- the bot -------------------------------------------------------------------------------
def make_bot(default_bot, tmp_path, clock=None, **settings) -> Bot:
    """A bot of its own (settings, store) around the default model."""
    config = Settings.load(env={}, data_dir=str(tmp_path / "data"), **settings)
    store = Store(tmp_path / "data" / "chatbot.db")  # the default redaction (e-mails, phones, ...)
    return Bot(
        config,
        default_bot.domain,
        default_bot.classifier,
        default_bot.faq,
        store,
        default_bot.model_version,
        clock=clock,
    )


def test_outside_business_hours_the_handoff_says_when_a_person_replies(default_bot, tmp_path):
    saturday_evening = at("2026-11-21T19:00:00+01:00")
    bot = make_bot(default_bot, tmp_path, clock=lambda: saturday_evening, business_hours=HOURS, timezone=AMSTERDAM)
    reply = bot.reply(None, "I want to talk to a human")
    assert reply.route == "handoff"
    assert "Our team is back on Monday at 09:00 (Europe/Amsterdam)" in reply.text
    assert reply.trace["business_hours"] == {"open": False, "next_opening": "2026-11-23T09:00:00+01:00"}
    button = bot.handoff(None)  # the page's button says the same
    assert "back on Monday at 09:00" in button.text and button.trace["reason"]
    assert len(bot.store.handoffs()) == 2  # the conversations are passed on all the same


def test_during_business_hours_the_usual_handoff_text(default_bot, tmp_path):
    monday_morning = at("2026-11-23T10:00:00+01:00")
    bot = make_bot(default_bot, tmp_path, clock=lambda: monday_morning, business_hours=HOURS, timezone=AMSTERDAM)
    reply = bot.reply(None, "I want to talk to a human")
    assert reply.route == "handoff" and "back on" not in reply.text
    assert reply.trace["business_hours"] == {"open": True, "next_opening": None}


# -- the webhook ---------------------------------------------------------------------------
class Receiver:
    """A real HTTP server on 127.0.0.1 recording each POST; answers with ``statuses`` in turn (then 200)."""

    def __init__(self, statuses=()):
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.statuses = list(statuses)
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                if status == 200:
                    receiver.received.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/handoff"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_handoff_is_posted_to_the_webhook_with_the_redacted_transcript(default_bot, tmp_path):
    with Receiver() as receiver:
        bot = make_bot(default_bot, tmp_path, handoff_webhook_url=receiver.url)
        session = bot.session()
        bot.reply(session, "where is my order A-12345? my email is jane.doe@example.com")
        started = time.perf_counter()
        reply = bot.reply(session, "I want to talk to a human")
        assert reply.route == "handoff"
        assert receiver.received.wait(10), "the webhook was not called"
    (body,) = receiver.bodies
    (handoff,) = bot.store.handoffs()
    assert body["handoff_id"] == handoff["id"] and body["session_id"] == session.id
    assert body["intent"] == "order_status"  # the detected intent, not "human_handoff"
    assert body["reason"] == "asked in chat"
    assert body["transcript"] == handoff["transcript"]
    assert body["transcript"][0]["role"] == "user" and body["transcript"][-1]["role"] == "agent"
    text = json.dumps(body)
    assert "jane.doe@example.com" not in text and "[EMAIL]" in text
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert abs(datetime.fromisoformat(body["created_at"]) - datetime.now(UTC)).total_seconds() < 120
    assert body["team_available"] is True and body["next_opening"] is None
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert time.perf_counter() - started < 10


def test_the_webhook_retries_once_after_a_server_error(default_bot, tmp_path):
    with Receiver(statuses=[503]) as receiver:
        bot = make_bot(default_bot, tmp_path, handoff_webhook_url=receiver.url)
        bot.handoff(None)
        bot.turn_log.last_webhook.join(10)
        assert receiver.received.is_set()
    assert len(receiver.bodies) == 2 and receiver.bodies[0] == receiver.bodies[1]


def test_a_failing_webhook_never_reaches_the_customer_nor_blocks_the_reply(default_bot, tmp_path, caplog):
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    bot = make_bot(default_bot, tmp_path, handoff_webhook_url=dead, handoff_webhook_timeout=2.0)
    with caplog.at_level(logging.WARNING, logger="chatbot.handoff"):
        started = time.perf_counter()
        reply = bot.reply(None, "I want to talk to a human")
        assert time.perf_counter() - started < 2.0  # the POST runs in the background
        bot.turn_log.last_webhook.join(10)
    assert reply.route == "handoff" and "webhook" not in reply.text.lower()
    assert len(bot.store.handoffs()) == 1  # the queue keeps it
    failures = [r for r in caplog.records if "handoff webhook" in r.getMessage()]
    assert len(failures) == 2, [r.getMessage() for r in caplog.records]  # the first attempt and one retry


def test_a_refused_request_is_not_retried():
    with Receiver(statuses=[400]) as receiver:
        assert Webhook(receiver.url, timeout=2).post({"x": 1}) is False
    assert len(receiver.bodies) == 1


def test_a_long_conversation_keeps_a_bounded_history_and_transcript(default_bot, tmp_path):
    """Thousands of turns must not grow a session's memory, nor the cost of each handoff."""
    from chatbot.sessions import HISTORY_LINES

    bot = make_bot(default_bot, tmp_path)
    session = bot.session()
    for i in range(HISTORY_LINES // 2 + 20):
        bot.reply(session, f"thanks, message {i}")
    assert len(session.history) == HISTORY_LINES
    assert session.history[-2] == ("user", f"thanks, message {HISTORY_LINES // 2 + 19}")
    bot.reply(session, "I want to talk to a human")
    (handoff,) = bot.store.handoffs()
    assert len(handoff["transcript"]) == HISTORY_LINES
    assert handoff["transcript"][-2] == {"role": "user", "text": "I want to talk to a human"}
    assert handoff["transcript"][0]["text"] != "thanks, message 0"  # the oldest lines were let go
    assert len(bot.store.turns(session_id=session.id)) == HISTORY_LINES // 2 + 21  # the store has every turn
