"""LoRA fine-tuning of the BERT encoder with a classification head.

The recipe, chosen by measurement on 2 CPU cores (see README, "Intent accuracy"):

1. Embed the training texts with the frozen encoder (mean pooling, as the model was trained)
   and fit a logistic regression; its weights initialise the head. Training thus starts at
   the frozen-embedding baseline instead of from a random head that first has to catch up.
2. Add LoRA adapters (r=16) to the attention and feed-forward projections and train them with
   the head: AdamW, linear warm-up and decay, batches grouped by length (padding is most of the
   cost of short utterances), gradient clipping.
3. Keep the epoch with the best validation accuracy (early stopping), then compare it on the
   same split with logistic regressions on the frozen encoder (C in ``fallback_cs``): if one
   does better, it is what is saved (``version.json`` says which, under ``selected``). A
   fine-tune is never shipped below the baseline it started from.
4. Embed the training examples with the tuned encoder (the "support" for out-of-scope
   detection) and calibrate two thresholds on the held-out split: softmax confidence, and
   similarity to the nearest training example of the predicted intent.
5. Optionally (``refit=True``, when the fine-tune was kept): train again from step 1 on every
   example, validation split included, for the number of epochs step 3 chose; the thresholds
   of step 4 carry over (the refit model has no held-out data left to calibrate on). Off by
   default: it doubles the training time (BANKING77, 9k rows on 2 cores: about 17 minutes
   instead of 8-10, past the 10-minute budget).

Warm start (``train(..., base=version_folder)``, continual learning): instead of step 1 the
saved version's LoRA adapter and head are loaded; intents it did not know get new head rows,
initialised by a logistic regression on the adapted (frozen) features and rescaled to the old
rows' logits; intents no longer in the data lose theirs. It trains on the examples the base
version has not seen (``examples.json``) mixed with a replay sample of those it has, stratified
by intent, for one epoch, with a distillation term (learning without forgetting, Li & Hoiem
2016): on every training text, the known intents' logits are pulled towards the base
version's. New intents see all their examples but known ones only a replay sample, so the new
intents' logits come out too large; a scale and a shift of them are then fitted on the
validation split with every intent weighted equally (bias correction, Wu et al. 2019) and
folded into the head. The support for out-of-scope detection still covers every example.

This module decides what is fitted on which examples and reads as those phases (``train``);
the fitting itself is in ``finetune.fit``, the warm start's pieces in ``finetune.continual``
and the calibration in ``finetune.oos``.

It does not tune hyperparameters per data set; the defaults are meant to hold across intent
data sets of a few hundred to tens of thousands of examples.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from finetune.continual import correct_new_intent_bias, extend_head, replay_sample
from finetune.data import OUT_OF_SCOPE, Example, data_hash
from finetune.fit import add_lora, fit_classifier, logistic_head, trainable_parameters
from finetune.model import IntentClassifier, Support, example_hash, load_example_record
from finetune.oos import calibrate
from finetune.record import (
    FINE_TUNED,
    LOGISTIC_REGRESSION,
    BaseModel,
    ExampleCounts,
    Metrics,
    Selection,
    ThresholdCalibration,
    VersionRecord,
    WarmStart,
)
from retrieval import Encoder

ProgressCallback = Callable[[float, str], None]


@dataclass
class TrainingArgs:
    """Hyperparameters of :func:`train`; every field is recorded in ``version.json``."""

    base_model: str | None = None  # local model folder; None = the default MiniLM
    epochs: int = 3  # upper bound; early stopping may end sooner
    min_steps: int = 200  # small data sets run more epochs, up to this many optimizer steps
    max_epochs: int = 40  # cap on the epochs that min_steps may add
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


def stratified_split(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Holds out ``fraction`` of each intent (none of intents with fewer than 3 examples)."""
    rng = np.random.default_rng(seed)
    by_intent: dict[str, list[Example]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example)
    train, val = [], []
    for intent in sorted(by_intent):
        items = by_intent[intent]
        order = rng.permutation(len(items))
        n_val = 0 if len(items) < 3 or fraction == 0 else max(1, round(len(items) * fraction))
        val += [items[i] for i in order[:n_val]]
        train += [items[i] for i in order[n_val:]]
    return train, val


