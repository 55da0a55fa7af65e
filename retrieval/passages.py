"""Searching document passages and picking the sentences that answer: :class:`PassageIndex`.

Why the FAQ's index: a passage is searched with the same machinery as an FAQ entry (FAISS over
sentence embeddings, BM25 as bounded lexical evidence, incremental updates that embed only new
texts), so each passage is made an entry whose *answer* row is the passage's text and whose
*phrasing* rows are its windows of :data:`WINDOW` consecutive sentences. A passage is then scored
by its own cosine with the question and its best window's (weight :data:`WINDOW_WEIGHT`), plus
the lexical evidence: the passage keeps the topic, the window rewards the one place that says
what was asked. Measured (``benchmarks/quality.py --only docs``, hit@1 against dense search over
the passages' text): single sentences as rows won on our own FAQ's questions and lost clearly on
CovidFAQ's vague ones (0.304 against 0.407); windows of three cost CovidFAQ 0.003 with MiniLM
(4 questions of 1,387; hit@5 and MRR higher) and gained 0.033 there with multilingual-e5, and
kept most of the gain on our FAQs (+0.108 English, +0.078 Chinese).

Thresholds (:func:`calibrate_passages`): a question must match its passage better than a
sentence of the documents typically matches the best passage that is *not* its own (the median
over a fixed sample). The FAQ's calibration (unrelated rows) does not carry over: a help centre
is on one topic, so its passages are alike, and a question scores lower against a paragraph
than against another question.

Answering is extractive (:func:`choose_sentences`): the passage's sentences are embedded with
the same encoder, the one closest to the question is kept, and the next closest ones with it
while they stay near it and the answer stays short; they are shown in document order. Nothing is
generated, so every word shown is the document's.

Limits: one vector per passage and per window (cut at the model's maximum length:
``retrieval.documents`` bounds passages below it); the sentence choice knows no coreference
("it", "this fee") beyond keeping document order; the calibration needs a few passages (below
:data:`MIN_CALIBRATION_SENTENCES` sampled sentences it falls back to the FAQ's).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from retrieval.calibration import FaqThresholds
from retrieval.documents import Document, Passage, sentences
from retrieval.encoder import Encoder
from retrieval.faq import FaqEntry
from retrieval.index import AUTO, FaqIndex
from retrieval.ranking import fuse

WINDOW = 3  # sentences per phrasing row of a passage
WINDOW_WEIGHT = 0.5  # a passage's score: (its cosine + this x its best window's) / (1 + this)
CALIBRATION_SENTENCES = 300  # sentences sampled to calibrate the thresholds (a second or two to embed)
MIN_CALIBRATION_SENTENCES = 20
THRESHOLDS_FILE = "passage_thresholds.json"
MAX_SENTENCES = 3  # sentences an answer shows at most
MAX_ANSWER_CHARS = 400  # ... and characters, unless the best sentence alone is longer
NEAR_BEST = 0.08  # a further sentence is kept while its cosine is within this of the best one's


@dataclass(frozen=True)
class PassageHit:
    """One search result: the passage, its score (``score``: the weighted mean of its cosine and
    its best window's with the query, on the cosine scale, comparable across queries like
    ``FaqHit.score``) and the score that ordered the results (``fused``: with lexical evidence)."""

    passage: Passage
    document: Document
    score: float
    fused: float

    @property
    def label(self) -> str:
        return self.passage.label


def passage_entry(passage: Passage) -> FaqEntry:
    """The FAQ-shaped entry a passage is indexed as: its sentence windows, then its text."""
    units = sentences(passage.text) or [passage.text]
    windows = [" ".join(units[i : i + WINDOW]) for i in range(max(1, len(units) - WINDOW + 1))]
    return FaqEntry(id=passage.id, question=windows[0], answer=passage.text, alternatives=tuple(windows[1:]))


def calibrate_passages(index: PassageIndex, sample: int = CALIBRATION_SENTENCES, seed: int = 0) -> FaqThresholds:
    """The answer and suggestion thresholds of ``index`` (see the module's docstring): answer at
    the median score of a sampled sentence's best passage other than its own; suggest halfway
    down to the median score of a typical other passage (the middle of its 20 closest others).
    Deterministic for given documents."""
    units = [(u, p.id) for d in index.documents for p in d.passages for u in sentences(p.text) if len(u) >= 20]
    if len({pid for _, pid in units}) < 2 or len(units) < MIN_CALIBRATION_SENTENCES:
        return index.index.thresholds
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(units), min(sample, len(units)), replace=False))
    vectors = index.encoder.encode([units[i][0] for i in picked])
    best, typical = [], []
    for i, vector in zip(picked, vectors):
        others = [h.score for h in index.search_embedded(units[i][0], vector, k=20) if h.passage.id != units[i][1]]
        if others:
            best.append(others[0])
            typical.append(others[len(others) // 2])
    answer = float(np.median(best))
    unrelated = float(np.median(typical))
    return FaqThresholds(
        answer=round(answer, 4),
        suggest=round((answer + unrelated) / 2, 4),
        unrelated=round(unrelated, 4),
        unrelated_high=round(float(np.percentile(best, 90)), 4),
        pairs=len(best),
    )


class PassageIndex:
    """The passages of every imported document, searchable. Never changed after construction
    (updates return a new one), so searches may run while the next one is built."""

    def __init__(self, documents: list[Document], index: FaqIndex) -> None:
        self.documents = list(documents)
        self.index = index
        self._passages = {p.id: (p, d) for d in self.documents for p in d.passages}
        self._position = {e.id: i for i, e in enumerate(index.entries)}
        missing = [e.id for e in index.entries if e.id not in self._passages]
        if missing or len(index.entries) != len(self._passages):
            raise ValueError(f"the passage index does not match the documents (e.g. {missing[:3]})")

    @staticmethod
    def entries(documents: list[Document]) -> list[FaqEntry]:
        return [passage_entry(p) for d in documents for p in d.passages]

    @classmethod
    def build(
        cls, documents: list[Document], encoder: Encoder, index_factory: str | None = AUTO, show_progress: bool = False
    ) -> PassageIndex:
        built = cls(documents, FaqIndex.build(cls.entries(documents), encoder, index_factory, show_progress))
        _ = built.thresholds  # calibrated now, by whoever builds it, not by the first customer's question
        return built

    def updated(self, documents: list[Document], show_progress: bool = False) -> PassageIndex:
        """The index of ``documents`` (all of them); passages whose text this one holds are not embedded again."""
        new = PassageIndex(documents, self.index.updated(self.entries(documents), show_progress))
        _ = new.thresholds  # calibrated now (see build)
        return new

    @property
    def encoder(self) -> Encoder:
        return self.index.encoder

    @property
    def embedded_rows(self) -> int:
        return self.index.embedded_rows

    @cached_property
    def thresholds(self) -> FaqThresholds:
        """Answer and suggestion thresholds (:func:`calibrate_passages`), computed once (saved with the index)."""
        return calibrate_passages(self)

    def __len__(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: str) -> tuple[Passage, Document] | None:
        return self._passages.get(passage_id)

    def search_embedded(self, text: str, query: np.ndarray, k: int = 5) -> list[PassageHit]:
        """The ``k`` best passages for ``text`` (embedded as ``query``), best first: the FAQ
        search's candidates (dense rows and BM25), re-scored as the module's docstring says."""
        index = self.index
        hits = index.search_embedded(text, query, max(50, 10 * k))
        if not hits:
            return []
        entries = np.array([self._position[h.faq_id] for h in hits])
        window, passage, _ = index.entry_cosines(np.asarray(query, np.float32), entries)
        lexical = np.array([h.fused for h in hits]) - fuse(window, passage, np.zeros(len(hits)))
        score = (passage + WINDOW_WEIGHT * window) / (1 + WINDOW_WEIGHT)
        fused = score + lexical
        return [
            PassageHit(
                *self._passages[hits[i].faq_id], score=round(float(score[i]), 4), fused=round(float(fused[i]), 5)
            )
            for i in np.argsort(-fused, kind="stable")[:k]
        ]

    def search(self, text: str, k: int = 5) -> list[PassageHit]:
        if not text or not text.strip():
            return []
        return self.search_embedded(text, self.encoder.encode([text])[0], k)

    def save(self, directory: str | os.PathLike) -> Path:
        folder = self.index.save(directory)
        (folder / THRESHOLDS_FILE).write_text(json.dumps(self.thresholds.to_dict()), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, directory: str | os.PathLike, encoder: Encoder, documents: list[Document]) -> PassageIndex:
        """Loads a saved index of ``documents``; ``IndexMismatchError`` (or ``ValueError``) when it
        was made for other documents or by another encoder."""
        loaded = cls(documents, FaqIndex.load(directory, encoder))
        try:
            saved = json.loads((Path(directory) / THRESHOLDS_FILE).read_text(encoding="utf-8"))
            loaded.__dict__["thresholds"] = FaqThresholds(**saved)  # the cached_property's value
        except (OSError, ValueError, TypeError):
            pass  # calibrated again on first use
        return loaded


def answers(hits: list[PassageHit], answer_at: float, suggest_at: float) -> bool:
    """Whether the best of ``hits`` (best first) answers: its score reaches the answer threshold,
    or it reaches the suggestion threshold and stands out from the next passage by as much as the
    two thresholds lie apart. The second way serves a question that one passage of a few alike
    (a small document on one topic: the calibration's typical match is high) clearly answers."""
    if not hits:
        return False
    top = hits[0].score
    if top >= answer_at:
        return True
    runner_up = hits[1].score if len(hits) > 1 else suggest_at
    return top >= suggest_at and top - runner_up >= answer_at - suggest_at


def choose_sentences(
    query: np.ndarray,
    units: list[str],
    vectors: np.ndarray,
    max_sentences: int = MAX_SENTENCES,
    max_chars: int = MAX_ANSWER_CHARS,
) -> tuple[int, ...]:
    """Which of a passage's sentences (``units``, embedded as unit ``vectors``) answer the
    embedded ``query``, as positions in document order: the closest one, then the next closest
    while within :data:`NEAR_BEST` of it, at most ``max_sentences`` and ``max_chars`` (the
    closest one is kept whatever its length)."""
    if len(units) <= 1:
        return tuple(range(len(units)))
    cosines = np.asarray(vectors) @ query
    order = np.argsort(-cosines, kind="stable")
    chosen = [int(order[0])]
    length = len(units[chosen[0]])
    for i in order[1:max_sentences]:
        if cosines[i] < cosines[order[0]] - NEAR_BEST or length + 1 + len(units[i]) > max_chars:
            break
        chosen.append(int(i))
        length += 1 + len(units[i])
    return tuple(sorted(chosen))


def leading_sentences(
    units: list[str], max_sentences: int = MAX_SENTENCES, max_chars: int = MAX_ANSWER_CHARS
) -> tuple[int, ...]:
    """The passage's first sentences within the same bounds: what is shown when a customer picks
    a passage from suggestions (there is no question to choose by)."""
    chosen, length = [], 0
    for i, unit in enumerate(units[:max_sentences]):
        if chosen and length + 1 + len(unit) > max_chars:
            break
        chosen.append(i)
        length += 1 + len(unit)
    return tuple(chosen)
