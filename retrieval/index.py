"""Hybrid FAQ search: FAISS over sentence embeddings, fused by rank with BM25.

Dense search understands paraphrases ("my parcel never came"); BM25 keeps exact product
names and codes ("HG-4471") that embeddings blur. Results are merged with reciprocal rank
fusion, so neither score scale has to be calibrated against the other. Every phrasing of an
entry (its question and alternatives) is a row in both indexes and points at the entry.

Limits: the index keeps every vector in memory; entries are replaced by building a new
index (fast for thousands of entries), not edited in place.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np

from retrieval.atomic import atomic_directory
from retrieval.encoder import Encoder
from retrieval.faq import FaqEntry, faq_hash, validate_faq

SCHEMA_VERSION = 1
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al., 2009)
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with i me my we our you your do does can could would should how what "
    "when where which who why am have has had please hi hello".split()
)
_WORD = re.compile(r"[^\W_]+(?:[-_./][^\W_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased words for BM25: codes like ``hg-4471`` stay whole and also split into parts;
    CJK runs become character unigrams and bigrams (they have no spaces between words)."""
    tokens: list[str] = []
    for word in _WORD.findall(text.casefold()):
        if _CJK.search(word):
            chars = [c for c in word if not c.isspace()]
            tokens += chars + [a + b for a, b in zip(chars, chars[1:])]
            continue
        if word not in STOPWORDS:
            tokens.append(word)
        parts = re.split(r"[-_./]", word)
        if len(parts) > 1:
            tokens += [p for p in parts if p and p not in STOPWORDS]
    return tokens


def _is_code(token: str) -> bool:
    """Order numbers, SKUs, model numbers: a token with digits in it, at least 3 long."""
    return len(token) >= 3 and any(c.isdigit() for c in token)


def _row_texts(entry: FaqEntry) -> tuple[str, ...]:
    """What is indexed for an entry: every question phrasing, then the answer (customers
    often word a question like its answer: "can I pay with PayPal" vs "we accept PayPal")."""
    return (*entry.phrasings, entry.answer)


class IndexMismatchError(ValueError):
    """A saved index does not belong to this embedder or this FAQ."""


@dataclass(frozen=True)
class FaqHit:
    """One search result. ``score`` is the cosine similarity of the query to the entry's
    closest phrasing (comparable across queries); ``fused`` is the rank-fusion score that
    orders the results; ``exact`` is true when the query shares a code (``HG-4471``) with it."""

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


