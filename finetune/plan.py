"""Where a training run starts: which examples it fits on, in which head order, from which head.

``finetune.train`` reads as the phases of a run; the first two are here. :func:`plan_training`
loads the starting point and splits the data: a cold start trains on a stratified share of
every example, a warm start on the examples the base version has not seen plus a replay
sample of those it has (``finetune.continual.replay_sample``), with the intents the base knew
first in the head. :func:`start_head` makes the head training starts from, and for a warm
start the distillation targets. :class:`Rows` turns the splits into model inputs.

Limits: nothing here trains the encoder; a warm start's replay draws from the ``rng`` it is
given, so the caller's order of random draws is part of the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from finetune.args import TrainingArgs
from finetune.continual import extend_head, replay_sample
from finetune.data import Example, stratified_split
from finetune.fit import logistic_head
from finetune.model import IntentClassifier, example_hash, load_example_record
from finetune.record import WarmStart
from retrieval import Encoder


@dataclass
class Plan:
    """What a training run fits: the intents in head order, the splits, and where it starts."""

    labels: list[str]
    train_set: list[Example]
    val_set: list[Example]
    support_set: list[Example]  # what out-of-scope detection compares with: everything learnt
    encoder: Encoder
    previous: IntentClassifier | None  # the version a warm start continues from
    warm: WarmStart | None  # the warm start's record for version.json


def plan_training(
    in_scope: list[Example], data_labels: list[str], args: TrainingArgs, base, rng: np.random.Generator
) -> Plan:
    """Loads the starting point and splits the data. A cold start trains on a stratified share
    of every example; a warm start (``base``) on the examples the base version has not seen
    plus a replay sample of those it has, with the intents it knew first in the head."""
    if base is None:
        train_set, val_set = stratified_split(in_scope, args.val_fraction, args.seed)
        encoder = Encoder(args.base_model, device=args.device, max_length=args.max_length)
        return Plan(data_labels, train_set, val_set, train_set, encoder, None, None)
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
    return Plan(labels, train_set, val_set, support_set, previous.encoder, previous, warm)


@dataclass
class HeadStart:
    """Where the head starts, and what the frozen encoder with it scores on validation (the
    logistic-regression baseline of a cold start). ``teacher``: a warm start's soft targets,
    the base version's logits of the intents it knew (columns ``known_columns``) on every
    training text; None without distillation."""

    head: torch.nn.Linear
    val_accuracy: float
    teacher: torch.Tensor | None = None
    known_columns: torch.Tensor | None = None


def start_head(
    plan: Plan,
    features: np.ndarray,
    targets: np.ndarray,
    val_features: np.ndarray,
    val_targets: np.ndarray,
    args: TrainingArgs,
) -> HeadStart:
    """A cold start's head is a logistic regression on the frozen features; a warm start's is
    the base version's, extended with rows for new intents (``extend_head``)."""
    device = plan.encoder.device
    if plan.previous is None:
        head = logistic_head(features, targets, len(plan.labels), args.logreg_c, args.seed)
    else:
        previous = plan.previous
        head = extend_head(previous.head, previous.labels, plan.labels, features, targets, args.logreg_c, args.seed)
    start = HeadStart(head.to(device), float("nan"))
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


@dataclass
class Rows:
    """The plan's splits as model inputs: texts and head columns."""

    label_index: dict[str, int]
    train_texts: list[str]
    train_targets: np.ndarray
    val_texts: list[str]
    val_targets: np.ndarray

    @classmethod
    def of(cls, plan: Plan) -> Rows:
        index = {label: i for i, label in enumerate(plan.labels)}
        return cls(
            index,
            [e.text for e in plan.train_set],
            np.array([index[e.intent] for e in plan.train_set]),
            [e.text for e in plan.val_set],
            np.array([index[e.intent] for e in plan.val_set], dtype=np.int64),
        )