def _select(
    classifier: IntentClassifier,
    initial: list[torch.Tensor],
    fine_tuned_accuracy: float,
    features: np.ndarray,
    targets: np.ndarray,
    val_features: np.ndarray,
    val_targets: np.ndarray,
    logreg_accuracy: float,
    args: TrainingArgs,
) -> Selection:
    """Keeps the fine-tuned network unless a logistic regression on the frozen encoder does
    better on the validation split; then the classifier becomes that regression (LoRA weights
    back to their start, where B = 0 leaves the encoder unchanged) and is never shipped worse
    than the baseline it started from. Ties keep the fine-tune. Returns what was compared."""
    candidates = {args.logreg_c: (logreg_accuracy, None)}  # the head's initialisation, already scored
    for c in args.fallback_cs:
        if c not in candidates:
            head = logistic_head(features, targets, len(classifier.labels), c, args.seed)
            with torch.no_grad():
                accuracy = float(np.mean(head(torch.from_numpy(val_features)).argmax(1).numpy() == val_targets))
            candidates[c] = (accuracy, head)
    best_c = max(candidates, key=lambda c: candidates[c][0])
    accuracy, head = candidates[best_c]
    chosen = FINE_TUNED if fine_tuned_accuracy >= accuracy else LOGISTIC_REGRESSION
    if chosen == LOGISTIC_REGRESSION:
        if head is None:
            head = logistic_head(features, targets, len(classifier.labels), best_c, args.seed)
        with torch.no_grad():
            for param, saved in zip(trainable_parameters(classifier), initial):
                param.copy_(saved)
            classifier.head.weight.copy_(head.weight)
            classifier.head.bias.copy_(head.bias)
    return {
        "model": chosen,
        "fine_tuned_val_accuracy": round(fine_tuned_accuracy, 4),
        "logreg_val_accuracy": round(accuracy, 4),
        "logreg_c": best_c,
    }


def _support(classifier: IntentClassifier, examples: list[Example], label_index: dict[str, int]) -> Support:
    """The examples embedded by the classifier's encoder, with their intents: what out-of-scope
    detection measures closeness to."""
    encoder = classifier.encoder
    embeddings = torch.from_numpy(encoder.encode([e.text for e in examples])).to(encoder.device)
    targets = torch.as_tensor([label_index[e.intent] for e in examples], device=encoder.device)
    return Support(embeddings, targets)


@dataclass
class _Plan:
    """What a training run fits: the intents in head order, the splits, and where it starts."""

    labels: list[str]
    train_set: list[Example]
    val_set: list[Example]
    support_set: list[Example]  # what out-of-scope detection compares with: everything learnt
    encoder: Encoder
    previous: IntentClassifier | None  # the version a warm start continues from
    warm: WarmStart | None  # the warm start's record for version.json


def _plan(in_scope: list[Example], data_labels: list[str], args: TrainingArgs, base, rng: np.random.Generator) -> _Plan:
    """Loads the starting point and splits the data. A cold start trains on a stratified share
    of every example; a warm start (``base``) on the examples the base version has not seen
    plus a replay sample of those it has, with the intents it knew first in the head."""
    if base is None:
        train_set, val_set = stratified_split(in_scope, args.val_fraction, args.seed)
        encoder = Encoder(args.base_model, device=args.device, max_length=args.max_length)
        return _Plan(data_labels, train_set, val_set, train_set, encoder, None, None)
    previous = IntentClassifier.load(base, base_model=args.base_model, device=args.device, merge=False, trainable=True)
    labels = [label for label in previous.labels if label in data_labels]
    labels += [label for label in data_labels if label not in previous.labels]
    record = load_example_record(base)
    seen = record["trained"] if record is not None else set()
    new = [e for e in in_scope if example_hash(e.text, e.intent) not in seen]
    old = [e for e in in_scope if example_hash(e.text, e.intent) in seen]
    replay = replay_sample(old, len(new), args.replay_ratio, args.replay_min_per_intent, rng)
    train_set, val_set = stratified_split(new + replay, args.val_fraction, args.seed)
    in_pool = set(new + replay)
    support_set = train_set + [e for e in old if e not in in_pool]  # everything learnt, now or before
    warm: WarmStart = {
        "from": Path(base).name,
        "from_data_hash": previous.version.data_hash,
        "new_examples": len(new),
        "replayed": len(replay),
        "earlier_examples": len(old),
        "new_intents": [label for label in labels if label not in previous.labels],
        "dropped_intents": [label for label in previous.labels if label not in data_labels],
    }
    return _Plan(labels, train_set, val_set, support_set, previous.encoder, previous, warm)


@dataclass
class _HeadStart:
    """Where the head starts, and what the frozen encoder with it scores on validation (the
    logistic-regression baseline of a cold start). ``teacher``: a warm start's soft targets,
    the base version's logits of the intents it knew (columns ``known_columns``) on every
    training text; None without distillation."""

    head: torch.nn.Linear
    val_accuracy: float
    teacher: torch.Tensor | None = None
    known_columns: torch.Tensor | None = None


