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
the split and the head training starts from are in ``finetune.plan``, the fitting itself in
``finetune.fit``, the warm start's pieces in ``finetune.continual`` and the calibration in
``finetune.oos``.

It does not tune hyperparameters per data set; the defaults are meant to hold across intent
data sets of a few hundred to tens of thousands of examples.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from finetune.args import ProgressCallback, TrainingArgs
from finetune.continual import correct_new_intent_bias
from finetune.data import OUT_OF_SCOPE, Example, data_hash
from finetune.fit import FitResult, add_lora, fit_classifier, select_model, trainable_parameters
from finetune.model import IntentClassifier, Support, example_hash
from finetune.oos import Calibration, calibrate
from finetune.plan import HeadStart, Plan, Rows, plan_training, start_head
from finetune.record import (
    FINE_TUNED,
    BaseModel,
    BiasCorrection,
    ExampleCounts,
    Metrics,
    Selection,
    ThresholdCalibration,
    VersionRecord,
)
from retrieval import Encoder


def _support(classifier: IntentClassifier, examples: list[Example], label_index: dict[str, int]) -> Support:
    """The examples embedded by the classifier's encoder, with their intents: what out-of-scope
    detection measures closeness to."""
    encoder = classifier.encoder
    embeddings = torch.from_numpy(encoder.encode([e.text for e in examples])).to(encoder.device)
    targets = torch.as_tensor([label_index[e.intent] for e in examples], device=encoder.device)
    return Support(embeddings, targets)


def _refit(
    tuned: IntentClassifier,
    examples: list[Example],
    args: TrainingArgs,
    epochs: int,
    report: ProgressCallback,
    show_progress: bool,
) -> IntentClassifier:
    """The same cold-start recipe on every example for exactly ``epochs`` epochs (``tuned``'s
    best); ``tuned``'s thresholds carry over (nothing is left out to calibrate on)."""
    torch.manual_seed(args.seed)
    encoder = Encoder(args.base_model, device=args.device, max_length=args.max_length)
    plan = Plan(tuned.labels, examples, [], examples, encoder, None, None)
    rows = Rows.of(plan)
    features = encoder.encode(rows.train_texts, show_progress=show_progress, normalize=False)
    start = start_head(plan, features, rows.train_targets, np.zeros((0, features.shape[1])), rows.val_targets, args)
    add_lora(encoder, args)
    refit = IntentClassifier(
        encoder, start.head, plan.labels, tuned.threshold, similarity_threshold=tuned.similarity_threshold
    )
    rng = np.random.default_rng(args.seed)
    fit_classifier(
        refit,
        args,
        rows.train_texts,
        rows.train_targets,
        [],
        rows.val_targets,
        epochs,
        rng,
        report,
        show_progress,
        progress_span=(0.95, 0.04),
    )
    refit.support = _support(refit, examples, rows.label_index)
    return refit


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
    in_scope, data_labels = _intents(examples)

    report(0.0, "Loading the base model")
    plan = plan_training(in_scope, data_labels, args, base, rng)
    rows = Rows.of(plan)

    report(0.02, "Embedding the training data")
    features = plan.encoder.encode(rows.train_texts, show_progress=show_progress, normalize=False)
    val_features = plan.encoder.encode(rows.val_texts, normalize=False)  # frozen: the baseline's view of them
    start = start_head(plan, features, rows.train_targets, val_features, rows.val_targets, args)

    classifier, initial, fit = _fit(plan, rows, start, args, rng, report, show_progress)
    selection = _select(classifier, initial, fit, plan, rows, start, features, val_features, args, report)
    classifier.eval()
    bias_correction = _correct_bias(classifier, plan, rows, args, report)
    calibration = _calibrate_out_of_scope(classifier, examples, plan, rows, args, report)
    refit = selection is not None and selection["model"] == FINE_TUNED and args.refit
    if refit:
        # the epoch count and the thresholds come from the run that held the validation split out;
        # the served network is trained the same way on every example (it would otherwise never
        # see a tenth of the data)
        report(0.95, f"Training again on every example for {fit.epoch} epochs")
        classifier = _refit(classifier, in_scope, args, fit.epoch, report, show_progress)
        selection["refit_examples"] = len(in_scope)

    classifier.example_record = _example_record(in_scope, plan.val_set, heldout, refit)
    classifier.version = _record(
        classifier, examples, plan, args, start, fit, selection, bias_correction, calibration, started
    )
    if out_dir is not None:
        classifier.save(Path(out_dir))
    report(1.0, f"Done: validation accuracy {calibration.val_accuracy:.3f}")
    return classifier


def _intents(examples: list[Example]) -> tuple[list[Example], list[str]]:
    """The in-scope examples (``oos`` ones are not an intent) and their intents, sorted;
    refuses data with fewer than two intents."""
    in_scope = [e for e in examples if e.intent != OUT_OF_SCOPE]
    data_labels = sorted({e.intent for e in in_scope})
    if len(data_labels) < 2:
        raise ValueError(f"need examples of at least 2 intents to train, got {len(data_labels)}: {data_labels}")
    return in_scope, data_labels


