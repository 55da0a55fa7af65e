"""Evaluation reports: accuracy, macro-F1, per-intent scores, confusions, out-of-scope.

Rows whose label is not one of the model's intents (or is ``oos``) are out-of-scope: the
model is right about them when it rejects them: when either calibrated test fails (softmax
confidence under its threshold, or similarity to the nearest training example of the predicted
intent under its own; see ``finetune.model``).

Definitions (all over the given rows):

- ``accuracy`` / ``macro_f1`` / ``per_intent``: top-1 intent on the in-scope rows, no threshold
  (how well the model tells its intents apart).
- ``in_scope_accuracy``: in-scope rows with both tests applied (a rejected row is wrong).
- ``oos_precision`` / ``oos_recall``: of the rows the tests reject, the share truly
  out-of-scope; of the out-of-scope rows, the share rejected. ``null`` when undefined.
- ``overall_accuracy``: every row, out-of-scope counted as a class of its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from finetune.data import OUT_OF_SCOPE, Example
from finetune.model import IntentClassifier


@dataclass
class Report:
    metrics: dict

    def to_dict(self) -> dict:
        return self.metrics

    def table(self, top: int = 10) -> str:
        """A report for people: headline figures, weakest intents, top confusions."""
        m = self.metrics
        lines = [
            f"rows: {m['n']} ({m['n_in_scope']} in scope, {m['n_oos']} out of scope), threshold {m['threshold']}",
            f"accuracy          {_pct(m['accuracy'])}",
            f"macro-F1          {_pct(m['macro_f1'])}",
            f"in-scope accuracy {_pct(m['in_scope_accuracy'])}  (threshold applied)",
            f"overall accuracy  {_pct(m['overall_accuracy'])}  (out-of-scope as a class)",
            f"out-of-scope      precision {_pct(m['oos_precision'])}  recall {_pct(m['oos_recall'])}",
            "",
            f"{'intent':32} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}",
        ]
        rows = sorted(m["per_intent"].items(), key=lambda kv: (kv[1]["f1"], kv[0]))
        shown = rows if len(rows) <= 2 * top else rows[:top]
        for intent, s in shown:
            lines.append(f"{intent[:32]:32} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} {s['support']:5d}")
        if len(shown) < len(rows):
            lines.append(f"... {len(rows) - len(shown)} more intents (the weakest are shown; all are in the JSON)")
        if m["confusions"]:
            lines += ["", "most confused (true -> predicted: count)"]
            lines += [f"  {c['true']} -> {c['predicted']}: {c['count']}" for c in m["confusions"][:top]]
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:6.2f}%"


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def evaluate(classifier: IntentClassifier, examples: list[Example], threshold: float | None = None) -> Report:
    """Scores ``classifier`` on labelled ``examples`` (at its calibrated threshold by default)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    if not examples:
        raise ValueError("no examples to evaluate")
    threshold = classifier.threshold if threshold is None else threshold
    known = set(classifier.labels)
    gold = [e.intent if e.intent in known else OUT_OF_SCOPE for e in examples]
    probabilities, similarities = classifier.scores([e.text for e in examples])
    top = [classifier.labels[i] for i in probabilities.argmax(1)]
    rejected = ~classifier.in_scope(probabilities, similarities, threshold)
    final = [OUT_OF_SCOPE if r else t for t, r in zip(top, rejected)]

    in_scope = [i for i, g in enumerate(gold) if g != OUT_OF_SCOPE]
    oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
    gold_in = [gold[i] for i in in_scope]
    top_in = [top[i] for i in in_scope]
    metrics = {
        "n": len(examples),
        "n_in_scope": len(in_scope),
        "n_oos": len(oos),
        "threshold": round(float(threshold), 4),
        "similarity_threshold": round(classifier.similarity_threshold, 4),
        "accuracy": _ratio(sum(g == t for g, t in zip(gold_in, top_in)), len(in_scope)),
        "macro_f1": round(float(f1_score(gold_in, top_in, labels=sorted(set(gold_in)), average="macro")), 4)
        if in_scope
        else None,
        "in_scope_accuracy": _ratio(sum(gold[i] == final[i] for i in in_scope), len(in_scope)),
        "overall_accuracy": _ratio(sum(g == f for g, f in zip(gold, final)), len(gold)),
        "oos_precision": _ratio(sum(gold[i] == OUT_OF_SCOPE for i in np.flatnonzero(rejected)), int(rejected.sum())),
        "oos_recall": _ratio(sum(bool(rejected[i]) for i in oos), len(oos)),
        "rejected_in_scope": _ratio(sum(bool(rejected[i]) for i in in_scope), len(in_scope)),
    }
    per_intent = {}
    if in_scope:
        intents = sorted(set(gold_in) | set(top_in))
        precision, recall, f1, support = precision_recall_fscore_support(
            gold_in, top_in, labels=intents, zero_division=0
        )
        per_intent = {
            intent: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for intent, p, r, f, s in zip(intents, precision, recall, f1, support)
        }
    metrics["per_intent"] = per_intent
    confusions = Counter((g, t) for g, t in zip(gold_in, top_in) if g != t)
    metrics["confusions"] = [
        {"true": g, "predicted": t, "count": c}
        for (g, t), c in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))
    ][:25]
    return Report(metrics)


