"""How long a message takes between a customer and a person who took the conversation.

    python benchmarks/live.py [--rounds 20] [--data-dir data]

Starts ``python app.py`` on a free localhost port (the cached default model in ``--data-dir``,
a fresh database), opens two headless Chromium contexts (Debian's ``chromium``): a customer on
the public chat, who asks for a person, and the console's admin on the *Live* tab, who takes
the conversation. Then, ``--rounds`` times each way, one side sends a message with a unique
token and the clock runs until the token is on the other side's screen:

- customer -> agent: the customer presses Enter; the agent's conversation view shows it;
- agent -> customer: the agent presses Enter; the customer's chat shows it;
- agent -> API client: the agent presses Enter; a client streaming ``/api/chat/{id}/stream``
  receives it (a second, ``/api/chat`` conversation taken the same way).

What it measures is what people see: the pages ask for news every half second (the chat's
``NEWS_EVERY_S``, the console's ``VIEW_EVERY_S``), the stream reads the store every 0.25 s, so
a message waits half an interval on average. Prints a table (median, p95, max in ms), then one
JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import common  # noqa: E402  (beside this script)
from common import percentile  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "benchmark-admin-password"
TIMEOUT_MS = 10_000
RANDOM = random.Random(0)


def shows(page, scope: str, token: str) -> None:
    """Waits (checking at every frame) until ``token`` is in the text under ``scope``."""
    page.wait_for_function(
        "([scope, token]) => (document.querySelector(scope)?.innerText || '').includes(token)",
        arg=[scope, token],
        polling="raf",
        timeout=TIMEOUT_MS,
    )


def send(page, box: str, text: str) -> float:
    """Types ``text`` into the textarea under ``box`` and presses Enter, at a random moment of
    the next second (sending right after the last message arrived would keep every round in
    step with the pages' timers); returns when it pressed."""
    page.locator(f"{box} textarea").fill(text)
    time.sleep(RANDOM.uniform(0.0, 1.0))
    started = time.perf_counter()
    page.locator(f"{box} textarea").press("Enter")
    return started


def take_newest(agent, url: str) -> None:
    agent.goto(url + "admin/")
    agent.get_by_label("username").fill("admin")
    agent.get_by_label("password").fill(PASSWORD)
    agent.get_by_role("button", name="Login").click()
    agent.get_by_role("tab", name="Live").click()
    agent.locator("#live-queue [data-testid='cell-0-1']").click()
    agent.locator("#live-take").click()
    agent.get_by_text("You are answering").wait_for()


def stream(url: str, session: str, arrivals: dict[str, float], stop: threading.Event) -> None:
    """Reads the conversation's event stream, timing each message's arrival by its text."""
    import httpx

    with httpx.stream("GET", f"{url}api/chat/{session}/stream", timeout=None) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and '"text"' in line:
                arrivals[json.loads(line.removeprefix("data: "))["text"]] = time.perf_counter()
            if stop.is_set():
                return


def measure(url: str, rounds: int) -> dict[str, list[float]]:
    import httpx
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"customer -> agent": [], "agent -> customer": [], "agent -> API stream": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        customer = browser.new_context().new_page()
        agent = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        customer.goto(url)
        customer.locator("#talk-to-person").click()
        customer.locator("[data-testid='bot']").first.wait_for()
        take_newest(agent, url)
        shows(customer, "#chat", "has joined")
        for i in range(rounds):
            token = f"customer says {i}"
            started = send(customer, "#message", token)
            shows(agent, "#live-chat", token)
            times["customer -> agent"].append(time.perf_counter() - started)
            token = f"agent says {i}"
            started = send(agent, "#live-reply", token)
            shows(customer, "#chat", token)
            times["agent -> customer"].append(time.perf_counter() - started)

        agent.locator("#live-close").click()
        session = httpx.post(url + "api/chat", json={"message": "I want to talk to a person"}).json()["session_id"]
        agent.get_by_role("tab", name="Traffic").click()  # the queue is read again when the tab comes back
        agent.get_by_role("tab", name="Live").click()
        agent.wait_for_timeout(2500)  # the queue refreshes every 2 s: the new conversation is at the top
        agent.locator("#live-queue [data-testid='cell-0-1']").click()
        agent.locator("#live-take").click()
        agent.get_by_text("You are answering").wait_for()
        arrivals: dict[str, float] = {}
        stop = threading.Event()
        threading.Thread(target=stream, args=(url, session, arrivals, stop), daemon=True).start()
        for i in range(rounds):
            token = f"agent tells the API client {i}"
            started = send(agent, "#live-reply", token)
            deadline = time.perf_counter() + TIMEOUT_MS / 1000
            while token not in arrivals and time.perf_counter() < deadline:
                time.sleep(0.002)
            times["agent -> API stream"].append(arrivals[token] - started)
        stop.set()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="messages each way (default 20)")
    parser.add_argument("--data-dir", default="data", help="a data folder with the trained default model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        shutil.copytree(Path(args.data_dir) / "models", data / "models", symlinks=True)
        env = {
            "CHATBOT_DATA_DIR": str(data),
            "CHATBOT_ADMIN_PASSWORD": PASSWORD,
            "CHATBOT_ADAPT_EMBEDDER": "false",
            "CHATBOT_RATE_LIMIT_PER_MINUTE": "0",  # one customer sends a message a second here
            "CHATBOT_SESSION_RATE_LIMIT_PER_MINUTE": "0",
        }
        process, url, _ = common.start_app(env)
        try:
            times = measure(url, args.rounds)
        finally:
            process.kill()  # an event stream may hold a graceful stop open
            process.wait(timeout=30)
    print(f"{'direction':<22} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    result: dict[str, dict] = {}
    for direction, values in times.items():
        ms = [1000 * v for v in values]
        row = {
            "n": len(ms),
            "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(percentile(ms, 0.95), 1),
            "max_ms": round(max(ms), 1),
        }
        result[direction] = row
        print(f"{direction:<22} {row['n']:>4} {row['median_ms']:>10} {row['p95_ms']:>8} {row['max_ms']:>8}")
    print(json.dumps({"benchmark": "live", "rounds": args.rounds, **result}))


if __name__ == "__main__":
    main()
