"""Continual learning on BANKING77: add 17 intents to a 60-intent model without forgetting.

    nice -n 10 python benchmarks/continual.py --train ../shared/data/banking77/train.csv [--test FILE]
        [--text-col text] [--label-col category]

The intents are split 60 "old" / 17 "new" with a fixed seed. v1 is trained from scratch on
the old intents. v2 warm-starts from v1 (``train(..., base=v1)``): the new intents' examples
plus a replay sample of the old ones. For comparison v2 is also trained from scratch on
everything. Without ``--test`` 15% of each intent is held out (fixed seed) as the test set.

Prints a table, then one JSON object as the last line: ``old_v1``, ``old_v2``, ``new_v2``
(accuracy of v1 on the old intents' test rows, of v2 on the old and on the new ones),
``worst_intent_drop`` (the largest v1 -> v2 drop of one old intent's accuracy),
``warm_seconds`` / ``scratch_seconds`` (wall time of training v2 warm / from scratch), and more.
Targets: old-intent accuracy drops at most 1 point, new intents reach at least 90%, the warm
start takes at most 40% of the from-scratch time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from finetune import (  # noqa: E402
    Example,
    IntentClassifier,
    Overlap,
    TrainingArgs,
    intent_overlaps,
    load_examples,
    stratified_split,
    train,
)

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT / ".." / "shared" / "data" / "banking77" / "train.csv"
N_NEW = 17


def per_intent_accuracy(classifier: IntentClassifier, rows: list[Example]) -> tuple[float, dict[str, float]]:
    """Top-1 accuracy over ``rows`` and per intent (no threshold)."""
    if not rows:
        return float("nan"), {}
    probabilities = classifier.predict_proba([e.text for e in rows])
    predicted = np.array(classifier.labels)[probabilities.argmax(1)]
    gold = np.array([e.intent for e in rows])
    correct = predicted == gold
    per_intent = {intent: float(correct[gold == intent].mean()) for intent in sorted(set(gold))}
    return float(correct.mean()), per_intent


def timed_train(examples: list[Example], args: TrainingArgs, out: Path, base: Path | None = None):
    wall, cpu = time.perf_counter(), time.process_time()
    classifier = train(examples, args, out_dir=out, base=base)
    return classifier, time.perf_counter() - wall, time.process_time() - cpu


@dataclass(frozen=True)
class Rows:
    """The training and test rows, cut into the old intents (v1's) and the new ones (v2 adds)."""

    train: list[Example]
    test: list[Example]
    old_intents: set[str]
    new_intents: set[str]

    def of(self, rows: list[Example], new: bool) -> list[Example]:
        intents = self.new_intents if new else self.old_intents
        return [e for e in rows if e.intent in intents]


@dataclass
class Runs:
    """What the three trainings measured: v1 on the old intents, v2 warm and v2 from scratch."""

    v1_seconds: float
    old_v1: float
    old_v1_per_intent: dict[str, float]
    overlaps: list[Overlap]
    warm_seconds: float
    warm_cpu: float
    old_v2: float
    old_v2_per_intent: dict[str, float]
    new_v2: float
    warm_info: dict
    warm_epochs: int | None
    scratch_seconds: float | None = None
    scratch_cpu: float | None = None
    old_scratch: float | None = None
    new_scratch: float | None = None


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(DEFAULT_DATA), help="labelled examples (default: BANKING77 train)")
    parser.add_argument("--test", default=None, help="test file; default: 15%% of each intent of --train")
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="intent", help="default: intent, else label or category")
    parser.add_argument("--seed", type=int, default=0, help="the old/new split of the intents and the test split")
    parser.add_argument("--max-per-intent", type=int, default=None, help="subsample (smoke tests only)")
    parser.add_argument("--args", default="{}", help="extra TrainingArgs as JSON, for experiments")
    parser.add_argument(
        "--keep",
        default=None,
        help="copy the warm v2 and its test rows (test.csv) to this folder, e.g. for quantization.py",
    )
    parser.add_argument("--skip-scratch", action="store_true", help="do not train v2 from scratch (no timing ratio)")
    return parser.parse_args()