def _start_head(
    plan: _Plan,
    features: np.ndarray,
    targets: np.ndarray,
    val_features: np.ndarray,
    val_targets: np.ndarray,
    args: TrainingArgs,
) -> _HeadStart:
    """A cold start's head is a logistic regression on the frozen features; a warm start's is
    the base version's, extended with rows for new intents (``extend_head``)."""
    device = plan.encoder.device
    if plan.previous is None:
        head = logistic_head(features, targets, len(plan.labels), args.logreg_c, args.seed)
    else:
        previous = plan.previous
        head = extend_head(previous.head, previous.labels, plan.labels, features, targets, args.logreg_c, args.seed)
    start = _HeadStart(head.to(device), float("nan"))
    if plan.previous is not None and args.distill_weight > 0:
        # learning without forgetting: the base version's logits of the intents it knew, on every
        # training text (its head on the features just computed), are soft targets throughout
        known = [i for i, label in enumerate(plan.labels) if label in plan.previous.labels]
        start.known_columns = torch.tensor(known, device=device)
        with torch.no_grad():
            start.teacher = start.head(torch.from_numpy(features).to(device))[:, start.known_columns].float()
    if len(val_features):
        with torch.no_grad():
            val_logits = start.head(torch.from_numpy(val_features).to(device))
        start.val_accuracy = float(np.mean(val_logits.argmax(1).cpu().numpy() == val_targets))
    return start


def _refit(
    examples: list[Example],
    labels: list[str],
    args: TrainingArgs,
    epochs: int,
    report: ProgressCallback,
    show_progress: bool,
) -> IntentClassifier:
    """The same recipe from the start on every example for exactly ``epochs`` epochs."""
    label_index = {label: i for i, label in enumerate(labels)}
    texts = [e.text for e in examples]
    targets = np.array([label_index[e.intent] for e in examples])
    torch.manual_seed(args.seed)
    encoder = Encoder(args.base_model, device=args.device, max_length=args.max_length)
    features = encoder.encode(texts, show_progress=show_progress, normalize=False)
    head = logistic_head(features, targets, len(labels), args.logreg_c, args.seed).to(encoder.device)
    add_lora(encoder, args)
    classifier = IntentClassifier(encoder, head, labels, threshold=0.0)
    empty = np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    fit_classifier(
        classifier, args, texts, targets, [], empty, epochs, rng, report, show_progress, progress_span=(0.95, 0.04)
    )
    return classifier


def _example_record(
    in_scope: list[Example], val_set: list[Example], heldout: list[Example] | None, refit: bool
) -> dict[str, set[str]]:
    """The hashes of the examples a version trained on and of those kept out of it (``examples.json``):
    the caller's ``heldout`` when given, else the validation split (unless a refit trained on it)."""
    if heldout is not None or refit:
        trained, kept_out = in_scope, heldout or []
    else:  # the validation split is all this version never trained on
        validation = set(val_set)
        trained, kept_out = [e for e in in_scope if e not in validation], val_set
    return {
        "trained": {example_hash(e.text, e.intent) for e in trained},
        "heldout": {example_hash(e.text, e.intent) for e in kept_out},
    }


