"""Out-of-scope calibration: the two thresholds a classifier serves with, set on held-out data
at the end of training (``calibrate``), steered by the operator's own out-of-scope examples.

Rows labelled ``oos`` in the training data are not an intent: they are messages the bot should
decline ("what's the weather", "write me a poem"). ``train`` keeps them out of the classifier
and, when there are some, hands them here. Two calibrated tests decide whether a turn is in
scope (``finetune.model``): softmax confidence and similarity to the nearest training example
of the predicted intent. Together they may lose ``1 - target_recall`` of the correctly
classified held-out turns; without negatives that budget is split evenly. With negatives the
split is chosen to reject as many of them as possible, so the in-scope cost stays the same.

Limits: the examples only steer how the budget is spent, they never make the thresholds
stricter than the budget allows (a handful of examples should not cost in-scope accuracy);
they are not a class of their own (measured in ``benchmarks/oos.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from finetune.model import IntentClassifier

if TYPE_CHECKING:
    from finetune.args import TrainingArgs

SHARES = tuple(i / 10 for i in range(11))  # share of the budget spent on the confidence test


def _keep_quantile(values: np.ndarray, keep: float) -> float:
    return float(np.quantile(values, 1.0 - keep, method="lower"))


def calibrate_with_negatives(
    confidences: np.ndarray,
    similarities: np.ndarray,
    correct: np.ndarray,
    negative_confidences: np.ndarray,
    negative_similarities: np.ndarray,
    target_recall: float,
    n_labels: int,
) -> tuple[float, float, dict]:
    """The two thresholds that reject the most negatives while keeping ``target_recall``.

    Args:
        confidences, similarities: of the held-out in-scope turns.
        correct: which held-out turns the classifier got right (only those are kept).
        negative_confidences, negative_similarities: of the operator's out-of-scope examples.
        target_recall: share of the correct held-out turns both tests together keep.
        n_labels: number of intents (the confidence threshold is at least 1 / n_labels).

    Returns ``(threshold, similarity_threshold, report)``; ``report`` records the chosen share,
    the share of negatives rejected, and that of the even split for comparison.
    """
    kept_conf, kept_sim = confidences[correct], similarities[correct & (similarities > -1.0)]
    if len(kept_conf) == 0 or len(kept_sim) == 0 or len(negative_confidences) == 0:
        raise ValueError("calibration needs correctly classified held-out turns and out-of-scope examples")
    budget = 1.0 - target_recall
    floor = 1.0 / n_labels
    candidates = []
    for share in SHARES:
        # rounded down as stored in version.json, so that they keep at least what they are meant to
        threshold = math.floor(min(max(_keep_quantile(kept_conf, 1.0 - share * budget), floor), 0.9) * 1e4) / 1e4
        similarity = math.floor(_keep_quantile(kept_sim, 1.0 - (1.0 - share) * budget) * 1e4) / 1e4
        rejected = float(np.mean((negative_confidences < threshold) | (negative_similarities < similarity)))
        kept = float(np.mean((kept_conf >= threshold) & (similarities[correct] >= similarity)))
        # ties: the split nearest the even one, which generalises as the default does
        candidates.append((rejected, -abs(share - 0.5), share, threshold, similarity, kept))
    even = next(c for c in candidates if c[2] == 0.5)
    best = max(candidates)
    report = {
        "n": int(len(negative_confidences)),
        "confidence_share": best[2],
        "rejected": round(best[0], 4),
        "rejected_even_split": round(even[0], 4),
        "kept_correct": round(best[5], 4),
    }
    return best[3], best[4], report


def calibrate_threshold(confidences: np.ndarray, correct: np.ndarray, target_recall: float, n_labels: int) -> float:
    """The confidence below which a turn counts as not understood: the highest threshold that
    still keeps ``target_recall`` of the correctly classified held-out turns."""
    floor = 1.0 / n_labels
    kept = confidences[correct]
    if len(kept) == 0:
        return round(max(floor, 0.3), 4)
    threshold = float(np.quantile(kept, 1.0 - target_recall, method="lower"))
    return round(min(max(threshold, floor), 0.9), 4)


def calibrate_similarity(similarities: np.ndarray, correct: np.ndarray, target_recall: float) -> float:
    """The similarity to the nearest training example under which a turn is out of scope:
    the highest value that keeps ``target_recall`` of the correctly classified held-out turns."""
    kept = similarities[correct & (similarities > -1.0)]
    if len(kept) == 0:
        return -1.0  # nothing to calibrate on: the test is off
    return round(float(np.quantile(kept, 1.0 - target_recall, method="lower")), 4)


@dataclass
class Calibration:
    """Where the thresholds were calibrated, the accuracy there, and how the operator's
    out-of-scope examples split the budget (None without them)."""

    on: str
    val_accuracy: float
    steered: dict | None


def calibrate(
    classifier: IntentClassifier,
    val_texts: list[str],
    val_targets: np.ndarray,
    train_texts: list[str],
    train_targets: np.ndarray,
    negatives: list[str],
    args: TrainingArgs,
) -> Calibration:
    """Sets the classifier's two out-of-scope thresholds (softmax confidence, similarity to the
    nearest training example of the predicted intent) on the validation split, or on the
    training set leave-one-out when there is none. Each test keeps half the allowed loss of
    correct turns, so together they keep ``target_recall``; the operator's ``oos`` examples
    (``negatives``), when given, choose how that budget is split between the two."""
    per_test_recall = 1.0 - (1.0 - args.target_recall) / 2
    if val_texts:
        probabilities, similarities = classifier.scores(val_texts)
        val_accuracy = float(np.mean(probabilities.argmax(1) == val_targets))
        correct = probabilities.argmax(1) == val_targets
        calibrated_on = "validation"
    else:  # too few examples to hold any out: leave-one-out similarities on the training set
        probabilities = classifier.predict_proba(train_texts)
        targets = torch.as_tensor(probabilities.argmax(1), device=classifier.encoder.device)
        queries = classifier.support.embeddings[: len(train_texts)]  # the support starts with the training set
        similarities = classifier.support.nearest(queries, targets, exclude_self=True).cpu().numpy()
        val_accuracy, correct = float("nan"), probabilities.argmax(1) == train_targets
        calibrated_on = "training (no validation split: too few examples)"
    n_labels = len(classifier.labels)
    classifier.threshold = calibrate_threshold(probabilities.max(1), correct, per_test_recall, n_labels)
    classifier.similarity_threshold = calibrate_similarity(similarities, correct, per_test_recall)
    steered = None
    if negatives and correct.any() and (similarities[correct] > -1.0).any():
        negative_probabilities, negative_similarities = classifier.scores(negatives)
        classifier.threshold, classifier.similarity_threshold, steered = calibrate_with_negatives(
            probabilities.max(1),
            similarities,
            correct,
            negative_probabilities.max(1),
            negative_similarities,
            args.target_recall,
            n_labels,
        )
    return Calibration(calibrated_on, val_accuracy, steered)
