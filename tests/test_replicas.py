"""Replicas of ``python app.py`` on one PostgreSQL database behind a real nginx (the shipped
``deploy/nginx.conf``), and one embedded process restarted: conversations continue on any
replica and across restarts, and a replica killed in the middle of a load costs only the
turns it had in flight. Every server is real and runs on 127.0.0.1 (``tests/servers.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from chatbot.store import Store
from tests.conftest import PROJECT, copy_earlier_start, free_port
from tests.servers import Nginx

SITE = PROJECT / "deploy" / "nginx.conf"
ORDER_NUMBER = "A-12345"


class Replica:
    """``python app.py`` in its own process, as a deployment runs it."""

    def __init__(self, data: Path, database_url: str | None, name: str):
        self.port = free_port()
        self.name = name
        env = {
            **os.environ,
            "CHATBOT_DATA_DIR": str(data),
            "CHATBOT_TORCH_THREADS": "1",
            "CHATBOT_REPLICA": name,
            "CHATBOT_RATE_LIMIT_PER_MINUTE": "0",  # nginx limits per address across the replicas
            "CHATBOT_ADAPT_EMBEDDER": "false",
        }
        if database_url:
            env["CHATBOT_DATABASE_URL"] = database_url
        self.log = data / f"{name}-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(PROJECT / "app.py"), "--port", str(self.port)],
                cwd=PROJECT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def wait_ready(self, timeout: float = 300) -> Replica:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, f"replica {self.name} exited: {self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"replica {self.name} did not start"
            time.sleep(0.2)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def chat(client: httpx.Client, url: str, session_id: str, message: str) -> dict:
    response = client.post(url + "/api/chat", json={"session_id": session_id, "message": message}, timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def deployment(default_bot, postgres_server, tmp_path_factory):
    """Two replicas on one data folder and one PostgreSQL database, and two nginx in front:
    the shipped site file, and the same with the rate limit raised for the tests that send
    many turns from one address."""
    data = copy_earlier_start(default_bot, tmp_path_factory.mktemp("replica-data"))
    database_url = postgres_server.new_database()
    replicas = [Replica(data, database_url, name) for name in ("replica-a", "replica-b")]
    proxies = []
    try:
        for replica in replicas:
            replica.wait_ready()
        upstreams = [r.address for r in replicas]
        for name, values in (("shipped", {}), ("open", {"rate=5r/s": "rate=1000r/s"})):
            root = tmp_path_factory.mktemp(f"nginx-{name}")
            proxies.append(Nginx(root, SITE, upstreams, **values).start())
        yield {"replicas": replicas, "shipped": proxies[0], "open": proxies[1], "database_url": database_url}
    finally:
        for proxy in proxies:
            proxy.stop()
        for replica in replicas:
            replica.stop()


def upstreams_of(proxy: Nginx, path: str = "/api/chat") -> list[str]:
    """The replica (address) nginx sent each request for ``path`` to, in order."""
    lines = (proxy.root / "access.log").read_text().splitlines()
    return [line.split()[1] for line in lines if line.split()[0] == path]


def test_slot_filling_continues_when_the_next_turn_lands_on_the_other_replica(deployment):
    proxy, (a, b) = deployment["open"], deployment["replicas"]
    before = len(upstreams_of(proxy))
    with httpx.Client() as client:
        for n in range(20):
            session_id = f"switch-{n}"
            asked = chat(client, proxy.url, session_id, "where is my order?")
            assert asked["route"] == "ask_slot", asked
            answered = chat(client, proxy.url, session_id, ORDER_NUMBER)
            assert answered["route"] == "template" and ORDER_NUMBER in answered["reply"], answered
    sent = upstreams_of(proxy)[before:]
    assert len(sent) == 40
    # round robin: the two turns of each conversation went to different replicas
    assert all(sent[2 * n] != sent[2 * n + 1] for n in range(20)), sent
    assert set(sent) == {a.address, b.address}
    store = Store(deployment["database_url"])
    stored = Counter((t["session_id"], t["user_text"]) for t in store.turns(limit=10_000))
    for n in range(20):  # every acknowledged turn stored exactly once
        assert stored[(f"switch-{n}", "where is my order?")] == 1
        assert stored[(f"switch-{n}", ORDER_NUMBER)] == 1
    store.close()


def test_two_turns_of_one_conversation_at_once_on_two_replicas_are_serialised(deployment):
    a, b = deployment["replicas"]
    store = Store(deployment["database_url"])
    with httpx.Client() as client:
        for n in range(5):
            session_id = f"race-{n}"
            with ThreadPoolExecutor(2) as pool:
                replies = list(pool.map(lambda url, sid=session_id: chat(client, url, sid, "hello"), [a.url, b.url]))
            assert all(r["route"] != "error" for r in replies)
            state = store.peek_session(session_id)
            # neither turn overwrote the other: both are counted and both are in the history
            assert state["turns"] == 2 and [who for who, _ in state["history"]] == ["user", "bot", "user", "bot"]
    store.close()


def test_the_shipped_nginx_rate_limit_holds_across_replicas(deployment):
    proxy = deployment["shipped"]
    with httpx.Client() as client:
        statuses = Counter(
            client.post(proxy.url + "/api/chat", json={"session_id": f"burst-{n}", "message": "hi"}).status_code
            for n in range(60)
        )
    # 5 turns a second with bursts of 20, whichever replica answers: 60 turns sent at once
    # cannot all pass (each replica's own limit is off in these replicas)
    assert statuses[429] >= 20 and statuses[200] >= 20 and set(statuses) == {200, 429}, statuses
    a, b = deployment["replicas"]
    assert set(upstreams_of(proxy)) == {a.address, b.address, "-"}  # "-": refused by nginx, sent to none


def test_a_person_answers_an_api_client_through_nginx_on_any_replica(deployment):
    """The customer's turns go round robin to both replicas, the agent works from a third
    process on the same database, and the client's event stream comes through nginx unbuffered."""
    import json

    from chatbot.domain import Domain
    from chatbot.live import LiveChat

    proxy = deployment["open"]
    store = Store(deployment["database_url"])
    agent_side = LiveChat(store, Domain.load(PROJECT / "assets"), max_chars=1000)
    received: list[tuple[float, dict]] = []
    with httpx.Client(timeout=30) as client:
        session = chat(client, proxy.url, "", "I want to talk to a person")["session_id"]
        (handoff,) = [h for h in store.handoffs() if h["session_id"] == session]

        def listen() -> None:
            with client.stream("GET", f"{proxy.url}/api/chat/{session}/stream") as response:
                for line in response.iter_lines():
                    if line.startswith("data: ") and '"text"' in line:
                        received.append((time.monotonic(), json.loads(line.removeprefix("data: "))))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(0.5)  # the stream is open
        agent_side.take(handoff["id"], "anna")
        sent = time.monotonic()
        listener.join(timeout=10)
        assert received and received[0][1]["text"] == "anna from our team has joined the chat."
        assert received[0][0] - sent < 2.0  # through nginx as it happened, not when a buffer filled
        replies = [chat(client, proxy.url, session, f"are you there? {n}") for n in range(2)]  # both replicas
        assert [(r["route"], r["reply"], r["agent"]) for r in replies] == [("live", "", "anna")] * 2
    said = [m.text for m in store.handoff_messages(handoff["id"]) if m.sender == "customer"]
    assert said == ["are you there? 0", "are you there? 1"]
    store.close()


