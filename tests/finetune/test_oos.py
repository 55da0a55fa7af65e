"""Out-of-scope calibration with operator examples (``finetune.oos``): synthetic scores, no model."""

from __future__ import annotations

import numpy as np
import pytest

from finetune.oos import calibrate_with_negatives


@pytest.fixture
def held_out():
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.5, 1.0, 400)
    similarities = rng.uniform(0.4, 1.0, 400)
    correct = rng.uniform(size=400) < 0.9
    return confidences, similarities, correct


@pytest.mark.parametrize(
    ("negatives", "share"),
    [
        # confidently wrong but far from every example: the similarity test should take the budget
        ((np.full(50, 0.99), np.linspace(0.40, 0.45, 50)), lambda s: s < 0.5),
        # near some example but unsure: the confidence test should take it
        ((np.linspace(0.50, 0.53, 50), np.full(50, 0.95)), lambda s: s > 0.5),
        # caught by neither: the even split stays (ties go to it)
        ((np.full(50, 0.99), np.full(50, 0.99)), lambda s: s == 0.5),
    ],
)
def test_the_budget_goes_where_the_negatives_are_rejected(held_out, negatives, share):
    confidences, similarities, correct = held_out
    threshold, similarity, report = calibrate_with_negatives(
        confidences, similarities, correct, *negatives, target_recall=0.95, n_labels=30
    )
    assert share(report["confidence_share"]), report
    assert report["rejected"] >= report["rejected_even_split"]
    kept = np.mean((confidences[correct] >= threshold) & (similarities[correct] >= similarity))
    assert kept >= 0.95 - 0.01 and report["kept_correct"] == pytest.approx(kept, abs=1e-4)


def test_without_negatives_it_refuses(held_out):
    confidences, similarities, correct = held_out
    with pytest.raises(ValueError, match="out-of-scope examples"):
        calibrate_with_negatives(confidences, similarities, correct, np.array([]), np.array([]), 0.95, 30)
