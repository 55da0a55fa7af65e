"""Per-turn latency of ``Bot.reply`` and start-up time of ``python app.py`` with a cached model.

    python benchmarks/latency.py [--turns 500] [--data-dir data]

Uses (and on first use, creates) the default bot in ``--data-dir``. Turns are varied: the
intent examples and FAQ questions of assets/, reworded slightly, plus off-topic lines. The
bare encoder forward for the same inputs (tokenising and the network, on the runtime that
serves: ONNX Runtime on the CPU by default) is timed too: the ratio is the overhead of
everything that is not the model. The same pass in torch is reported beside it, and the
serving pass on batches of 4 turns (per text), to show what batching saves on this runtime.
Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import torch  # noqa: E402

from chatbot import Settings, load_bot  # noqa: E402
from finetune import load_examples  # noqa: E402
from retrieval import load_faq  # noqa: E402

OFF_TOPIC = ["what's the weather tomorrow", "tell me a joke", "who is the president", "asdf", "how do I bake bread"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def turns(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pool = [e.text for e in load_examples(PROJECT / "assets" / "intents.yaml")]
    pool += [e.question for e in load_faq(PROJECT / "assets" / "faq.csv")] + OFF_TOPIC
    prefixes = ["", "", "hi, ", "quick question: ", "hello! ", "sorry, "]
    return [rng.choice(prefixes) + rng.choice(pool) for _ in range(n)]


def startup_seconds(data_dir: str, runs: int) -> list[float]:
    """Wall time from launching ``python app.py`` to its first answered chat over HTTP."""
    times = []
    for _ in range(runs):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "CHATBOT_DATA_DIR": data_dir}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(PROJECT / "app.py"), "--port", str(port)],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            from gradio_client import Client

            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except OSError:
                    if process.poll() is not None or time.perf_counter() - started > 300:
                        raise RuntimeError("app.py did not start") from None
                    time.sleep(0.1)
            Client(f"http://127.0.0.1:{port}/", verbose=False).predict("hello", "", api_name="/chat")
            times.append(time.perf_counter() - started)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--data-dir", default=str(PROJECT / "data"))
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args()

    bot = load_bot(Settings.load(data_dir=args.data_dir))
    texts = turns(args.turns)
    for text in texts[:20]:  # warm up
        bot.reply(None, text)
    reply_ms, routes = [], {}
    for text in texts:
        started = time.perf_counter()
        reply = bot.reply(None, text)
        reply_ms.append(1000 * (time.perf_counter() - started))
        routes[reply.route] = routes.get(reply.route, 0) + 1
    encoder = bot.classifier.encoder
    forward_ms, torch_forward_ms = [], []  # tokenising + the network, on the runtime that serves
    for text in texts:
        started = time.perf_counter()
        encoder.embed_texts([text])
        forward_ms.append(1000 * (time.perf_counter() - started))
    # what a batch saves per text on the serving runtime: batches of 4 turns, padded to the longest
    batch_ms = []
    for i in range(0, len(texts) - 3, 4):
        started = time.perf_counter()
        encoder.embed_texts(texts[i : i + 4])
        batch_ms.append(1000 * (time.perf_counter() - started))
    with torch.inference_mode():  # the same pass in torch, for comparison when ONNX Runtime serves
        for text in texts:
            started = time.perf_counter()
            encoder.embed(encoder.tokenize([text]))
            torch_forward_ms.append(1000 * (time.perf_counter() - started))
    startup = startup_seconds(args.data_dir, args.startup_runs)
    metrics = bot.classifier.version.metrics

    result = {
        "benchmark": "latency",
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
        # the serving version's own training: seconds per epoch over its training examples
        "train_seconds_per_epoch": round(metrics.train_seconds / max(1, metrics.epochs_run), 1),
        "train_examples": bot.classifier.version.examples.train,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(encoder.device),
    }
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
        "train_seconds_per_epoch",
    ):
        print(f"{key:36} {result[key]:>10}")
    print(f"routes: {routes}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