def train(
    examples: list[Example],
    args: TrainingArgs | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    show_progress: bool = True,
    base: str | os.PathLike | None = None,
    heldout: list[Example] | None = None,
) -> IntentClassifier:
    """Fine-tunes a classifier on ``examples`` and, with ``out_dir``, saves it there.

    Examples labelled ``oos`` are not an intent: they are kept out of training and steer how
    the out-of-scope budget is split between the two tests (``finetune.oos``). ``progress(fraction, message)`` reports to a UI;
    ``show_progress`` draws a tqdm bar on the terminal.

    ``base``: a saved version folder to warm-start from (see the module docstring); raises
    ``ModelMismatchError`` when it was trained on another base model than ``args.base_model``.
    ``heldout``: examples the caller keeps out of training (e.g. to compare versions fairly);
    they are only recorded in ``examples.json``. Without it, the validation split is recorded
    as held out.
    """
    args = args or TrainingArgs()
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    report = progress or (lambda fraction, message: None)

    in_scope = [e for e in examples if e.intent != OUT_OF_SCOPE]
    data_labels = sorted({e.intent for e in in_scope})
    if len(data_labels) < 2:
        raise ValueError(f"need examples of at least 2 intents to train, got {len(data_labels)}: {data_labels}")

    report(0.0, "Loading the base model")
    plan = _plan(in_scope, data_labels, args, base, rng)
    encoder, labels, warm = plan.encoder, plan.labels, plan.warm
    train_set, val_set, support_set = plan.train_set, plan.val_set, plan.support_set
    label_index = {label: i for i, label in enumerate(labels)}
    train_texts = [e.text for e in train_set]
    train_targets = np.array([label_index[e.intent] for e in train_set])
    val_texts = [e.text for e in val_set]
    val_targets = np.array([label_index[e.intent] for e in val_set])

    report(0.02, "Embedding the training data")
    features = encoder.encode(train_texts, show_progress=show_progress, normalize=False)
    val_features = encoder.encode(val_texts, normalize=False)  # frozen: the baseline's view of them
    start = _start_head(plan, features, train_targets, val_features, val_targets, args)
    head = start.head

    if base is None:
        add_lora(encoder, args)
    classifier = IntentClassifier(encoder, head, labels, threshold=0.0)
    initial = [p.detach().clone() for p in trainable_parameters(classifier)]  # LoRA's B is zero: the frozen encoder
    planned, min_steps = (args.warm_epochs, args.warm_min_steps) if base is not None else (args.epochs, args.min_steps)
    steps_per_epoch = math.ceil(len(train_texts) / args.batch_size)
    epochs = min(max(planned, math.ceil(min_steps / steps_per_epoch)), max(planned, args.max_epochs))
    fit = fit_classifier(
        classifier,
        args,
        train_texts,
        train_targets,
        val_texts,
        val_targets,
        epochs,
        rng,
        report,
        show_progress,
        warm=base is not None,
        teacher=start.teacher,
        known_columns=start.known_columns,
    )
    history = fit.history

    selection = None
    if base is None and val_texts:
        report(0.9, "Comparing with logistic regression on the frozen encoder")
        selection = _select(
            classifier,
            initial,
            fit.accuracy,
            features,
            train_targets,
            val_features,
            val_targets,
            start.val_accuracy,
            args,
        )
    classifier.eval()
    bias_correction = None
    if warm is not None and args.bias_correction and warm["new_intents"] and val_texts:
        report(0.93, "Balancing the new intents' scores against the known ones")
        with torch.no_grad():
            pooled = torch.from_numpy(encoder.encode(val_texts, normalize=False)).to(encoder.device)
            val_logits = head(pooled).float().cpu()
        new_columns = [label_index[label] for label in warm["new_intents"]]
        bias_correction = correct_new_intent_bias(head, val_logits, val_targets, new_columns)

    report(0.94, "Embedding the training examples for out-of-scope detection")
    classifier.support = _support(classifier, support_set, label_index)

    report(0.97, "Calibrating the thresholds")
    negatives = [e.text for e in examples if e.intent == OUT_OF_SCOPE]
    calibration = calibrate(classifier, val_texts, val_targets, train_texts, train_targets, negatives, args)
    refit = selection is not None and selection["model"] == FINE_TUNED and args.refit
    if refit:
        # the epoch count and the thresholds come from the run that held the validation split out;
        # the served network is trained the same way on every example (it would otherwise never
        # see a tenth of the data)
        report(0.95, f"Training again on every example for {fit.epoch} epochs")
        thresholds = classifier.threshold, classifier.similarity_threshold
        classifier = _refit(in_scope, labels, args, fit.epoch, report, show_progress)
        classifier.threshold, classifier.similarity_threshold = thresholds
        encoder = classifier.encoder
        classifier.support = _support(classifier, in_scope, label_index)
        selection["refit_examples"] = len(in_scope)
    train_seconds = time.perf_counter() - started
    classifier.example_record = _example_record(in_scope, val_set, heldout, refit)
    classifier.version = VersionRecord(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        base_model=BaseModel(**encoder.describe(), path=str(encoder.model_dir)),
        data_hash=data_hash(examples),
        examples=ExampleCounts(
            total=len(examples),
            train=len(train_set),
            validation=len(val_set),
            heldout=len(classifier.example_record["heldout"]),
        ),
        warm_start=warm,
        bias_correction=bias_correction,
        selected=selection,
        intent_counts=dict(sorted(Counter(e.intent for e in in_scope).items())),
        hyperparameters=asdict(args),
        threshold_calibration=ThresholdCalibration(
            on=calibration.on, target_recall=args.target_recall, out_of_scope_examples=calibration.steered
        ),
        metrics=Metrics(
            val_accuracy=_round(calibration.val_accuracy),
            logreg_val_accuracy=_round(start.val_accuracy),
            best_epoch=fit.epoch,
            epochs_run=len(history),
            train_seconds=round(train_seconds, 1),
            history=history,
        ),
    )
    if out_dir is not None:
        classifier.save(Path(out_dir))
    report(1.0, f"Done: validation accuracy {calibration.val_accuracy:.3f}")
    return classifier


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)  # NaN (no validation data) -> null
