"""How FAQ results are ordered and what a result reports: :func:`fuse` and :class:`FaqHit`.

Why a module of its own: the fused score is the one ranking decision of the hybrid search,
with its measured weights, apart from how ``retrieval.index`` finds the candidates (FAISS
rows, BM25 postings) and puts entries naming a customer's code first.

Limits: the weights were chosen on three data sets (see :func:`fuse`); a score is comparable
across queries only as ``FaqHit.score`` (a cosine), not as ``fused``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANSWER_WEIGHT = 0.05  # fuse(): weight of the weaker of (best phrasing, answer) cosine
LEXICAL_WEIGHT = 0.05  # fuse(): weight of the share of the query's lexical weight an entry matches


def fuse(phrasing: np.ndarray, answer: np.ndarray, lexical_share: np.ndarray) -> np.ndarray:
    """The score that orders FAQ results: the entry's best cosine (closest question phrasing
    or its answer), plus :data:`ANSWER_WEIGHT` times the weaker of the two (an entry whose
    question *and* answer both fit beats one with a single close phrasing), plus
    :data:`LEXICAL_WEIGHT` times the share of the query's IDF mass its best BM25 row matches.

    Why not rank fusion: equal-weight reciprocal rank fusion let BM25's ranking, weak on
    paraphrases, outvote a clear semantic match (hybrid hit@1 0.419 vs 0.487 for dense alone
    on CovidFAQ). Here lexical evidence is bounded (at most about +0.05 cosine), so it settles
    near ties (rare product names, exact wording) and cannot overturn a clear dense winner.
    The weights are the largest of 0, 0.05 and 0.1 for which no 300-query slice of our own
    FAQ, CovidFAQ and BANKING77-as-FAQ scored below dense search alone (0.1 for both lost a
    few queries on two CovidFAQ slices); ``benchmarks/quality.py`` reports the whole sets.
    Bare codes (``HG-4471``) are handled apart: an entry naming the code is put first.
    """
    return np.maximum(phrasing, answer) + ANSWER_WEIGHT * np.minimum(phrasing, answer) + LEXICAL_WEIGHT * lexical_share


@dataclass(frozen=True)
class FaqHit:
    """One search result. ``score`` is the cosine similarity of the query to the entry's
    closest row, a phrasing or the answer (comparable across queries); ``fused`` is the score
    that orders the results (:func:`fuse`); ``lexical`` the BM25 score of its best row;
    ``exact`` is true when the query shares a code (``HG-4471``) with it."""

    faq_id: str
    question: str
    answer: str
    score: float
    fused: float
    lexical: float
    exact: bool
    matched: str
    category: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)
