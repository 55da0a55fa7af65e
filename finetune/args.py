"""The hyperparameters of training (:class:`TrainingArgs`) and the progress callback's shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ProgressCallback = Callable[[float, str], None]


@dataclass
class TrainingArgs:
    """Hyperparameters of :func:`train`; every field is recorded in ``version.json``."""

    base_model: str | None = None  # local model folder; None = the default MiniLM
    epochs: int = 3  # upper bound; early stopping may end sooner
    min_steps: int = 400  # small data sets run more epochs, at least this many optimizer steps before early stopping
    max_epochs: int = 10  # cap on the epochs that min_steps may add: more passes over a few hundred
    # examples made the default bot overconfident (a bare product code read as an intent)
    batch_size: int = 32
    learning_rate: float = 5e-4  # LoRA weights
    head_learning_rate: float = 2e-3  # the head starts from a (soft) logistic regression
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list[str] | str = "auto"  # "auto": BERT's query/key/value/dense layers
    max_length: int = 64  # tokens; customer messages are short, longer ones are truncated
    val_fraction: float = 0.1  # stratified held-out share for early stopping and calibration
    patience: int = 2  # epochs without validation gain before stopping
    logreg_c: float = 1.0  # inverse regularisation of the logistic-regression initialisation: a soft
    # start leaves the LoRA weights a learning signal (C=10 fits the training set almost perfectly)
    label_smoothing: float = 0.0  # share of each target spread over the other intents
    refit: bool = False  # after the epochs are chosen on validation, train again on every example (2x time)
    fallback_cs: tuple[float, ...] = (1.0, 10.0)  # logistic regressions (C) kept instead if one beats the fine-tune
    target_recall: float = 0.95  # share of correct validation predictions kept above the threshold
    seed: int = 42
    device: str = "auto"
    # warm start (train(..., base=...)): continue from a saved version instead of from scratch
    replay_ratio: float = 1.0  # earlier examples replayed per new example (stratified over earlier intents)
    replay_min_per_intent: int = 8  # ... but at least this many of each earlier intent (all, if it has fewer)
    warm_epochs: int = 1  # epochs of a warm start: a second one gained nothing on BANKING77 (benchmarks/continual.py)
    warm_min_steps: int = 60  # small warm starts still run this many optimizer steps
    warm_learning_rate: float = 3e-4  # LoRA weights of a warm start: already adapted, so smaller steps
    distill_weight: float = 1.0  # warm start: pull the known intents' logits towards the base version's (0 = off)
    distill_temperature: float = 2.0  # softening of both distributions in that pull
    bias_correction: bool = True  # warm start with new intents: rescale their logits on the validation split (BiC)

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "head_learning_rate": self.head_learning_rate >= 0,
            "lora_r": self.lora_r >= 1,
            "max_length": self.max_length >= 8,
            "val_fraction": 0 <= self.val_fraction < 0.5,
            "label_smoothing": 0 <= self.label_smoothing < 1,
            "target_recall": 0 < self.target_recall <= 1,
            "patience": self.patience >= 1,
            "replay_ratio": self.replay_ratio >= 0,
            "replay_min_per_intent": self.replay_min_per_intent >= 0,
            "warm_epochs": self.warm_epochs >= 1,
            "warm_learning_rate": self.warm_learning_rate > 0,
            "distill_weight": self.distill_weight >= 0,
            "distill_temperature": self.distill_temperature > 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ValueError(f"invalid training arguments: {values}")
