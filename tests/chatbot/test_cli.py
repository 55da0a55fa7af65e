"""`python -m chatbot`: the terminal chat, on the cached default model (no retraining)."""

from __future__ import annotations

import os
import subprocess
import sys

from chatbot import load_bot
from finetune import Registry
from tests.conftest import PROJECT


def test_second_start_loads_the_cached_model(default_bot):
    registry = Registry(default_bot.settings.data_path / "models")
    before = registry.versions()
    again = load_bot(default_bot.settings, show_progress=False)
    assert registry.versions() == before and len(before) == 1
    assert again.classifier.version.created_at == default_bot.classifier.version.created_at
    assert len(list((default_bot.settings.data_path / "faq").glob("index-*"))) == 1


def test_terminal_chat(default_bot):
    env = {**os.environ, "CHATBOT_DATA_DIR": str(default_bot.settings.data_path)}
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "--trace"],
        input="where is my order?\nA-12345\n/quit\n",
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("bot> ")]
    assert "order number" in lines[0].lower()
    assert "A-12345" in lines[1]
    assert '"route": "template"' in result.stdout
