"""Hybrid FAQ search: FAISS over sentence embeddings, with BM25 as bounded lexical evidence.

Dense search understands paraphrases ("my parcel never came"); BM25 keeps exact product
names and codes ("HG-4471") that embeddings blur. The two are combined by :func:`fuse`: the
cosine leads and the lexical match adds a bounded amount, so BM25 settles near ties but
never outvotes a clear semantic match. Every phrasing of an entry (its question and
alternatives) and its answer is a row in both indexes and points at the entry. The tokenizer
and BM25 live in ``retrieval.lexical``, :func:`fuse` and :class:`FaqHit` in ``retrieval.ranking``,
the FAISS structure in ``retrieval.vectors``, what an update reuses in ``retrieval.index_update``.

Size: the FAISS index is chosen by the number of rows unless a factory string is configured.
Below :data:`APPROXIMATE_FROM_ROWS` it is exact (``Flat``: every row scored); from there on
it is a graph index (:func:`choose_index_factory`), whose candidates are re-scored exactly
with the stored row vectors, so scores stay true cosines. BM25 is exact while every query
token occurs in at most :data:`LEXICAL_FULL_SCAN_ROWS` rows; a token in more rows than that
(``order`` in a million-row FAQ) adds its score only to rows that a rarer token or the
dense search already found, instead of scanning its whole posting list.

Updates: :meth:`FaqIndex.updated` (and :meth:`~FaqIndex.added`, :meth:`~FaqIndex.removed`)
return a *new* index and leave the serving one untouched, so a caller swaps one reference.
Only texts the index has not embedded before are encoded; the other vectors are reused.

Limits: every row vector is kept in memory (4 bytes x dimension per row, saved beside the
index); BM25 and an exact index are rebuilt from the stored vectors on every update (fast,
no re-embedding), and a graph index is appended to while under a quarter of it is retired
rows, then rebuilt.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np

from retrieval.calibration import FaqThresholds, calibrate_faq
from retrieval.encoder import Encoder
from retrieval.faq import FaqEntry, faq_hash
from retrieval.index_files import IndexMismatchError, SavedIndex, read_index, write_index
from retrieval.index_update import appended_index, match_rows, row_vectors
from retrieval.lexical import Bm25, is_code, lexical_tokens, segments
from retrieval.ranking import FaqHit, fuse
from retrieval.vectors import (
    APPROXIMATE_FROM_ROWS,
    can_append,
    choose_index_factory,
    filtering_params,
    is_exact,
    new_faiss_index,
    tune,
)

CODE_MAX_ENTRIES = 3  # a code typed by the customer puts first the entries naming it, if at most this many
AUTO = "auto"
LEXICAL_FULL_SCAN_ROWS = 50_000  # longer posting lists only score rows found otherwise


def _row_texts(entry: FaqEntry) -> tuple[str, ...]:
    """What is indexed for an entry: every question phrasing, then the answer (customers
    often word a question like its answer: "can I pay with PayPal" vs "we accept PayPal")."""
    return (*entry.phrasings, entry.answer)


class FaqIndex:
    """Searchable FAQ. Build with :meth:`build`, change with :meth:`updated`, persist with
    :meth:`save` / :meth:`load`. An instance is never modified after construction, so
    searches may run in several threads while an update builds the next instance.

    Args:
        entries: the FAQ; rows are each entry's phrasings and then its answer, in order.
        encoder: embeds queries (and new rows on update).
        vectors: one L2-normalised float32 vector per row.
        index: a FAISS index over the vectors (inner product).
        index_factory: the factory string ``index`` was made with.
        factory_setting: what was asked for: ``auto`` (chosen by size) or a factory string.
        faiss_ids: the FAISS id of each row (default: the row number). Ids of rows removed
            by an update that appended to a graph index are "retired" and filtered out.
        approximate_from: rows from which ``auto`` chooses an approximate index.
        lexical: the BM25 index of the rows (default: made from the entries).
    """

    def __init__(
        self,
        entries: list[FaqEntry],
        encoder: Encoder,
        vectors: np.ndarray,
        index: faiss.Index,
        index_factory: str = "Flat",
        factory_setting: str | None = None,
        faiss_ids: np.ndarray | None = None,
        approximate_from: int = APPROXIMATE_FROM_ROWS,
        lexical: Bm25 | None = None,
    ) -> None:
        self.entries = list(entries)
        self.encoder = encoder
        self.vectors = vectors
        self.index = index
        self.index_factory = index_factory
        self.factory_setting = factory_setting or index_factory
        self.approximate_from = approximate_from
        self.faq_hash = faq_hash(self.entries)
        self.embedded_rows = 0  # rows encoded to make this instance (set by build and updated)
        counts = np.fromiter((len(e.alternatives) + 2 for e in self.entries), np.int64, len(self.entries))
        self.entry_start = np.concatenate([[0], np.cumsum(counts)])
        self.row_entry = np.repeat(np.arange(len(self.entries), dtype=np.int64), counts)
        rows = len(self.row_entry)
        if vectors.shape != (rows, index.d):
            raise IndexMismatchError(
                f"{vectors.shape[0]} row vectors of {vectors.shape[1]} dimensions, the FAQ needs {rows} of {index.d}"
            )
        self.faiss_ids = np.arange(rows, dtype=np.int64) if faiss_ids is None else np.asarray(faiss_ids, np.int64)
        if len(self.faiss_ids) != rows or (rows and (self.faiss_ids.min() < 0 or self.faiss_ids.max() >= index.ntotal)):
            raise IndexMismatchError(f"the FAISS index has {index.ntotal} rows, the FAQ needs {rows}")
        self.row_of_id = np.full(index.ntotal, -1, dtype=np.int64)
        self.row_of_id[self.faiss_ids] = np.arange(rows)
        self.retired = int(index.ntotal - rows)
        self.exact_index = is_exact(index)
        self._search_params = filtering_params(index, self.faiss_ids) if self.retired else None

        if lexical is None:
            lexical = Bm25.from_texts(text for e in self.entries for text in _row_texts(e))
        if len(lexical.offsets) != rows + 1:
            raise IndexMismatchError(f"the lexical index has {len(lexical.offsets) - 1} rows, the FAQ needs {rows}")
        self.lexical = lexical
        self._vocab = lexical.vocab
        self._postings = (lexical.data, lexical.indices, lexical.indptr)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        entries: list[FaqEntry],
        encoder: Encoder,
        index_factory: str | None = AUTO,
        show_progress: bool = False,
        *,
        vectors: np.ndarray | None = None,
        approximate_from: int = APPROXIMATE_FROM_ROWS,
    ) -> FaqIndex:
        """Embeds every row and builds the FAISS index.

        Args:
            index_factory: ``auto`` or ``None`` (default): exact below ``approximate_from``
                rows, else :func:`choose_index_factory`; any other value is a FAISS factory
                string used as is (``Flat``, ``HNSW32,Flat``, ``IVF4096,SQ8``, ...).
            show_progress: a progress bar while embedding.
            vectors: the row vectors, if already computed (rows in entry order, each entry's
                phrasings then its answer); nothing is embedded then.
            approximate_from: see ``index_factory``.
        """
        if not entries:
            raise ValueError("cannot build an index over an empty FAQ")
        texts = [text for e in entries for text in _row_texts(e)]
        embedded = 0
        if vectors is None:
            unique = list(dict.fromkeys(texts))
            position = {text: i for i, text in enumerate(unique)}
            vectors = encoder.encode(unique, show_progress=show_progress)
            if len(unique) < len(texts):
                vectors = vectors[[position[t] for t in texts]]
            embedded = len(unique)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), encoder.dimension):
            raise ValueError(f"vectors has shape {vectors.shape}, the FAQ needs ({len(texts)}, {encoder.dimension})")
        setting = index_factory or AUTO
        factory = choose_index_factory(len(texts), approximate_from) if setting == AUTO else setting
        index = new_faiss_index(vectors, factory)
        built = cls(entries, encoder, vectors, index, factory, setting, None, approximate_from)
        built.embedded_rows = embedded
        return built

    def updated(self, entries: list[FaqEntry], show_progress: bool = False) -> FaqIndex:
        """A new index over ``entries`` (the whole new FAQ); this one is left as it is.

        Rows whose text this index already holds reuse the stored vector; only new or edited
        texts are embedded (``embedded_rows`` on the result says how many). Entries absent
        from ``entries`` are gone from the result. With an exact index the result searches
        exactly like ``build(entries)``; an approximate graph index gets the new rows
        appended and the old ones retired (filtered out), until retired rows pass a quarter
        of it or the automatic choice for the new size changes: then it is rebuilt.
        """
        if not entries:
            raise ValueError("cannot build an index over an empty FAQ")
        texts = [text for e in entries for text in _row_texts(e)]
        match = match_rows((text for e in self.entries for text in _row_texts(e)), texts)
        vectors = row_vectors(match, texts, self.vectors, self.encoder, show_progress)

        setting = self.factory_setting
        factory = choose_index_factory(len(texts), self.approximate_from) if setting == AUTO else setting
        index, faiss_ids = None, None
        if factory == self.index_factory and can_append(self.index):
            index, faiss_ids = appended_index(self.index, self.faiss_ids, match, vectors)
        if index is None:
            index = new_faiss_index(vectors, factory)
        lexical = self.lexical.updated(texts, match.same_text)
        new = FaqIndex(
            entries, self.encoder, vectors, index, factory, setting, faiss_ids, self.approximate_from, lexical
        )
        new.embedded_rows = len(match.missing)
        return new

    def added(self, entries: list[FaqEntry], show_progress: bool = False) -> FaqIndex:
        """A new index with ``entries`` added: an entry whose id exists replaces that entry
        (in its place), the others are appended. See :meth:`updated`."""
        ids = [e.id for e in entries]
        if len(set(ids)) < len(ids):
            raise ValueError(f"duplicate ids among the added entries: {sorted({i for i in ids if ids.count(i) > 1})}")
        incoming = {e.id: e for e in entries}
        merged = [incoming.pop(e.id, e) for e in self.entries]
        return self.updated(merged + list(incoming.values()), show_progress)

    def removed(self, ids: list[str] | set[str]) -> FaqIndex:
        """A new index without the entries with these ids; unknown ids raise ``KeyError``."""
        ids = set(ids)
        unknown = ids - {e.id for e in self.entries}
        if unknown:
            raise KeyError(f"no FAQ entries with ids {sorted(unknown)}")
        return self.updated([e for e in self.entries if e.id not in ids])

    def __len__(self) -> int:
        return len(self.entries)

    @cached_property
    def thresholds(self) -> FaqThresholds:
        """The answer and suggestion thresholds for this FAQ and this model (see
        :mod:`retrieval.calibration`); computed once, from a fixed sample of the row vectors."""
        return calibrate_faq(self.vectors, self.row_entry)

    # -- searching ------------------------------------------------------------------------
    def search(self, text: str, k: int = 5) -> list[FaqHit]:
        """The ``k`` best entries for ``text``, best first (fewer if the FAQ is smaller)."""
        if not text or not text.strip():
            return []
        query = self.encoder.encode([text])
        return self.search_embedded(text, query[0], k)

    def search_embedded(self, text: str, query: np.ndarray, k: int = 5) -> list[FaqHit]:
        """Like :meth:`search` for a query already embedded (lets callers batch encoding).

        Candidates are the entries of the nearest rows and of the best BM25 rows; each is
        scored (see :func:`fuse`) from its best phrasing, its answer and the share of the
        query's lexical weight it matches. An entry naming a code the customer typed comes first.
        """
        query = np.asarray(query, dtype=np.float32)
        depth = min(len(self.row_entry), max(50, 10 * k))
        rows, _ = self._dense_rows(query, depth)
        tokens = lexical_tokens(text)
        lexical_rows, bm25 = self._lexical_rows(tokens, rows, depth)
        candidates = np.unique(np.concatenate([self.row_entry[rows], self.row_entry[lexical_rows]]))
        if not len(candidates):
            return []
        phrasing, answer, closest = self.entry_cosines(query, candidates)
        lexical = np.zeros(len(candidates), dtype=np.float32)
        # an entry's lexical evidence is its best row; rows come best first, so keep the first per entry
        entries_of_rows = self.row_entry[lexical_rows]
        first = np.unique(entries_of_rows, return_index=True)[1]
        lexical[np.searchsorted(candidates, entries_of_rows[first])] = bm25[first]
        share = lexical / self._lexical_mass(tokens) if len(lexical_rows) else lexical
        fused = fuse(phrasing, answer, share)
        exact = self._entries_with_codes({t for t in tokens if is_code(t)}, candidates.tolist())
        not_exact = np.fromiter((int(e) not in exact for e in candidates), bool, len(candidates))
        hits = []
        for i in np.lexsort((-fused, not_exact))[:k]:
            entry = int(candidates[i])
            item = self.entries[entry]
            hits.append(
                FaqHit(
                    faq_id=item.id,
                    question=item.question,
                    answer=item.answer,
                    score=round(float(max(phrasing[i], answer[i])), 4),
                    fused=round(float(fused[i]), 5),
                    lexical=round(float(lexical[i]), 3),
                    exact=entry in exact,
                    matched=item.phrasings[closest[i]],
                    category=item.category,
                )
            )
        return hits

    def entry_cosines(self, query: np.ndarray, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per entry: the cosine of its closest question phrasing, the cosine of its answer (the
        last row), and which phrasing is the closest (its position in ``entry.phrasings``)."""
        starts, ends = self.entry_start[entries], self.entry_start[entries + 1]
        lengths = ends - starts
        cosines = self.vectors[segments(starts, lengths)] @ query
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        answer = cosines[offsets[1:] - 1]
        # every entry has a question row before its answer row: the maximum without the answer is defined
        masked = cosines.copy()
        masked[offsets[1:] - 1] = -np.inf
        phrasing = np.maximum.reduceat(masked, offsets[:-1])
        at_best = np.flatnonzero(masked == np.repeat(phrasing, lengths))
        segment = np.searchsorted(offsets, at_best, side="right") - 1
        first = np.unique(segment, return_index=True)[1]  # the first phrasing reaching the maximum
        closest = at_best[first] - offsets[:-1]
        return phrasing, answer, closest

    def _lexical_mass(self, tokens: list[str]) -> float:
        """The query's lexical weight: the sum of the IDF of its distinct known tokens, the
        most a row could match (BM25's term-frequency factor stays below about 1 on short rows)."""
        _, _, indptr = self._postings
        rows = len(self.row_entry)
        ids = {self._vocab[t] for t in tokens if t in self._vocab}
        df = np.array([indptr[i + 1] - indptr[i] for i in ids], dtype=np.float64)
        return max(float(np.log1p((rows - df + 0.5) / (df + 0.5)).sum()), 1e-9)

    def _dense_rows(self, query: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``depth`` nearest rows, best first, with their cosine similarity. Candidates of
        an approximate index are re-scored with the stored vectors (exact scores, exact order)."""
        if self._search_params is None:
            scores, ids = self.index.search(query.reshape(1, -1), depth)
        else:
            scores, ids = self.index.search(query.reshape(1, -1), depth, params=self._search_params)
        ids = ids[0][ids[0] >= 0]
        rows = self.row_of_id[ids]
        if self.exact_index and not self.retired:
            return rows, scores[0][: len(rows)]
        rows = rows[rows >= 0]
        exact = self.vectors[rows] @ query
        order = np.argsort(-exact, kind="stable")
        return rows[order], exact[order]

    def _lexical_rows(self, tokens: list[str], dense_rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """The best BM25 rows (score > 0), best first, ties by row; at most ``depth``.

        The cost follows
        the posting lists of the query's tokens, not the FAQ size: a token in more than
        :data:`LEXICAL_FULL_SCAN_ROWS` rows only adds to rows a rarer token or ``dense_rows``
        found (it is frequent, so its weight is low)."""
        data, indices, indptr = self._postings
        ids = [self._vocab[t] for t in tokens if t in self._vocab]
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        spans = [(int(indptr[i]), int(indptr[i + 1])) for i in ids]
        short = [indices[a:b] for a, b in spans if b - a <= LEXICAL_FULL_SCAN_ROWS]
        candidates = np.unique(np.concatenate([*short, dense_rows.astype(indices.dtype)]))
        total = np.zeros(len(candidates), dtype=data.dtype)
        for a, b in spans:
            postings = indices[a:b]
            if b - a <= LEXICAL_FULL_SCAN_ROWS:
                total[np.searchsorted(candidates, postings)] += data[a:b]
            else:
                at = np.minimum(np.searchsorted(postings, candidates), len(postings) - 1)
                found = postings[at] == candidates
                total[found] += data[a:b][at[found]]
        positive = total > 0
        candidates, total = candidates[positive], total[positive]
        order = np.lexsort((candidates, -total))[:depth]
        return candidates[order].astype(np.int64), total[order]

    def _entries_with_codes(self, codes: set[str], entries: list[int]) -> set[int]:
        """Those of ``entries`` with a row containing one of the code tokens (from BM25's postings).

        A code counts only where it singles out a few entries (at most
        :data:`CODE_MAX_ENTRIES`): a SKU names its product's entries, while a token like
        ``covid19`` that runs through a whole FAQ is a topic word, left to :func:`fuse`."""
        data, indices, indptr = self._postings
        ids = [self._vocab[c] for c in codes if c in self._vocab]
        if not ids or not entries:
            return set()
        naming = [np.unique(self.row_entry[indices[indptr[i] : indptr[i + 1]]]) for i in ids]
        naming = [found for found in naming if 0 < len(found) <= CODE_MAX_ENTRIES]
        if not naming:  # codes only in deleted rows, or in too many entries to single any out
            return set()
        return set(np.intersect1d(np.concatenate(naming), np.asarray(entries, dtype=np.int64)).tolist())

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Writes the index folder (``retrieval.index_files``): whole or not at all."""
        saved = SavedIndex(
            self.entries,
            self.vectors,
            self.index,
            self.faiss_ids,
            self.index_factory,
            self.factory_setting,
            self.approximate_from,
        )
        return write_index(Path(directory), saved, self.encoder.describe(), self.faq_hash, self.thresholds)

    @classmethod
    def load(cls, directory: str | os.PathLike, encoder: Encoder) -> FaqIndex:
        """Loads a saved index; refuses (:class:`IndexMismatchError`) one made by another embedder,
        for other data, by another version of this format, or with a missing or damaged file.
        The bot then rebuilds it from the FAQ (``chatbot.artifacts.cached_faq_index``)."""
        saved = read_index(Path(directory), encoder.describe())
        return cls(
            saved.entries,
            encoder,
            saved.vectors,
            tune(saved.index),
            saved.index_factory,
            saved.factory_setting,
            saved.faiss_ids,
            saved.approximate_from,
        )