def split_rows(options: argparse.Namespace) -> Rows:
    """The test rows (``--test``, else 15% of each intent) and the old/new intents (seeded)."""
    examples = load_examples(options.train, options.text_col, options.label_col)
    rng = np.random.default_rng(options.seed)
    if options.max_per_intent:
        by_intent: dict[str, list[Example]] = {}
        for e in examples:
            by_intent.setdefault(e.intent, []).append(e)
        examples = [e for items in by_intent.values() for e in items[: options.max_per_intent]]
    if options.test:
        train_rows, test_rows = examples, load_examples(options.test, options.text_col, options.label_col)
    else:
        train_rows, test_rows = stratified_split(examples, 0.15, seed=options.seed)
    intents = sorted({e.intent for e in train_rows})
    new_intents = set(rng.choice(intents, size=min(N_NEW, len(intents) // 4), replace=False).tolist())
    return Rows(train_rows, test_rows, set(intents) - new_intents, new_intents)


def keep_warm_version(root: Path, rows: Rows, folder: str) -> None:
    """Copy the warm v2 and its test rows (``test.csv``) to ``folder``."""
    shutil.copytree(root / "v2-warm", folder, dirs_exist_ok=True)
    with open(Path(folder) / "test.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "intent"])
        writer.writerows((e.text, e.intent) for e in rows.test)


def train_versions(rows: Rows, args: TrainingArgs, options: argparse.Namespace) -> Runs:
    """v1 from scratch on the old intents; v2 warm from v1 on everything; v2 from scratch on
    everything (unless ``--skip-scratch``). Each model is dropped once measured."""
    old_train, new_train = rows.of(rows.train, new=False), rows.of(rows.train, new=True)
    old_test, new_test = rows.of(rows.test, new=False), rows.of(rows.test, new=True)
    with tempfile.TemporaryDirectory(prefix="continual-") as tmp:
        root = Path(tmp)
        v1, v1_seconds, _ = timed_train(old_train, args, root / "v1")
        old_v1, old_v1_per_intent = per_intent_accuracy(v1, old_test)
        overlaps = intent_overlaps(v1, new_train)  # the retrain's warning, as the console shows it
        del v1
        warm, warm_seconds, warm_cpu = timed_train(old_train + new_train, args, root / "v2-warm", base=root / "v1")
        old_v2, old_v2_per_intent = per_intent_accuracy(warm, old_test)
        new_v2, _ = per_intent_accuracy(warm, new_test)
        runs = Runs(
            v1_seconds,
            old_v1,
            old_v1_per_intent,
            overlaps,
            warm_seconds,
            warm_cpu,
            old_v2,
            old_v2_per_intent,
            new_v2,
            warm.version.warm_start,
            warm.version.metrics.epochs_run,
        )
        del warm
        if not options.skip_scratch:
            scratch, runs.scratch_seconds, runs.scratch_cpu = timed_train(
                old_train + new_train, args, root / "v2-scratch"
            )
            runs.old_scratch, _ = per_intent_accuracy(scratch, old_test)
            runs.new_scratch, _ = per_intent_accuracy(scratch, new_test)
        if options.keep:
            keep_warm_version(root, rows, options.keep)
    return runs


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def summarise(rows: Rows, runs: Runs, extra: dict) -> dict:
    """The JSON result: accuracies, times and their ratio, the worst drops, the targets."""
    old_test = rows.of(rows.test, new=False)
    drops = {i: runs.old_v1_per_intent[i] - runs.old_v2_per_intent.get(i, 0.0) for i in runs.old_v1_per_intent}
    worst = max(drops, key=drops.get)
    flagged = {o.old_intent for o in runs.overlaps}
    counts = {intent: sum(e.intent == intent for e in old_test) for intent in runs.old_v1_per_intent}
    rest = [i for i in runs.old_v1_per_intent if i not in flagged]

    def weighted(per_intent: dict[str, float], intents: list[str]) -> float | None:
        total = sum(counts[i] for i in intents)
        return round(sum(per_intent.get(i, 0.0) * counts[i] for i in intents) / total, 4) if total else None

    scratch = runs.scratch_seconds
    return {
        "old_v1": round(runs.old_v1, 4),
        "old_v2": round(runs.old_v2, 4),
        "new_v2": round(runs.new_v2, 4),
        "worst_intent_drop": round(drops[worst], 4),
        "worst_intent": worst,
        "warm_seconds": round(runs.warm_seconds, 1),
        "scratch_seconds": rounded(scratch, 1),
        "warm_cpu_seconds": round(runs.warm_cpu, 1),
        "scratch_cpu_seconds": rounded(runs.scratch_cpu, 1),
        "warm_share": None if scratch is None else round(runs.warm_seconds / scratch, 3),
        "old_v2_scratch": rounded(runs.old_scratch, 4),
        "new_v2_scratch": rounded(runs.new_scratch, 4),
        "v1_seconds": round(runs.v1_seconds, 1),
        "warm_epochs_run": runs.warm_epochs,
        "replayed": runs.warm_info["replayed"],
        "new_examples": runs.warm_info["new_examples"],
        "intents": {"old": len(rows.old_intents), "new": len(rows.new_intents)},
        "rows": {
            "train": len(rows.train),
            "test_old": len(old_test),
            "test_new": len(rows.of(rows.test, new=True)),
        },
        "training_args": extra,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "overlaps": [{"new_intent": o.new_intent, "old_intent": o.old_intent, "share": o.share} for o in runs.overlaps],
        "old_not_overlapped": {  # the old intents no new intent was flagged against
            "intents": len(rest),
            "v1": weighted(runs.old_v1_per_intent, rest),
            "v2": weighted(runs.old_v2_per_intent, rest),
        },
        "largest_drops": [
            {"intent": i, "drop": round(drops[i], 4), "flagged": i in flagged}
            for i in sorted(drops, key=drops.get, reverse=True)[:8]
        ],
        "targets": {
            "old_drop_at_most_1_point": runs.old_v1 - runs.old_v2 <= 0.01,
            "new_at_least_90": runs.new_v2 >= 0.90,
            "warm_at_most_40_percent": None if scratch is None else runs.warm_seconds <= 0.4 * scratch,
        },
    }


def print_table(rows: Rows, runs: Runs, result: dict) -> None:
    def pct(value: float | None) -> str:
        return "   n/a" if value is None else f"{100 * value:6.2f}%"

    print(f"\n{len(rows.old_intents)} old + {len(rows.new_intents)} new intents, {len(rows.train)} training rows")
    print(f"{'':32} {'old intents':>12} {'new intents':>12} {'wall s':>8} {'cpu s':>8}")
    print(f"{'v1 (old intents, from scratch)':32} {pct(runs.old_v1):>12} {'':>12} {runs.v1_seconds:8.0f}")
    print(
        f"{'v2 warm start + replay':32} {pct(runs.old_v2):>12} {pct(runs.new_v2):>12}"
        f" {runs.warm_seconds:8.0f} {runs.warm_cpu:8.0f}"
    )
    if runs.scratch_seconds is not None:
        print(
            f"{'v2 from scratch':32} {pct(runs.old_scratch):>12} {pct(runs.new_scratch):>12}"
            f" {runs.scratch_seconds:8.0f} {runs.scratch_cpu:8.0f}"
        )
    print(
        f"worst old-intent drop v1 -> v2 warm: {100 * result['worst_intent_drop']:.1f} points ({result['worst_intent']})"
    )
    for o in runs.overlaps:
        print(f"flagged before training: new {o.new_intent} reads as old {o.old_intent} ({100 * o.share:.0f}%)")
    kept = result["old_not_overlapped"]
    print(f"old intents not flagged ({kept['intents']}): v1 {pct(kept['v1'])} -> v2 {pct(kept['v2'])}")


def main() -> None:
    options = parse_options()
    rows = split_rows(options)
    extra = json.loads(options.args)
    runs = train_versions(rows, TrainingArgs(**extra), options)
    result = summarise(rows, runs, extra)
    print_table(rows, runs, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
