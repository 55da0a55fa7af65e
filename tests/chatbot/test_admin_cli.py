"""`python -m chatbot admin ...`: the console's actions from the terminal, on a data folder of
its own around the session's trained default model; and kill -9 in the middle of a retraining
or an FAQ swap, with the real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from chatbot.__main__ import main
from finetune import IntentClassifier, Registry
from tests.conftest import PROJECT, copy_earlier_start


@pytest.fixture
def data_dir(default_bot, tmp_path, monkeypatch):
    """A copy of the default bot's models, FAQ index and exports; CHATBOT_DATA_DIR points at it."""
    data = copy_earlier_start(default_bot, tmp_path / "data")
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data))
    return data


def run_admin(capsys, *args) -> tuple[int, dict | list | None]:
    code = main(["admin", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if code == 0 else None


def test_admin_commands_call_the_console(data_dir, tmp_path, capsys):
    faq = tmp_path / "faq.json"
    faq.write_text(json.dumps([{"id": "g", "question": "Do you sell gift cards?", "answer": "Yes."}]))
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question,answer\nx,,no question\n")
    dialogs = tmp_path / "dialogs.jsonl"
    dialogs.write_text(
        json.dumps(
            {"conversation_id": "c", "turns": [{"role": "user", "text": "lamp is broken", "intent": "damaged_item"}]}
        )
    )

    assert main(["admin", "faq-apply", str(bad), "--preview"]) == 2
    assert "question" in capsys.readouterr().out
    assert main(["admin", "faq-apply", str(bad)]) == 2  # refused, nothing changes
    assert not (data_dir / "faq" / "active.json").exists()
    code, result = run_admin(capsys, "faq-apply", str(faq), "--no-adapt")
    assert code == 0 and result["entries"] == 1 and (data_dir / "faq" / "active.json").is_file()
    assert result["adaptation"] == "off"
    code, result = run_admin(capsys, "embedders")
    assert code == 0 and result == []  # none adapted yet: the base model serves the FAQ
    assert main(["admin", "use-embedder", "no-such-embedder"]) == 2
    assert "no-such-embedder" in capsys.readouterr().err
    code, result = run_admin(capsys, "import-dialogs", str(dialogs))
    assert code == 0 and result["new_examples"] == 1

    code, versions = run_admin(capsys, "versions")
    [serving] = versions
    assert code == 0 and serving["current"] and serving["intents"] == 30
    assert main(["admin", "activate", "no-such-version"]) == 2
    assert "no model version" in capsys.readouterr().err
    shutil.copytree(data_dir / "models" / serving["name"], data_dir / "models" / "v-older")
    code, result = run_admin(capsys, "activate", "v-older")
    assert code == 0 and Registry(data_dir / "models").current().name == "v-older"
    code, themes = run_admin(capsys, "themes")
    assert code == 0 and themes == []


def _job(db) -> dict | None:
    """The latest job row, read without opening a Store (which would mark it failed)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
    return dict(row) if row else None


def _start(data_dir, *args) -> subprocess.Popen:
    env = {**os.environ, "CHATBOT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "chatbot", "admin", *args],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_kill_9_during_retraining_leaves_the_serving_version(data_dir):
    from chatbot.store import Store

    store = Store(data_dir / "chatbot.db")
    store.add_examples([("the lamp shade came cracked", "damaged_item"), ("my rug is torn", "damaged_item")], "t")
    store.close()
    registry = Registry(data_dir / "models")
    serving, versions = registry.current().name, registry.versions()
    process = _start(data_dir, "retrain")
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, process.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "training did not start in time"
            job = _job(data_dir / "chatbot.db") if (data_dir / "chatbot.db").exists() else None
            if job and job["status"] == "running" and job["progress"] > 0.1:  # in the training loop
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert registry.current().name == serving and registry.versions() == versions
    assert all(p.name.startswith(".") or p.name in versions + ["current"] for p in registry.root.iterdir())
    IntentClassifier.load(registry.current())  # loadable
    assert _job(data_dir / "chatbot.db")["status"] == "running"  # nobody could record the kill...
    restarted = Store(data_dir / "chatbot.db")  # ... until the next start
    [job] = restarted.jobs()
    assert job["status"] == "failed" and "interrupted" in job["message"]


def test_kill_9_during_an_faq_swap_leaves_the_previous_faq(data_dir, default_bot, tmp_path):
    from chatbot import Settings
    from chatbot.artifacts import ensure_faq_index

    rows = [
        {"id": f"e{i}", "question": f"Question {i} about item {i * 7919 % 1000}?", "answer": f"Answer number {i}."}
        for i in range(3000)
    ]
    big = tmp_path / "big.json"
    big.write_text(json.dumps(rows))
    before = sorted(p.name for p in (data_dir / "faq").iterdir())
    process = _start(data_dir, "faq-apply", str(big), "--no-adapt")
    try:
        output, done, total = "", 0, 0
        deadline = time.monotonic() + 120
        while done == 0:  # until the progress bar shows the embedding under way
            assert time.monotonic() < deadline and process.poll() is None, output[-3000:]
            output += process.stdout.read(1)
            bar = (
                re.findall(r"Embedding:.*\| *(\d+)/(\d+) \[$", output.splitlines()[-1]) if output.endswith("[") else []
            )
            if bar:  # the embedding bar was drawn again (text mode reads its "\r" as a newline)
                done, total = map(int, bar[0])
        assert done < total and process.poll() is None, "the swap finished before the kill: make the FAQ bigger"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    after = sorted(p.name for p in (data_dir / "faq").iterdir() if not p.name.startswith("."))
    assert after == before and not (data_dir / "faq" / "active.json").exists()
    settings = Settings.load(env={}, data_dir=str(data_dir))
    index = ensure_faq_index(settings, default_bot.faq.encoder, show_progress=False)
    assert len(index) == len(default_bot.faq) == 124


def test_a_running_bot_serves_what_admin_commands_change(data_dir, tmp_path, capsys, caplog, request):
    """`admin activate` and `admin faq-apply` run beside a live server: the server's follower
    swaps in the version and the FAQ they wrote, without a restart; a damaged version written
    that way is refused and the bot keeps answering."""
    from chatbot import Settings, load_bot
    from chatbot.admin import Console
    from retrieval import load_faq
    from retrieval.faq import FaqEntry, save_faq

    bot = load_bot(Settings.load(data_dir=str(data_dir)), show_progress=False)
    console = Console(bot, bot.store)
    registry = Registry(data_dir / "models")
    serving = bot.model_version
    shutil.copytree(registry.path(serving), registry.root / "v-copy")  # as a retrain elsewhere leaves it
    following = console.follow_disk(0.1)
    request.addfinalizer(following.set)

    def eventually(check, what: str) -> None:
        deadline = time.monotonic() + 15
        while not check():
            assert time.monotonic() < deadline, f"the running bot did not pick up {what}"
            time.sleep(0.1)

    assert run_admin(capsys, "activate", "v-copy")[0] == 0
    eventually(lambda: bot.model_version == "v-copy", "the activated version")
    assert bot.reply(None, "where is my order?").route != "error"

    entries = load_faq(PROJECT / "assets" / "faq.csv")
    pickup = FaqEntry(
        "pickup", "Can I collect my order at your Rotterdam warehouse?", "Yes, weekdays 9-17.", "shop", ()
    )
    save_faq([*entries, pickup], tmp_path / "faq.json")
    assert bot.faq.search("can I collect my order in Rotterdam", k=1)[0].faq_id != "pickup"
    assert run_admin(capsys, "faq-apply", str(tmp_path / "faq.json"), "--no-adapt")[0] == 0
    eventually(lambda: len(bot.faq) == len(entries) + 1, "the applied FAQ")
    assert bot.faq.search("can I collect my order in Rotterdam", k=1)[0].faq_id == "pickup"

    damaged = registry.root / "v-damaged"
    shutil.copytree(registry.path(serving), damaged)
    (damaged / "head.safetensors").write_bytes(b"truncated")
    registry.activate("v-damaged")  # what a broken copy would leave
    eventually(lambda: "not serving model version v-damaged" in caplog.text, "the damaged version, to refuse it")
    assert bot.model_version == "v-copy" and console.sync_with_disk() == []  # refused once, not retried
    assert bot.reply(None, "where is my order?").route != "error"
