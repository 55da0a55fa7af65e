"""The README's examples, run as a reader would run them: the Python session against a data
folder (with the default model already trained, as at a second start), the curl commands and
the Gradio client against a real server on localhost. What the README prints after ``# `` is
what they must print (``...`` stands for any text)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess

from tests.conftest import PROJECT, copy_earlier_start

README = (PROJECT / "README.md").read_text(encoding="utf-8")


def code_block(after: str, language: str) -> str:
    """The first ``language`` code block after the line that starts with ``after``."""
    start = README.index("\n" + after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    assert match is not None, f"no {language} block after {after!r}"
    return match.group(1)


def statements_and_outputs(block: str) -> list[tuple[str, str]]:
    """(code, what the README shows it printing) for each statement followed by ``# `` lines."""
    pairs, code, shown = [], [], []
    for line in block.splitlines():
        if line.startswith("#"):
            shown.append(line[1:].strip())
            continue
        if shown:
            pairs.append(("\n".join(code), " ".join(shown)))
            code, shown = [], []
        code.append(line)
    if shown:
        pairs.append(("\n".join(code), " ".join(shown)))
    return pairs


def matches(shown: str, printed: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, printed.strip(), re.S) is not None


def test_the_python_example_prints_what_the_readme_shows(default_bot, tmp_path, monkeypatch):
    copy_earlier_start(default_bot, tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # the example's data_dir="data" is relative
    for name in [n for n in os.environ if n.startswith("CHATBOT_")]:  # the example reads the environment
        monkeypatch.delenv(name)
    namespace: dict = {}
    pairs = statements_and_outputs(code_block("## Use it from Python", "python"))
    assert len(pairs) == 3, pairs
    for code, shown in pairs:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), namespace)
        assert matches(shown, out.getvalue()), f"{code}\nprinted: {out.getvalue()!r}\nREADME: {shown!r}"


def test_the_curl_examples_answer_as_the_readme_shows(server):
    block = code_block("**JSON API:**", "bash")
    pairs = statements_and_outputs(block)
    assert [code.split()[0] for code, _ in pairs] == ["curl", "curl"], pairs
    replies = []
    for code, shown in pairs:
        command = [a.replace("http://127.0.0.1:7860/", server) for a in shlex.split(code.replace("\\\n", " "))]
        printed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
        replies.append((json.loads(printed), shown))
    (chat, chat_shown), (health, health_shown) = replies
    shown_chat = json.loads(chat_shown.replace(" ...", ""))
    assert set(chat) == set(shown_chat), (chat, chat_shown)
    assert {k: chat[k] for k in ("session_id", "route", "intent")} == {
        k: shown_chat[k] for k in ("session_id", "route", "intent")
    }
    assert chat["reply"].startswith(shown_chat["reply"]), chat["reply"]
    shown_health = json.loads(health_shown)
    assert set(health) == set(shown_health), (health, health_shown)
    assert {k: health[k] for k in ("status", "intents", "faq_entries")} == {
        k: shown_health[k] for k in ("status", "intents", "faq_entries")
    }  # device, precision and runtime are the CPU's in the README, a GPU's elsewhere


def test_the_gradio_client_example_answers_as_the_readme_shows(server):
    [(code, shown)] = statements_and_outputs(code_block("The same turn through Gradio's client", "python"))
    code = code.replace("http://127.0.0.1:7860/", server).replace("Client(", "Client(verbose=False, src=", 1)
    lines = code.strip().splitlines()
    namespace: dict = {}
    exec("\n".join(lines[:-1]), namespace)
    result = eval(lines[-1], namespace)
    assert matches(shown, repr(result)), f"printed: {result!r}\nREADME: {shown!r}"


def test_the_live_chat_examples_show_what_the_api_answers():
    """The README's long-poll answer and stream events have the fields of the API's models."""
    from chatbot.web.api import ChatNews, LiveMessage

    block = code_block("**For `/api/chat` clients.**", "bash")
    (shown,) = [shown for code, shown in statements_and_outputs(block) if "/messages?after=0&wait=25" in code]
    news = json.loads(shown)
    assert set(news) == set(ChatNews.model_fields) and set(news["messages"][0]) == set(LiveMessage.model_fields)
    ChatNews.model_validate(news)
    events = [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# data: ")]
    status, message = (json.loads(line.removeprefix("data: ")) for line in events)
    assert set(status) == {"status", "agent"} and LiveMessage.model_validate(message).sender == "agent"
