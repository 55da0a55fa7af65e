"""Is int8 worth it on the CPU? Dynamic int8 quantization of the serving classifier, measured.

    python benchmarks/quantization.py [--data-dir data] [--turns 300] [--version DIR --test FILE]

Loads the serving version of ``--data-dir`` twice: as served (float32, LoRA merged) and with
``torch.ao.quantization.quantize_dynamic`` on every Linear layer (int8 weights, activations
quantized on the fly). Both score the same varied turns one at a time (as a lone customer
does) and in batches of 32 (as micro-batching does under load); the figures are the median
milliseconds per call, the top-1 agreement with float32 on the assets' intent examples, and
the accuracy on them (its training data: a check that the answers stay, not of generalisation).
``--version`` / ``--test`` score another version on held-out rows instead, e.g. the BANKING77
model and split that ``benchmarks/continual.py --keep DIR`` leaves in DIR (DIR/test.csv). The product keeps int8 out unless it wins clearly with the
same answers. Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.latency import turns  # noqa: E402
from finetune import IntentClassifier, Registry, load_examples  # noqa: E402


def timed(classifier: IntentClassifier, texts: list[str], batch: int) -> float:
    """Median milliseconds of ``classifier.scores`` over ``texts`` in calls of ``batch``."""
    times = []
    for start in range(0, len(texts), batch):
        began = time.perf_counter()
        classifier.scores(texts[start : start + batch])
        times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(PROJECT / "data"))
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--version", default=None, help="a version folder (default: the serving one)")
    parser.add_argument("--test", default=None, help="held-out rows (text, intent) to score accuracy on")
    args = parser.parse_args()

    current = Path(args.version) if args.version else Registry(Path(args.data_dir) / "models").current()
    if current is None:
        raise SystemExit(f"no serving model in {args.data_dir}/models: run `make model` first")
    full = IntentClassifier.load(current, device="cpu")
    int8 = IntentClassifier.load(current, device="cpu")
    int8.encoder.transformer = torch.ao.quantization.quantize_dynamic(
        int8.encoder.transformer, {torch.nn.Linear}, dtype=torch.qint8
    )
    texts = turns(args.turns, seed=1)
    labelled = load_examples(args.test or PROJECT / "assets" / "intents.yaml")
    for model in (full, int8):
        timed(model, texts[:20], 1)  # warm up

    rows = {}
    for name, model in (("float32", full), ("int8 dynamic", int8)):
        probabilities, _ = model.scores([e.text for e in labelled])
        rows[name] = {
            "single_median_ms": round(timed(model, texts, 1), 2),
            "batch32_median_ms": round(timed(model, texts, 32), 2),
            "top1": probabilities.argmax(1),
            "accuracy": round(
                float(np.mean([model.labels[i] == e.intent for i, e in zip(probabilities.argmax(1), labelled)])), 4
            ),
        }
    agreement = float(np.mean(rows["float32"]["top1"] == rows["int8 dynamic"]["top1"]))
    for row in rows.values():
        del row["top1"]
    speedup_single = rows["float32"]["single_median_ms"] / rows["int8 dynamic"]["single_median_ms"]
    speedup_batch = rows["float32"]["batch32_median_ms"] / rows["int8 dynamic"]["batch32_median_ms"]

    print(f"{'model':14} {'1 text (ms)':>12} {'32 texts (ms)':>14} {'accuracy':>11}")
    for name, row in rows.items():
        print(f"{name:14} {row['single_median_ms']:>12} {row['batch32_median_ms']:>14} {row['accuracy']:>11}")
    print(f"int8 speed-up: {speedup_single:.2f}x single, {speedup_batch:.2f}x batched; top-1 agreement {agreement:.4f}")
    print(
        json.dumps(
            {
                "benchmark": "quantization",
                "version": current.name,
                "accuracy_on": args.test or "assets/intents.yaml (training data)",
                "results": rows,
                "speedup_single": round(speedup_single, 2),
                "speedup_batch32": round(speedup_batch, 2),
                "top1_agreement": round(agreement, 4),
                "cores": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "device": "cpu",
            }
        )
    )


if __name__ == "__main__":
    main()