def _fit(
    plan: Plan,
    rows: Rows,
    start: HeadStart,
    args: TrainingArgs,
    rng: np.random.Generator,
    report: ProgressCallback,
    show_progress: bool,
) -> tuple[IntentClassifier, list[torch.Tensor], FitResult]:
    """LoRA (a cold start adds it; a warm start's is loaded) and the fitting loop; returns the
    classifier, its trainable weights before fitting (the frozen encoder: LoRA's B is zero), and
    the loop's result."""
    warm = plan.previous is not None
    if not warm:
        add_lora(plan.encoder, args)
    classifier = IntentClassifier(plan.encoder, start.head, plan.labels, threshold=0.0)
    initial = [p.detach().clone() for p in trainable_parameters(classifier)]
    planned, min_steps = (args.warm_epochs, args.warm_min_steps) if warm else (args.epochs, args.min_steps)
    steps_per_epoch = math.ceil(len(rows.train_texts) / args.batch_size)
    epochs = min(max(planned, math.ceil(min_steps / steps_per_epoch)), max(planned, args.max_epochs))
    min_epochs = min(epochs, math.ceil(min_steps / steps_per_epoch))  # early stopping waits for these
    fit = fit_classifier(
        classifier,
        args,
        rows.train_texts,
        rows.train_targets,
        rows.val_texts,
        rows.val_targets,
        epochs,
        rng,
        report,
        show_progress,
        warm=warm,
        teacher=start.teacher,
        known_columns=start.known_columns,
        min_epochs=min_epochs,
    )
    return classifier, initial, fit


def _select(
    classifier: IntentClassifier,
    initial: list[torch.Tensor],
    fit: FitResult,
    plan: Plan,
    rows: Rows,
    start: HeadStart,
    features: np.ndarray,
    val_features: np.ndarray,
    args: TrainingArgs,
    report: ProgressCallback,
) -> Selection | None:
    """A cold start with a validation split: the fine-tune against logistic regressions on the
    frozen encoder (``finetune.fit.select_model``). None for a warm start or without validation
    data (nothing is compared then)."""
    if plan.previous is not None or not rows.val_texts:
        return None
    report(0.9, "Comparing with logistic regression on the frozen encoder")
    return select_model(
        classifier,
        initial,
        fit.accuracy,
        features,
        rows.train_targets,
        val_features,
        rows.val_targets,
        start.val_accuracy,
        args,
    )


def _correct_bias(
    classifier: IntentClassifier, plan: Plan, rows: Rows, args: TrainingArgs, report: ProgressCallback
) -> BiasCorrection | None:
    """A warm start with new intents: their logits rescaled on the validation split (BiC)."""
    warm = plan.warm
    if warm is None or not args.bias_correction or not warm["new_intents"] or not rows.val_texts:
        return None
    report(0.93, "Balancing the new intents' scores against the known ones")
    encoder = classifier.encoder
    with torch.no_grad():
        pooled = torch.from_numpy(encoder.encode(rows.val_texts, normalize=False)).to(encoder.device)
        val_logits = classifier.head(pooled).float().cpu()
    new_columns = [rows.label_index[label] for label in warm["new_intents"]]
    return correct_new_intent_bias(classifier.head, val_logits, rows.val_targets, new_columns)


def _calibrate_out_of_scope(
    classifier: IntentClassifier,
    examples: list[Example],
    plan: Plan,
    rows: Rows,
    args: TrainingArgs,
    report: ProgressCallback,
) -> Calibration:
    """Stores the support (every example learnt, embedded by the tuned encoder), then
    calibrates both thresholds on the validation split, steered by the ``oos`` examples."""
    report(0.94, "Embedding the training examples for out-of-scope detection")
    classifier.support = _support(classifier, plan.support_set, rows.label_index)
    report(0.97, "Calibrating the thresholds")
    negatives = [e.text for e in examples if e.intent == OUT_OF_SCOPE]
    return calibrate(
        classifier, rows.val_texts, rows.val_targets, rows.train_texts, rows.train_targets, negatives, args
    )


def _record(
    classifier: IntentClassifier,
    examples: list[Example],
    plan: Plan,
    args: TrainingArgs,
    start: HeadStart,
    fit: FitResult,
    selection: Selection | None,
    bias_correction: BiasCorrection | None,
    calibration: Calibration,
    started: float,
) -> VersionRecord:
    """What ``version.json`` says about this run."""
    encoder = classifier.encoder
    return VersionRecord(
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        base_model=BaseModel(**encoder.describe(), path=str(encoder.model_dir)),
        data_hash=data_hash(examples),
        examples=ExampleCounts(
            total=len(examples),
            train=len(plan.train_set),
            validation=len(plan.val_set),
            heldout=len(classifier.example_record["heldout"]),
        ),
        warm_start=plan.warm,
        bias_correction=bias_correction,
        selected=selection,
        intent_counts=dict(sorted(Counter(e.intent for e in examples if e.intent != OUT_OF_SCOPE).items())),
        hyperparameters=asdict(args),
        threshold_calibration=ThresholdCalibration(
            on=calibration.on, target_recall=args.target_recall, out_of_scope_examples=calibration.steered
        ),
        metrics=Metrics(
            val_accuracy=_round(calibration.val_accuracy),
            logreg_val_accuracy=_round(start.val_accuracy),
            best_epoch=fit.epoch,
            epochs_run=len(fit.history),
            train_seconds=round(time.perf_counter() - started, 1),
            history=fit.history,
        ),
    )


def _round(value: float) -> float | None:
    return None if value != value else round(value, 4)  # NaN (no validation data) -> null
