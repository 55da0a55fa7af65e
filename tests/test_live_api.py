"""A person taking over an ``/api/chat`` conversation, on real servers: the customer's client
talks to one replica, the agent works from another process's console over the same database
(a SQLite file), and the client hears the agent by long polling and by a
server-sent event stream, as README's "A person in the chat" shows. (Taking on PostgreSQL is
tests/chatbot/test_store.py's; two app.py replicas on it behind nginx, tests/test_replicas.py's.)"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from chatbot.admin import Console
from chatbot.admin.users import acting_as
from tests.conftest import serve


def replica(default_bot, database_url: str, tmp_path, name: str):
    """A bot of its own around the default model, on the shared database, as a replica is."""
    from chatbot import Bot, Settings
    from chatbot.store import Store

    settings = Settings.load(env={}, data_dir=str(tmp_path / name), adapt_embedder=False)
    store = Store(database_url, replica=name)
    return Bot(settings, default_bot.domain, default_bot.classifier, default_bot.faq, store, default_bot.model_version)


def events(response: httpx.Response, into: list[tuple[str, dict]], stop: threading.Event) -> None:
    """Reads server-sent events (``event:``/``data:`` lines) until ``stop`` is set."""
    kind = None
    try:
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                into.append((kind, json.loads(line.removeprefix("data: "))))
            if stop.is_set():
                return
    except httpx.HTTPError:
        if not stop.is_set():  # closed by the test once it has what it waited for: fine
            raise


def test_an_api_client_hears_the_person_by_polling_and_streaming(default_bot, tmp_path):
    from app import build_server

    database_url = str(tmp_path / "chatbot.db")
    customer_side = replica(default_bot, database_url, tmp_path, "replica-a")
    console = Console(replica(default_bot, database_url, tmp_path, "replica-b"), customer_side.store)
    with serve(build_server(customer_side)) as url, httpx.Client(base_url=url, timeout=30) as client:
        handed = client.post("/api/chat", json={"message": "I want to talk to a person"}).json()
        session = handed["session_id"]
        assert handed["route"] == "handoff" and handed["agent"] is None
        (handoff,) = console.handoffs()

        # a long poll waits for the person, and answers as soon as they join
        taken_at: list[float] = []
        threading.Timer(0.5, lambda: (taken_at.append(time.monotonic()), take(console, handoff["id"]))).start()
        news = client.get(f"/api/chat/{session}/messages", params={"after": 0, "wait": 20}).json()
        answered_after = time.monotonic() - taken_at[0]
        assert news["status"] == "live" and news["agent"] == "anna"
        assert [m["text"] for m in news["messages"]] == ["anna from our team has joined the chat."]
        assert answered_after < 1.0  # within a second of the Take

        silent = client.post("/api/chat", json={"session_id": session, "message": "Where is my parcel?"}).json()
        assert (silent["route"], silent["reply"], silent["agent"]) == ("live", "", "anna")
        assert console.conversation(handoff["id"]).messages[-1].text == "Where is my parcel?"  # the agent sees it

        # a stream carries the person's messages and the end of the takeover
        received: list[tuple[str, dict]] = []
        stop = threading.Event()
        with client.stream("GET", f"/api/chat/{session}/stream", params={"after": news["cursor"]}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = threading.Thread(target=events, args=(stream, received, stop), daemon=True)
            reader.start()
            wait_for(lambda: received)  # the stream has started: it says who answers
            with acting_as("anna"):
                console.send_to_customer(handoff["id"], "It is with the courier, arriving tomorrow.")
                console.hand_back(handoff["id"])
            wait_for(lambda: ("status", {"status": None, "agent": None}) in received)
            stop.set()
        assert received[0] == ("status", {"status": "live", "agent": "anna"})
        said = [(data["sender"], data["text"]) for kind, data in received if kind == "message"]
        assert said[0] == ("agent", "It is with the courier, arriving tomorrow.")
        assert "handed you back" in said[1][1]
        assert received[-1] == ("status", {"status": None, "agent": None})
        assert all("draft" not in data for _, data in received)  # the bot's drafts are for the person only

        back = client.post("/api/chat", json={"session_id": session, "message": "how much is shipping?"}).json()
        assert back["route"] in ("faq", "template") and back["agent"] is None


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the stream did not say it in time"
        time.sleep(0.05)


def take(console: Console, handoff_id: int) -> None:
    with acting_as("anna"):
        console.take_handoff(handoff_id)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/chat/s/messages", {"after": -1}),
        ("/api/chat/s/messages", {"wait": 31}),
        ("/api/chat/" + "x" * 129 + "/messages", {}),
    ],
)
def test_bad_news_requests_are_refused_with_the_reason(server, path, params):
    response = httpx.get(server.rstrip("/") + path, params=params, timeout=10)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] in ("after", "wait", "session_id")


def test_a_conversation_without_a_person_has_no_news(server):
    news = httpx.get(server + "api/chat/nobody/messages", params={"wait": 0}, timeout=10).json()
    assert news == {"messages": [], "status": None, "agent": None, "cursor": 0}