@dataclass(frozen=True)
class Overlap:
    """A new intent the serving model already reads as one of its own (``intent_overlaps``)."""

    new_intent: str
    old_intent: str
    share: float  # of the new intent's examples that the serving model confidently reads as old_intent
    count: int
    examples: int
    sample: tuple[str, ...]  # up to 3 of those examples (customers' words: not for logs)

    def warning(self) -> str:
        """The operator's warning, intent names only (the examples may be customers' words)."""
        return (
            f"new intent {self.new_intent!r}: the serving version read {100 * self.share:.0f}% of its examples"
            f" as {self.old_intent!r}; questions that went to {self.old_intent!r} may now go to"
            f" {self.new_intent!r}: make the examples distinct or merge the intents"
        )

    @classmethod
    def from_dict(cls, saved: dict) -> Overlap:
        """Read back from ``report.json`` or a job's result (``dataclasses.asdict``)."""
        return cls(**{**saved, "sample": tuple(saved.get("sample", ()))})


def intent_overlaps(
    serving: IntentClassifier, examples: list[Example], min_share: float = 0.25, min_count: int = 3
) -> list[Overlap]:
    """New intents that the serving model already reads as one of its own.

    For each intent of ``examples`` that ``serving`` does not know: the known intent that
    confidently claims (passes both out-of-scope tests) the largest share of its examples, when
    that share is at least ``min_share`` and ``min_count`` examples. A warning for operators
    before training: such pairs are candidates for merging or for more distinct examples. It
    does not predict the whole cost of a retrain (on BANKING77 the old intents it does not flag
    lose almost as much; see README)."""
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        if example.intent not in serving.labels and example.intent != OUT_OF_SCOPE:
            by_intent.setdefault(example.intent, []).append(example.text)
    overlaps = []
    for intent, texts in sorted(by_intent.items()):
        claims = [(text, p.intent) for text, p in zip(texts, serving.predict(texts)) if p.in_scope]
        if not claims:
            continue
        old_intent, count = Counter(claimed for _, claimed in claims).most_common(1)[0]
        if count / len(texts) >= min_share and count >= min_count:
            overlaps.append(
                Overlap(
                    new_intent=intent,
                    old_intent=old_intent,
                    share=round(count / len(texts), 3),
                    count=count,
                    examples=len(texts),
                    sample=tuple(text for text, claimed in claims if claimed == old_intent)[:3],
                )
            )
    return sorted(overlaps, key=lambda o: -o.share)
