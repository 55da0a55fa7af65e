"""FAQ answer and suggestion thresholds, calibrated per embedding model and per FAQ.

A cosine similarity means different things to different models: all-MiniLM-L6-v2 puts two
unrelated FAQ questions near 0.1, a 3-layer cut of it near 0.6, and multilingual-e5 puts
unrelated Chinese sentences at 0.80-0.86. A fixed "answer above 0.55" answers everything
with the latter two. So the thresholds are placed on a scale that starts at what *this*
model gives two rows of *different* entries of *this* FAQ (the median over a fixed sample
of row pairs) and ends at 1.0:

    threshold = unrelated + (1 - unrelated) * position

with :data:`ANSWER_POSITION` and :data:`SUGGEST_POSITION` the places, on that scale, of the
thresholds that were tuned by hand for MiniLM on our own FAQ (0.55 and 0.35 there). The
answer threshold never goes below the 99th percentile of the unrelated pairs, so at most
about 1 in 100 unrelated rows reaches it.

Limits: the reference is the FAQ's own rows, so an FAQ on one narrow topic (its entries
alike) gets higher thresholds than a broad one: it answers directly less often and offers
suggestions instead, which is what its near-duplicate entries call for. An FAQ of a single
entry has no unrelated pairs: the scale then starts at 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

ANSWER_POSITION = 0.5  # MiniLM on assets/faq.csv: unrelated 0.10 -> answer at 0.55
SUGGEST_POSITION = 0.28  # ... and suggestions from 0.35
SAMPLE_ROWS = 2000  # rows sampled (fixed seed): 2000^2 pairs cost a few milliseconds at any FAQ size
HIGH_QUANTILE = 0.99


@dataclass(frozen=True)
class FaqThresholds:
    """Cosine thresholds of FAQ search: answer directly at ``answer`` or above, offer an entry
    as a suggestion at ``suggest`` or above; ``unrelated`` and ``unrelated_high`` are the
    median and 99th percentile cosine of two rows of different entries, over ``pairs`` pairs."""

    answer: float
    suggest: float
    unrelated: float
    unrelated_high: float
    pairs: int

    def to_dict(self) -> dict:
        return asdict(self)


def calibrate_faq(vectors: np.ndarray, row_entry: np.ndarray, seed: int = 0) -> FaqThresholds:
    """Thresholds for an FAQ whose unit row vectors are ``vectors`` (row ``i`` belongs to entry
    ``row_entry[i]``); deterministic for a given FAQ and model."""
    rows = len(vectors)
    picked = np.arange(rows)
    if rows > SAMPLE_ROWS:
        picked = np.sort(np.random.default_rng(seed).choice(rows, SAMPLE_ROWS, replace=False))
    sample, owners = vectors[picked], row_entry[picked]
    cosines = sample @ sample.T
    unrelated_pairs = cosines[np.triu(owners[:, None] != owners[None, :], k=1)]
    if len(unrelated_pairs) == 0:
        unrelated = high = 0.0
    else:
        unrelated = float(np.median(unrelated_pairs))
        high = float(np.quantile(unrelated_pairs, HIGH_QUANTILE))
    span = 1.0 - unrelated
    answer = max(unrelated + span * ANSWER_POSITION, high)
    suggest = min(unrelated + span * SUGGEST_POSITION, answer)
    return FaqThresholds(
        answer=round(answer, 4),
        suggest=round(suggest, 4),
        unrelated=round(unrelated, 4),
        unrelated_high=round(high, 4),
        pairs=int(len(unrelated_pairs)),
    )