class FaqIndex:
    """Searchable FAQ. Build with :meth:`build`, persist with :meth:`save` / :meth:`load`."""

    def __init__(
        self,
        entries: list[FaqEntry],
        encoder: Encoder,
        vectors: np.ndarray,
        index: faiss.Index,
        index_factory: str = "Flat",
    ) -> None:
        self.entries = list(entries)
        self.encoder = encoder
        self.vectors = vectors
        self.index = index
        self.index_factory = index_factory
        self.faq_hash = faq_hash(self.entries)
        self.row_entry: list[int] = []
        rows: list[str] = []
        for position, entry in enumerate(self.entries):
            for text in _row_texts(entry):
                self.row_entry.append(position)
                rows.append(text)
        self.row_entry_array = np.asarray(self.row_entry, dtype=np.int64)
        if index.ntotal != len(rows):
            raise IndexMismatchError(f"the FAISS index has {index.ntotal} rows, the FAQ needs {len(rows)}")
        self._entry_tokens = [
            {t for p in e.phrasings + (e.answer,) for t in lexical_tokens(p) if _is_code(t)} for e in self.entries
        ]
        self.bm25 = bm25s.BM25()
        corpus = [lexical_tokens(text) or ["<empty>"] for text in rows]
        self.bm25.index(corpus, show_progress=False)
        self._vocab = self.bm25.vocab_dict

    # -- building -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        entries: list[FaqEntry],
        encoder: Encoder,
        index_factory: str = "Flat",
        show_progress: bool = False,
    ) -> FaqIndex:
        """Embeds every phrasing and builds the FAISS index described by ``index_factory``
        (a FAISS factory string: ``Flat`` for exact search, ``HNSW32,Flat`` for large FAQs)."""
        if not entries:
            raise ValueError("cannot build an index over an empty FAQ")
        texts = [text for e in entries for text in _row_texts(e)]
        vectors = encoder.encode(texts, show_progress=show_progress)
        index = faiss.index_factory(encoder.dimension, index_factory, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.train(vectors)
        index.add(vectors)
        return cls(entries, encoder, vectors, index, index_factory)

    def __len__(self) -> int:
        return len(self.entries)

    # -- searching ------------------------------------------------------------------------
    def search(self, text: str, k: int = 5) -> list[FaqHit]:
        """The ``k`` best entries for ``text``, best first (fewer if the FAQ is smaller)."""
        if not text or not text.strip():
            return []
        query = self.encoder.encode([text])
        return self.search_embedded(text, query[0], k)

    def search_embedded(self, text: str, query: np.ndarray, k: int = 5) -> list[FaqHit]:
        """Like :meth:`search` for a query already embedded (lets callers batch encoding)."""
        depth = min(self.index.ntotal, max(50, 10 * k))
        scores, rows = self.index.search(query.reshape(1, -1).astype(np.float32), depth)
        dense_rank: dict[int, int] = {}
        dense_score: dict[int, float] = {}
        for row, score in zip(rows[0], scores[0]):
            if row < 0:
                continue
            entry = int(self.row_entry_array[row])
            if entry not in dense_rank:
                dense_rank[entry] = len(dense_rank)
                dense_score[entry] = float(score)

        query_tokens = [t for t in lexical_tokens(text) if t in self._vocab]
        lexical_rank: dict[int, int] = {}
        lexical_score: dict[int, float] = {}
        if query_tokens:
            bm25 = self.bm25.get_scores(query_tokens)
            top = np.argsort(-bm25, kind="stable")[:depth]
            for row in top:
                if bm25[row] <= 0:
                    break
                entry = int(self.row_entry_array[row])
                if entry not in lexical_rank:
                    lexical_rank[entry] = len(lexical_rank)
                    lexical_score[entry] = float(bm25[row])

        fused: dict[int, float] = {}
        for ranks in (dense_rank, lexical_rank):
            for entry, rank in ranks.items():
                fused[entry] = fused.get(entry, 0.0) + 1.0 / (RRF_K + rank + 1)
        query_codes = {t for t in lexical_tokens(text) if _is_code(t)}
        exact = {e for e in fused if query_codes & self._entry_tokens[e]}
        hits = []
        # an entry naming the exact code the customer typed (a SKU) comes first
        for entry in sorted(fused, key=lambda e: (e not in exact, -fused[e]))[:k]:
            if entry not in dense_score:
                dense_score[entry] = self._cosine(query, entry)
            item = self.entries[entry]
            hits.append(
                FaqHit(
                    faq_id=item.id,
                    question=item.question,
                    answer=item.answer,
                    score=round(dense_score[entry], 4),
                    fused=round(fused[entry], 5),
                    lexical=round(lexical_score.get(entry, 0.0), 3),
                    exact=entry in exact,
                    matched=self._best_phrasing(query, entry),
                    category=item.category,
                )
            )
        return hits

    def _rows_of(self, entry: int) -> np.ndarray:
        return np.flatnonzero(self.row_entry_array == entry)

    def _cosine(self, query: np.ndarray, entry: int) -> float:
        return float(np.max(self.vectors[self._rows_of(entry)] @ query))

    def _best_phrasing(self, query: np.ndarray, entry: int) -> str:
        rows = self._rows_of(entry)[:-1]  # the last row is the answer
        best = rows[int(np.argmax(self.vectors[rows] @ query))]
        return self.entries[entry].phrasings[int(best - rows[0])]

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Writes ``index.faiss``, ``faq.json`` and ``meta.json``; the folder appears whole
        or not at all (written beside it, then renamed into place)."""
        with atomic_directory(directory) as tmp:
            faiss.write_index(self.index, str(tmp / "index.faiss"))
            (tmp / "faq.json").write_text(
                json.dumps([e.to_dict() for e in self.entries], ensure_ascii=False, indent=1), encoding="utf-8"
            )
            meta = {
                "schema_version": SCHEMA_VERSION,
                "embedder": self.encoder.describe(),
                "faq_hash": self.faq_hash,
                "index_factory": self.index_factory,
                "entries": len(self.entries),
                "rows": int(self.index.ntotal),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike, encoder: Encoder) -> FaqIndex:
        """Loads a saved index; refuses one made by another embedder or for other data."""
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.is_file():
            raise IndexMismatchError(f"{directory} holds no saved FAQ index (meta.json is missing)")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"{directory} was saved with index schema {meta.get('schema_version')}, this version reads {SCHEMA_VERSION}"
            )
        saved, current = meta["embedder"], encoder.describe()
        if saved["fingerprint"] != current["fingerprint"] or saved["dimension"] != current["dimension"]:
            raise IndexMismatchError(
                f"{directory} was built with the embedder '{saved['name']}' ({saved['fingerprint']}, "
                f"{saved['dimension']} dimensions), but the configured model is '{current['name']}' "
                f"({current['fingerprint']}, {current['dimension']} dimensions); rebuild the index"
            )
        records = json.loads((directory / "faq.json").read_text(encoding="utf-8"))
        entries = validate_faq(list(enumerate(records, start=1)), str(directory / "faq.json"))
        if faq_hash(entries) != meta["faq_hash"]:
            raise IndexMismatchError(f"{directory}/faq.json does not match the FAQ the index was built from")
        index = faiss.read_index(str(directory / "index.faiss"))
        if index.d != current["dimension"]:
            raise IndexMismatchError(
                f"{directory}/index.faiss has {index.d} dimensions, the model {current['dimension']}"
            )
        vectors = index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
        return cls(entries, encoder, vectors, index, meta.get("index_factory", "Flat"))
