"""Warm starts (continual learning): what a retrain from a saved version does differently.

New intents get head rows of their own (``extend_head``), earlier examples are replayed by a
stratified sample (``replay_sample``), and the new intents' logits, inflated because they see
every example while known ones see only the replay, are rescaled on the validation split
(``correct_new_intent_bias``, bias correction after Wu et al. 2019). ``train`` decides when.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from finetune.data import Example
from finetune.fit import logistic_head
from finetune.record import BiasCorrection


def replay_sample(
    old: list[Example], n_new: int, ratio: float, min_per_intent: int, rng: np.random.Generator
) -> list[Example]:
    """A replay sample of earlier examples: ``ratio * n_new`` in all, spread evenly over the
    earlier intents, at least ``min_per_intent`` of each (or all it has)."""
    by_intent: dict[str, list[Example]] = {}
    for example in old:
        by_intent.setdefault(example.intent, []).append(example)
    if not by_intent:
        return []
    per_intent = max(min_per_intent, math.ceil(ratio * n_new / len(by_intent)))
    sample = []
    for intent in sorted(by_intent):
        items = by_intent[intent]
        chosen = rng.permutation(len(items))[:per_intent]
        sample += [items[i] for i in sorted(chosen)]
    return sample


def extend_head(
    old_head: torch.nn.Linear,
    old_labels: list[str],
    labels: list[str],
    features: np.ndarray,
    targets: np.ndarray,
    c: float,
    seed: int,
) -> torch.nn.Linear:
    """The base version's head rows for the intents it knew; for new intents, the rows of a
    logistic regression on the adapted features, mapped onto the old rows' logit scale by the
    least-squares affine fit between the two heads' logits of the known intents."""
    old_index = {label: i for i, label in enumerate(old_labels)}
    kept = [i for i, label in enumerate(labels) if label in old_index]
    new = [i for i, label in enumerate(labels) if label not in old_index]
    old_weight = old_head.weight.detach().float().cpu()
    old_bias = old_head.bias.detach().float().cpu()
    weight = torch.zeros(len(labels), features.shape[1])
    bias = torch.full((len(labels),), -10.0)
    weight[kept] = old_weight[[old_index[labels[i]] for i in kept]]
    bias[kept] = old_bias[[old_index[labels[i]] for i in kept]]
    if new:
        fitted = logistic_head(features, targets, len(labels), c, seed)
        x = torch.from_numpy(features).float()
        scale, shift = 1.0, 0.0
        if kept:
            with torch.no_grad():
                old_logits = (x @ weight[kept].T + bias[kept]).flatten()
                fitted_logits = fitted(x)[:, kept].flatten()
            centred = fitted_logits - fitted_logits.mean()
            if float(centred.var()) > 0:
                scale = float((centred * (old_logits - old_logits.mean())).mean() / centred.var(unbiased=False))
                scale = scale if scale > 0 else 1.0
            shift = float(old_logits.mean() - scale * fitted_logits.mean())
        with torch.no_grad():
            weight[new] = scale * fitted.weight[new]
            bias[new] = scale * fitted.bias[new] + shift
    head = torch.nn.Linear(features.shape[1], len(labels))
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    return head


def correct_new_intent_bias(
    head: torch.nn.Linear, val_logits: torch.Tensor, val_targets: np.ndarray, new_columns: list[int]
) -> BiasCorrection | None:
    """Bias correction for new intents (BiC, Wu et al. 2019), folded into ``head`` in place.

    A warm start sees every example of a new intent but only a replay sample of each known
    one, so the new intents' logits come out too large and take rows from their known
    neighbours. Two numbers, a scale and a shift of the new intents' logits, are fitted on
    the validation split by cross-entropy with every intent weighted equally; ``a * (w x + b) + c``
    is again a linear head, so serving changes nothing. Returns what was fitted, or None when
    the validation split lacks either kind of intent.
    """
    targets = torch.as_tensor(val_targets, dtype=torch.long)
    is_new = torch.zeros(val_logits.shape[1], dtype=torch.bool)
    is_new[new_columns] = True
    if not is_new[targets].any() or is_new[targets].all():
        return None
    counts = torch.bincount(targets, minlength=val_logits.shape[1]).float()
    weights = 1.0 / counts[targets]  # each intent counts the same, however many rows it has
    scale = torch.ones(1, requires_grad=True)
    shift = torch.zeros(1, requires_grad=True)

    def corrected() -> torch.Tensor:
        return torch.where(is_new, val_logits * scale + shift, val_logits)

    def loss() -> torch.Tensor:
        return (
            torch.nn.functional.cross_entropy(corrected(), targets, reduction="none") * weights
        ).sum() / weights.sum()

    optimizer = torch.optim.LBFGS([scale, shift], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss()
        value.backward()
        return value

    with torch.no_grad():
        before = float(loss())
    optimizer.step(closure)
    a, c = float(scale.detach().clamp(0.25, 4.0)), float(shift.detach().clamp(-20.0, 20.0))
    with torch.no_grad():
        scale.fill_(a)
        shift.fill_(c)
        after = float(loss())
    if not after < before:  # nothing gained (or the fit went astray): leave the head as it is
        return {"scale": 1.0, "shift": 0.0, "balanced_loss": round(before, 4), "applied": False}
    with torch.no_grad():
        rows = torch.as_tensor(new_columns, device=head.weight.device)
        head.weight[rows] *= a
        head.bias[rows] = a * head.bias[rows] + c
    return {
        "scale": round(a, 4),
        "shift": round(c, 4),
        "balanced_loss_before": round(before, 4),
        "balanced_loss": round(after, 4),
        "applied": True,
    }
