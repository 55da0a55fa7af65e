"""Precision and recall of ``chatbot.frustration.FrustrationDetector`` on held-out labelled messages.

    python benchmarks/frustration.py [--split v2|v1|all] [--threshold 0.5] [--errors]

``benchmarks/data/frustration_eval.csv`` holds customer messages written for this, about half
of them frustrated: ``text``, ``frustrated`` (0/1), the conversation signals the bot would
pass (``fallbacks``, ``repeats``, ``asked_for_person``), a ``category`` and a ``split``:

- ``v1`` (240 rows) was written after the first lexicon and measured once, blind: precision
  0.919, recall 0.567. Its errors then guided a revision of the lexicon, so it is no longer
  held out: its figures now are training-set figures.
- ``v2`` (206 rows) was written after that revision, in the same categories with new
  wording, and never used to change anything: the held-out figure (the default).

Labelling rule: 1 when a person reading the message would want a colleague to step in now
because the customer is angry, exasperated, sarcastic about the service, or tired of the bot
failing; 0 for questions, for complaints stated calmly (the ``complaint`` intent's job), for
strong but neutral words ("urgent", "killer deal"), for enthusiasm, and for calm requests
for a person (the ``human_handoff`` intent's job).

Prints per-category rates, figures per split, ablations (no negation, no typography, no
conversation signals, wording only), the score threshold trade-off, optionally every error,
then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from chatbot.frustration import DEFAULT_LEXICON, FrustrationDetector  # noqa: E402

DATA = PROJECT / "benchmarks" / "data" / "frustration_eval.csv"
HELD_OUT = "v2"  # the split never used to change the detector


def load_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows, start=2):
        if row.get("frustrated") not in ("0", "1"):
            raise SystemExit(f"{path}, row {i}: frustrated={row.get('frustrated')!r} (must be 0 or 1)")
    return rows


def predict(detector: FrustrationDetector, rows: list[dict], signals: bool = True) -> list:
    results = []
    for row in rows:
        kwargs = {}
        if signals:
            kwargs = {
                "fallbacks": int(row.get("fallbacks") or 0),
                "repeats": int(row.get("repeats") or 0),
                "asked_for_person": row.get("asked_for_person") == "1",
            }
        results.append(detector.score(row["text"], **kwargs))
    return results


def metrics(rows: list[dict], results: list) -> dict:
    gold = [row["frustrated"] == "1" for row in rows]
    pred = [r.frustrated for r in results]
    tp = sum(g and p for g, p in zip(gold, pred))
    fp = sum(p and not g for g, p in zip(gold, pred))
    fn = sum(g and not p for g, p in zip(gold, pred))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(g == p for g, p in zip(gold, pred)) / len(rows)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "accuracy": round(accuracy, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def variant(data: dict, **changes) -> FrustrationDetector:
    """The default lexicon with some parts switched off, for the ablations."""
    data = json.loads(json.dumps(data))
    if changes.get("no_negation"):
        data["negation"] = {"window": 0, "words": []}
    if changes.get("wording_only"):
        data["typography"] = {"acronyms": data.get("typography", {}).get("acronyms", [])}
    return FrustrationDetector(data)


def ablation_metrics(detector: FrustrationDetector, rows: list[dict]) -> dict[str, dict]:
    """The detector with a part switched off: conversation signals, negation, typography."""
    import yaml

    base = yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    return {
        "no conversation signals": metrics(rows, predict(detector, rows, signals=False)),
        "no negation": metrics(rows, predict(variant(base, no_negation=True), rows)),
        "no typography": metrics(rows, predict(variant(base, wording_only=True), rows)),
        "wording only": metrics(rows, predict(variant(base, wording_only=True), rows, signals=False)),
    }


def print_tables(args, rows: list[dict], results: list, ablations: dict, by_split: dict, ms: float) -> None:
    """Per category, per variant (ablations), per split, per threshold; then the timing and
    (``--errors``) every misclassified message."""
    positives = sum(r["frustrated"] == "1" for r in rows)
    print(f"{args.data.name}, split {args.split}: {len(rows)} messages, {positives} frustrated")
    print(f"\n{'category':<20} {'label':>5} {'n':>4} {'flagged':>8} {'correct':>8}")
    categories: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        categories.setdefault(row.get("category") or "-", []).append(i)
    for name, idx in categories.items():
        label = rows[idx[0]]["frustrated"]
        flagged = sum(results[i].frustrated for i in idx)
        correct = sum(results[i].frustrated == (rows[i]["frustrated"] == "1") for i in idx)
        print(f"{name:<20} {label:>5} {len(idx):>4} {flagged:>8} {correct / len(idx):>8.0%}")

    print(f"\n{'variant':<24} {'precision':>9} {'recall':>7} {'F1':>6} {'acc':>6}")
    for name, m in ablations.items():
        print(f"{name:<24} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['accuracy']:>6.3f}")
    print(f"\n{'split':<24} {'n':>9} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name, m in by_split.items():
        held = " (held out)" if name == HELD_OUT else ""
        print(f"{name + held:<24} {m['n']:>9} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}")

    print(f"\n{'threshold':<24} {'precision':>9} {'recall':>7} {'F1':>6}")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        flagged = [type(r)(r.score, r.score >= threshold) for r in results]
        m = metrics(rows, flagged)
        print(f"{threshold:<24} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}")
    print(f"\n{ms:.4f} ms per message (mean over {args.timing_rounds} passes of {len(rows)} messages)")

    if args.errors:
        print("\nerrors (gold, score, reasons, text):")
        for row, result in zip(rows, results):
            if result.frustrated != (row["frustrated"] == "1"):
                kind = "missed" if row["frustrated"] == "1" else "false alarm"
                print(f"  {kind:<11} {result.score:.2f} {','.join(result.reasons) or '-':<40} {row['text']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--split", default=HELD_OUT, help=f"rows to score: a split name or 'all' (default {HELD_OUT})")
    parser.add_argument("--threshold", type=float, default=None, help="default: the lexicon's (0.5)")
    parser.add_argument("--errors", action="store_true", help="print every misclassified message")
    parser.add_argument("--timing-rounds", type=int, default=20, help="passes over the set for the timing")
    args = parser.parse_args(argv)

    all_rows = load_rows(args.data)
    splits = sorted({row.get("split") or "-" for row in all_rows})
    rows = [row for row in all_rows if args.split == "all" or (row.get("split") or "-") == args.split]
    if not rows:
        raise SystemExit(f"no rows in split {args.split!r}; splits: {', '.join(splits)}, all")
    detector = FrustrationDetector.load(threshold=args.threshold)
    results = predict(detector, rows)
    overall = metrics(rows, results)
    by_split = {}
    for name in splits:
        part = [row for row in all_rows if (row.get("split") or "-") == name]
        by_split[name] = {**metrics(part, predict(detector, part)), "n": len(part)}

    started = time.perf_counter()
    for _ in range(args.timing_rounds):
        predict(detector, rows)
    ms = 1000 * (time.perf_counter() - started) / (args.timing_rounds * len(rows))

    ablations = {"full": overall, **ablation_metrics(detector, rows)}

    positives = sum(r["frustrated"] == "1" for r in rows)
    print_tables(args, rows, results, ablations, by_split, ms)
    summary = {
        "split": args.split,
        **{k: overall[k] for k in ("precision", "recall", "f1", "accuracy")},
        "n": len(rows),
        "positives": positives,
        "threshold": detector.threshold,
        "ms_per_message": round(ms, 4),
        "ablations": {k: {m: v[m] for m in ("precision", "recall", "f1")} for k, v in ablations.items() if k != "full"},
        "by_split": {k: {m: v[m] for m in ("n", "precision", "recall", "f1")} for k, v in by_split.items()},
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
