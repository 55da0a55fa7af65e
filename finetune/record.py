"""What a saved model version records about itself: ``version.json``, declared in one place.

Training fills a :class:`VersionRecord`, ``IntentClassifier.save`` writes it, ``load`` and the
registry read it back through :meth:`VersionRecord.read`; nothing else spells out its keys. The
small nested records (warm start, model selection, bias correction, one epoch) are ``TypedDict``s:
their JSON keys are the names (``warm_start["from"]`` is not a valid attribute name).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal, TypedDict

VERSION_FILE = "version.json"
FORMAT = 1

FINE_TUNED, LOGISTIC_REGRESSION = "fine-tuned", "logistic-regression"
Selected = Literal["fine-tuned", "logistic-regression"]


# A warm start's origin and what it trained on (``train(..., base=...)``); the functional
# syntax because "from" is a keyword.
WarmStart = TypedDict(
    "WarmStart",
    {
        "from": str,  # the version it continued from
        "from_data_hash": str | None,
        "new_examples": int,
        "replayed": int,
        "earlier_examples": int,
        "new_intents": list[str],
        "dropped_intents": list[str],
    },
)


class Selection(TypedDict, total=False):
    """The fine-tuned network or the logistic regression, whichever did better on validation."""

    model: Selected
    fine_tuned_val_accuracy: float
    logreg_val_accuracy: float
    logreg_c: float
    refit_examples: int  # only when the fine-tune was trained again on every example


class BiasCorrection(TypedDict, total=False):
    """The new intents' logit scale and shift (``finetune.continual.correct_new_intent_bias``)."""

    scale: float
    shift: float
    balanced_loss_before: float
    balanced_loss: float
    applied: bool


class Epoch(TypedDict):
    epoch: int
    loss: float
    val_accuracy: float


@dataclass
class BaseModel:
    """The encoder a version was trained on; it refuses to load on any other."""

    name: str
    fingerprint: str
    dimension: int
    path: str


@dataclass
class ExampleCounts:
    total: int
    train: int
    validation: int
    heldout: int  # distinct examples, as examples.json


@dataclass
class ThresholdCalibration:
    on: str  # where the thresholds were fitted (validation split, training data, ...)
    target_recall: float
    out_of_scope_examples: int  # operator-labelled out-of-scope examples that steered them
    tests: list[str] = field(default_factory=lambda: ["confidence", "similarity"])


@dataclass
class Metrics:
    val_accuracy: float | None  # None: no validation split
    logreg_val_accuracy: float | None
    best_epoch: int
    epochs_run: int
    train_seconds: float
    history: list[Epoch]


@dataclass
class VersionRecord:
    """``version.json``. ``labels`` and the two thresholds are the classifier's own at save
    time; the rest describes the training run that made it."""

    created_at: str
    base_model: BaseModel
    data_hash: str
    examples: ExampleCounts
    hyperparameters: dict  # dataclasses.asdict(TrainingArgs): every field, whatever it holds
    threshold_calibration: ThresholdCalibration
    metrics: Metrics
    intent_counts: dict[str, int]
    warm_start: WarmStart | None = None
    bias_correction: BiasCorrection | None = None
    selected: Selection | None = None
    labels: list[str] = field(default_factory=list)
    threshold: float = 0.0
    similarity_threshold: float = -1.0
    format: int = FORMAT

    def write(self, directory: str | os.PathLike) -> None:
        path = Path(directory) / VERSION_FILE
        path.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, directory: str | os.PathLike) -> VersionRecord:
        """Reads ``directory``'s record; ``ValueError`` naming the file when it is missing keys,
        has unknown ones, or is not JSON."""
        path = Path(directory) / VERSION_FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(saved)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path} is damaged: {exc}") from None

    @classmethod
    def from_dict(cls, saved: dict) -> VersionRecord:
        unknown = set(saved) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        if saved.get("format", FORMAT) != FORMAT:
            raise ValueError(f"format {saved['format']} is not {FORMAT}; this version was written by other code")
        return cls(
            **{
                **saved,
                "base_model": BaseModel(**saved["base_model"]),
                "examples": ExampleCounts(**saved["examples"]),
                "threshold_calibration": ThresholdCalibration(**saved["threshold_calibration"]),
                "metrics": Metrics(**saved["metrics"]),
            }
        )
