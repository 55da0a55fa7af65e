"""What a retraining reports (``report.json`` beside the version it made), declared in one place.

``ModelAdmin`` writes a :class:`RetrainReport`; the console, the CLI and the version table read it
back through :meth:`RetrainReport.read`. The evaluations themselves (``report``, ``serving``) are
``finetune.evaluate.Report.to_dict()``: per-intent scores and confusions, as that module defines.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from finetune import Overlap

REPORT_FILE = "report.json"


@dataclass(frozen=True)
class Gate:
    """Whether a new model version may serve, and why; saved in ``report.json`` under ``gate``."""

    passed: bool
    reason: str
    margin: float  # the largest drop allowed, overall and per intent (a share, 0.02 = 2 points)
    accuracy_change: float | None = None  # new minus serving, on the serving version's intents
    worst_intent: str | None = None  # the intent whose F1 dropped most
    worst_intent_drop: float = 0.0
    intents_judged: int = 0  # intents with at least ``gate_min_support`` held-out examples


def check_gate(new: dict, serving: dict, margin: float, min_support: int = 1) -> Gate:
    """The new version may serve when neither overall accuracy nor any intent the serving
    version knew drops by more than ``margin`` (F1 per intent). Intents with fewer than
    ``min_support`` held-out examples are not judged one by one: one example of two is a
    50-point swing, which says more about the sample than about the model."""
    overall_drop = (serving["accuracy"] or 0) - (new["accuracy"] or 0)
    drops = {
        intent: round(scores["f1"] - new["per_intent"].get(intent, {"f1": 0.0})["f1"], 4)
        for intent, scores in serving["per_intent"].items()
        if scores.get("support", min_support) >= min_support
    }
    worst = max(drops.items(), key=lambda kv: kv[1], default=(None, 0.0))
    if overall_drop > margin:
        reason = f"accuracy drops by {100 * overall_drop:.1f} points (allowed {100 * margin:.1f})"
    elif worst[1] > margin:
        reason = f"intent '{worst[0]}' F1 drops by {100 * worst[1]:.1f} points (allowed {100 * margin:.1f})"
    else:
        reason = "no regression beyond the margin"
    return Gate(
        passed=overall_drop <= margin and worst[1] <= margin,
        reason=reason,
        margin=margin,
        accuracy_change=round(-overall_drop, 4),
        worst_intent=worst[0],
        worst_intent_drop=worst[1],
        intents_judged=len(drops),
    )


@dataclass(frozen=True)
class HeldOut:
    """The examples both versions are compared on (``ModelAdmin.retrain_split``)."""

    heldout: int
    carried_over: int  # the serving version's own held-out examples
    new_heldout: int  # a stratified share of the examples new since it
    new_examples: int
    fair: bool  # False: the serving version has no record of its training data
    note: str | None = None


@dataclass(frozen=True)
class OldIntents:
    """Both versions on the held-out examples of the intents the serving version knows."""

    n: int
    accuracy: float | None
    serving_accuracy: float | None
    lost_to_new_intents: list[dict] = field(default_factory=list)  # confusions (true, predicted, count)


@dataclass(frozen=True)
class NewIntents:
    n: int
    intents: list[str]
    accuracy: float | None


@dataclass(frozen=True)
class TrainingRun:
    seconds: float
    warm_start_from: str | None = None  # the serving version it continued from
    scratch_reason: str | None = None  # why it could not (another base model)


@dataclass(frozen=True)
class RetrainReport:
    """``report.json``: how the new version compares with the one serving when it was made."""

    report: dict  # the new version on every held-out example
    serving: dict  # the serving version on the same
    gate: Gate
    old_intents: OldIntents
    new_intents: NewIntents
    evaluation: HeldOut
    training: TrainingRun
    overlaps: list[Overlap] = field(default_factory=list)

    def write(self, directory: str | os.PathLike) -> None:
        (Path(directory) / REPORT_FILE).write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")

    @classmethod
    def read(cls, directory: str | os.PathLike) -> RetrainReport | None:
        """The report of the version in ``directory``; None for one trained without (first start)."""
        path = Path(directory) / REPORT_FILE
        if not path.is_file():
            return None
        saved = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            report=saved["report"],
            serving=saved["serving"],
            gate=Gate(**saved["gate"]),
            old_intents=OldIntents(**saved["old_intents"]),
            new_intents=NewIntents(**saved["new_intents"]),
            evaluation=HeldOut(**saved["evaluation"]),
            training=TrainingRun(**saved["training"]),
            overlaps=[Overlap.from_dict(o) for o in saved.get("overlaps", [])],
        )