def test_the_shipped_nginx_limits_news_requests_per_address(deployment):
    proxy = deployment["shipped"]
    with httpx.Client() as client:
        statuses = Counter(
            client.get(proxy.url + "/api/chat/nobody/messages", params={"wait": 0}).status_code for _ in range(60)
        )
    assert statuses[429] >= 20 and statuses[200] >= 20 and set(statuses) == {200, 429}, statuses


def test_a_replica_killed_under_load_costs_only_its_turns_in_flight(deployment):
    proxy, (a, _) = deployment["open"], deployment["replicas"]
    store = Store(deployment["database_url"])
    stop, errors, answered = threading.Event(), [], Counter()
    workers = 4

    def load(worker: int) -> None:
        with httpx.Client() as client:
            n = 0
            while not stop.is_set():
                session_id = f"load-{worker}-{n}"
                for message in ("where is my order?", ORDER_NUMBER):
                    try:
                        reply = chat(client, proxy.url, session_id, message)
                        answered[reply["route"]] += 1
                    except httpx.HTTPError as exc:
                        errors.append((time.monotonic(), repr(exc)))
                n += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    time.sleep(4)
    # a conversation asked for its order number on the replica about to die
    with httpx.Client() as client:
        assert chat(client, a.url, "left-on-a", "where is my order?")["route"] == "ask_slot"
    killed_at = time.monotonic()
    a.kill()
    time.sleep(6)
    stop.set()
    for thread in threads:
        thread.join(60)
    assert len(errors) <= workers, errors  # at most the turns in flight on the killed replica
    assert all(at - killed_at < 2 for at, _ in errors), errors
    assert answered["template"] > 20
    with httpx.Client() as client:  # the conversation it served goes on elsewhere, with its context
        reply = chat(client, proxy.url, "left-on-a", ORDER_NUMBER)
    assert reply["route"] == "template" and ORDER_NUMBER in reply["reply"], reply
    assert store.turns("left-on-a")[-1]["route"] == "template"
    store.close()


def test_a_restarted_process_continues_a_pending_slot(default_bot, tmp_path):
    """One embedded process (SQLite, no server): killed while the bot waits for an order
    number, started again on the same data folder, it reads the number as that answer."""
    data = copy_earlier_start(default_bot, tmp_path / "data")
    first = Replica(data, None, "embedded").wait_ready()
    with httpx.Client() as client:
        assert chat(client, first.url, "restart-1", "where is my order?")["route"] == "ask_slot"
        first.kill()
        second = Replica(data, None, "embedded").wait_ready()
        try:
            reply = chat(client, second.url, "restart-1", ORDER_NUMBER)
        finally:
            second.stop()
    assert reply["route"] == "template" and ORDER_NUMBER in reply["reply"], reply
