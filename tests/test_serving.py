"""The server under load and faults, on the real model: concurrent sessions lose nothing,
a killed process loses no acknowledged turn, limits answer politely, SQLite never locks
a writer out."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import PROJECT, copy_earlier_start, free_port, serve

QUESTIONS = [
    "where is my order A-12345?",
    "how much is shipping?",
    "Is the Fjord linen duvet cover machine washable?",
    "I want to return a chair",
    "hello",
    "do you ship to Norway?",
    "can I pay with PayPal?",
    "my parcel never arrived",
]


def bot_with(default_bot, tmp_path, **settings):
    """A bot of its own (data folder, database) around the trained default model."""
    from chatbot import Bot, Settings
    from chatbot.store import Store

    data = tmp_path / "data"
    shutil.copytree(default_bot.settings.data_path / "models", data / "models")
    configured = Settings.load(env={}, data_dir=str(data), **settings)
    store = Store(data / "chatbot.db")
    return Bot(
        configured, default_bot.domain, default_bot.classifier, default_bot.faq, store, default_bot.model_version
    )


@pytest.mark.slow
def test_32_sessions_for_60_seconds_lose_nothing(default_bot, tmp_path):
    import httpx

    from app import build_server

    bot = bot_with(default_bot, tmp_path, rate_limit_per_minute=0, session_rate_limit_per_minute=0)
    acknowledged: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    with serve(build_server(bot)) as url:
        deadline = time.monotonic() + 60

        def customer(number: int) -> None:
            with httpx.Client(base_url=url, timeout=60) as http:
                i = 0
                while time.monotonic() < deadline:
                    question = QUESTIONS[(number + i) % len(QUESTIONS)]
                    response = http.post("api/chat", json={"session_id": f"load-{number}", "message": question})
                    with lock:
                        if response.status_code == 200 and response.json()["turn_id"] is not None:
                            acknowledged.append(response.json()["turn_id"])
                        else:
                            errors.append(f"{response.status_code} {response.text[:100]}")
                    i += 1

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(customer, range(32)))
    assert errors == []
    assert len(acknowledged) > 32 * 10  # every session got turns through, not just a few
    logged = bot.store._rows("SELECT id, session_id FROM turns")
    assert sorted(row["id"] for row in logged) == sorted(acknowledged)  # each turn logged exactly once
    assert {row["session_id"] for row in logged} == {f"load-{n}" for n in range(32)}


def test_limits_answer_with_429_and_retry_after(default_bot, tmp_path):
    import httpx

    from app import build_server

    bot = bot_with(default_bot, tmp_path, session_rate_limit_per_minute=6, session_rate_limit_burst=3)
    with serve(build_server(bot)) as url:
        statuses = []
        for _ in range(5):
            response = httpx.post(url + "api/chat", json={"session_id": "eager", "message": "hello"}, timeout=30)
            statuses.append(response.status_code)
        assert statuses == [200, 200, 200, 429, 429]
        assert int(response.headers["retry-after"]) >= 1
        assert "faster than we can read" in response.json()["reply"]
        other = httpx.post(url + "api/chat", json={"session_id": "calm", "message": "hello"}, timeout=30)
        assert other.status_code == 200  # another conversation is not held back

        big = httpx.post(url + "api/chat", content=b'{"message": "' + b"x" * 100_000 + b'"}', timeout=30)
        assert big.status_code == 413 and "larger than" in big.text

        def chunks():
            yield b'{"message": "'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"}'

        chunked = httpx.post(url + "api/chat", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413
    assert bot.store._rows("SELECT COUNT(*) AS n FROM turns")[0]["n"] == 4  # refused turns never reached the bot


def test_the_sqlite_store_never_locks_out_concurrent_writers(tmp_path):
    from chatbot.store import Store

    stores = [Store(tmp_path / "chatbot.db") for _ in range(2)]  # two connections, as two processes would have

    def write(worker: int) -> int:
        store = stores[worker % 2]
        for i in range(100):
            turn = store.log_turn(f"s{worker}", f"question {i}", "answer", "faq", "x", 0.9, {"ms": {}})
            if i % 10 == 0:
                store.set_feedback(turn, -1)
        return worker

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(write, range(8))) == list(range(8))  # any "database is locked" would raise here
    assert stores[0]._rows("SELECT COUNT(*) AS n FROM turns")[0]["n"] == 800


def start_app(data: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "CHATBOT_DATA_DIR": str(data),
        "CHATBOT_ADMIN_PASSWORD": "kill-test-password",
        "CHATBOT_RATE_LIMIT_PER_MINUTE": "0",
        "CHATBOT_SESSION_RATE_LIMIT_PER_MINUTE": "0",
    }
    log = open(data.parent / f"app-{port}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 (the process owns it)
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "app.py"), "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log_path = Path(log.name)
    return process


def wait_healthy(url: str, process: subprocess.Popen) -> dict:
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "app.py exited:\n" + process.log_path.read_text(errors="replace")[-3000:]
        try:
            return httpx.get(url + "healthz", timeout=5).json()
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("app.py did not answer /healthz within 3 minutes")


def test_kill_9_while_serving_loses_no_acknowledged_turn(default_bot, tmp_path):
    import httpx

    from chatbot.store import Store

    data = tmp_path / "data"
    copy_earlier_start(default_bot, data)  # the cached index and exports: a quick start
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = start_app(data, port)
    try:
        health = wait_healthy(url, process)
        acknowledged: dict[int, str] = {}
        lock = threading.Lock()
        stop = threading.Event()

        def customer(number: int) -> None:
            with httpx.Client(base_url=url, timeout=10) as http:
                i = 0
                while not stop.is_set():
                    message = f"{QUESTIONS[i % len(QUESTIONS)]} (customer {number}, turn {i})"
                    try:
                        response = http.post("api/chat", json={"session_id": f"k{number}", "message": message})
                    except httpx.HTTPError:
                        return  # the process died mid-request: that turn was never acknowledged
                    if response.status_code == 200:
                        with lock:
                            acknowledged[response.json()["turn_id"]] = message
                    i += 1

        threads = [threading.Thread(target=customer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 40:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    store = Store(data / "chatbot.db")
    logged = {row["id"]: row["user_text"] for row in store._rows("SELECT id, user_text FROM turns")}
    lost = {turn: text for turn, text in acknowledged.items() if logged.get(turn) != text}
    assert not lost, f"{len(lost)} acknowledged turns are missing after kill -9"
    store.close()

    process = start_app(data, port)  # and the bot comes back with the model it served
    try:
        again = wait_healthy(url, process)
        assert again["model_version"] == health["model_version"]
        reply = httpx.post(url + "api/chat", json={"message": "where is my order A-12345?"}, timeout=30).json()
        assert reply["route"] == "template"
    finally:
        process.kill()
        process.wait(timeout=30)


def test_a_full_server_answers_busy_at_once_instead_of_hanging(default_bot, tmp_path):
    import httpx

    from app import build_server

    bot = bot_with(
        default_bot,
        tmp_path,
        rate_limit_per_minute=0,
        session_rate_limit_per_minute=0,
        queue_concurrency=1,
        queue_size=1,
    )
    start = threading.Barrier(24)

    def customer(number: int) -> httpx.Response:
        start.wait()
        return httpx.post(
            url + "api/chat",
            json={"session_id": f"b{number}", "message": QUESTIONS[number % len(QUESTIONS)]},
            timeout=30,
        )

    with serve(build_server(bot)) as url:
        with ThreadPoolExecutor(24) as pool:
            responses = list(pool.map(customer, range(24)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) >= 1, "24 simultaneous turns never filled a server that runs 2 at a time"
    busy = next(r for r in responses if r.status_code == 503)
    assert "busy" in busy.json()["reply"] and int(busy.headers["retry-after"]) >= 1


def test_a_damaged_serving_model_is_detected_at_start_up_and_the_last_good_version_serves(default_bot, tmp_path):
    import httpx

    data = tmp_path / "data"
    copy_earlier_start(default_bot, data)
    serving = (data / "models" / "current").read_text().strip()
    older = "v20000101-000000"  # an earlier version: the same model, registered before
    shutil.copytree(data / "models" / serving, data / "models" / older)
    weights = data / "models" / serving / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a truncated copy
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    process = start_app(data, port)
    try:
        health = wait_healthy(url, process)
        assert health["model_version"] == older
        assert (data / "models" / "current").read_text().strip() == older
        reply = httpx.post(url + "api/chat", json={"message": "where is my order A-12345?"}, timeout=30).json()
        assert reply["route"] == "template"
    finally:
        process.kill()
        process.wait(timeout=30)
    assert f"serving the last good version, {older}" in process.log_path.read_text(errors="replace")
