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
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from finetune import (  # noqa: E402
    Example,
    IntentClassifier,
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


def main() -> None:
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
    options = parser.parse_args()

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
    old_intents = set(intents) - new_intents
    old_train = [e for e in train_rows if e.intent in old_intents]
    new_train = [e for e in train_rows if e.intent in new_intents]
    old_test = [e for e in test_rows if e.intent in old_intents]
    new_test = [e for e in test_rows if e.intent in new_intents]
    extra = json.loads(options.args)
    args = TrainingArgs(**extra)

    with tempfile.TemporaryDirectory(prefix="continual-") as tmp:
        root = Path(tmp)
        v1, v1_seconds, _ = timed_train(old_train, args, root / "v1")
        old_v1, old_v1_per_intent = per_intent_accuracy(v1, old_test)
        overlaps = intent_overlaps(v1, new_train)  # the retrain's warning, as the console shows it
        del v1
        warm, warm_seconds, warm_cpu = timed_train(old_train + new_train, args, root / "v2-warm", base=root / "v1")
        old_v2, old_v2_per_intent = per_intent_accuracy(warm, old_test)
        new_v2, _ = per_intent_accuracy(warm, new_test)
        warm_info = warm.version.warm_start
        warm_epochs = warm.version.metrics.epochs_run
        del warm
        scratch_seconds = scratch_cpu = old_scratch = new_scratch = None
        if not options.skip_scratch:
            scratch, scratch_seconds, scratch_cpu = timed_train(old_train + new_train, args, root / "v2-scratch")
            old_scratch, _ = per_intent_accuracy(scratch, old_test)
            new_scratch, _ = per_intent_accuracy(scratch, new_test)
        if options.keep:
            import csv
            import shutil

            shutil.copytree(root / "v2-warm", options.keep, dirs_exist_ok=True)
            with open(Path(options.keep) / "test.csv", "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["text", "intent"])
                writer.writerows((e.text, e.intent) for e in test_rows)

    drops = {intent: old_v1_per_intent[intent] - old_v2_per_intent.get(intent, 0.0) for intent in old_v1_per_intent}
    worst = max(drops, key=drops.get)
    result = {
        "old_v1": round(old_v1, 4),
        "old_v2": round(old_v2, 4),
        "new_v2": round(new_v2, 4),
        "worst_intent_drop": round(drops[worst], 4),
        "worst_intent": worst,
        "warm_seconds": round(warm_seconds, 1),
        "scratch_seconds": None if scratch_seconds is None else round(scratch_seconds, 1),
        "warm_cpu_seconds": round(warm_cpu, 1),
        "scratch_cpu_seconds": None if scratch_cpu is None else round(scratch_cpu, 1),
        "warm_share": None if scratch_seconds is None else round(warm_seconds / scratch_seconds, 3),
        "old_v2_scratch": None if old_scratch is None else round(old_scratch, 4),
        "new_v2_scratch": None if new_scratch is None else round(new_scratch, 4),
        "v1_seconds": round(v1_seconds, 1),
        "warm_epochs_run": warm_epochs,
        "replayed": warm_info["replayed"],
        "new_examples": warm_info["new_examples"],
        "intents": {"old": len(old_intents), "new": len(new_intents)},
        "rows": {"train": len(train_rows), "test_old": len(old_test), "test_new": len(new_test)},
        "training_args": extra,
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
    }
    flagged = {o["old_intent"] for o in overlaps}
    counts = {intent: sum(e.intent == intent for e in old_test) for intent in old_v1_per_intent}
    rest = [i for i in old_v1_per_intent if i not in flagged]

    def weighted(per_intent: dict[str, float], intents: list[str]) -> float | None:
        total = sum(counts[i] for i in intents)
        return round(sum(per_intent.get(i, 0.0) * counts[i] for i in intents) / total, 4) if total else None

    result["overlaps"] = [{k: o[k] for k in ("new_intent", "old_intent", "share")} for o in overlaps]
    result["old_not_overlapped"] = {  # the old intents no new intent was flagged against
        "intents": len(rest),
        "v1": weighted(old_v1_per_intent, rest),
        "v2": weighted(old_v2_per_intent, rest),
    }
    result["largest_drops"] = [
        {"intent": i, "drop": round(drops[i], 4), "flagged": i in flagged}
        for i in sorted(drops, key=drops.get, reverse=True)[:8]
    ]
    result["targets"] = {
        "old_drop_at_most_1_point": old_v1 - old_v2 <= 0.01,
        "new_at_least_90": new_v2 >= 0.90,
        "warm_at_most_40_percent": None if scratch_seconds is None else warm_seconds <= 0.4 * scratch_seconds,
    }

    def pct(value: float | None) -> str:
        return "   n/a" if value is None else f"{100 * value:6.2f}%"

    print(f"\n{len(old_intents)} old + {len(new_intents)} new intents, {len(train_rows)} training rows")
    print(f"{'':32} {'old intents':>12} {'new intents':>12} {'wall s':>8} {'cpu s':>8}")
    print(f"{'v1 (old intents, from scratch)':32} {pct(old_v1):>12} {'':>12} {v1_seconds:8.0f}")
    print(f"{'v2 warm start + replay':32} {pct(old_v2):>12} {pct(new_v2):>12} {warm_seconds:8.0f} {warm_cpu:8.0f}")
    if scratch_seconds is not None:
        print(
            f"{'v2 from scratch':32} {pct(old_scratch):>12} {pct(new_scratch):>12}"
            f" {scratch_seconds:8.0f} {scratch_cpu:8.0f}"
        )
    print(f"worst old-intent drop v1 -> v2 warm: {100 * drops[worst]:.1f} points ({worst})")
    for o in overlaps:
        print(
            f"flagged before training: new {o['new_intent']} reads as old {o['old_intent']} ({100 * o['share']:.0f}%)"
        )
    kept = result["old_not_overlapped"]
    print(f"old intents not flagged ({kept['intents']}): v1 {pct(kept['v1'])} -> v2 {pct(kept['v2'])}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
