"""What an FAQ update can keep from the serving index: row vectors, and a graph index's FAISS ids.

``retrieval.index.FaqIndex.updated`` reads as its phases; the bookkeeping of each is here:
which old row each new row takes over (:func:`match_rows`), the new rows' vectors, reused or
embedded (:func:`row_vectors`), and a graph index with the new rows appended and the
unchanged ones keeping their ids (:func:`appended_index`).

Limits: rows are matched by their exact text, so an edit of one character is a new text,
embedded again. Appending never removes anything from the FAISS index: rows that leave are
"retired" (filtered out at search time) until they pass :data:`RETIRED_REBUILD_SHARE` of it,
and then :func:`appended_index` declines and the caller rebuilds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import faiss
import numpy as np

from retrieval.encoder import Encoder
from retrieval.vectors import copy_rows, tune

RETIRED_REBUILD_SHARE = 0.25  # a graph index with more retired rows than this is rebuilt


@dataclass(frozen=True)
class RowMatch:
    """How the rows of an updated FAQ relate to the current one, per new row."""

    source: np.ndarray  # the old row it takes over (same text, same occurrence), or -1
    same_text: np.ndarray  # the first old row with its text, or -1
    fresh: np.ndarray  # true where no old row has its text: it must be embedded
    missing: list[str]  # the fresh texts, each once, in order of first use


def match_rows(old_texts: Iterable[str], texts: list[str]) -> RowMatch:
    """Matches ``texts`` (the new rows) with ``old_texts`` (the current rows) by text."""
    # the k-th row with a given text takes over the k-th old row with that text (and its FAISS
    # id), so texts repeated across entries (a shared answer) are not appended again each time
    known: dict[tuple[str, int], int] = {}
    first: dict[str, int] = {}
    count: Counter[str] = Counter()
    for row, text in enumerate(old_texts):
        known[(text, count[text])] = row
        first.setdefault(text, row)
        count[text] += 1
    count.clear()
    keys = []
    for text in texts:
        keys.append((text, count[text]))
        count[text] += 1
    source = np.fromiter((known.get(key, -1) for key in keys), np.int64, len(texts))
    same_text = np.fromiter((first.get(t, -1) for t in texts), np.int64, len(texts))
    fresh = same_text < 0
    missing = list(dict.fromkeys(t for t, new in zip(texts, fresh) if new))
    return RowMatch(source, same_text, fresh, missing)


def row_vectors(
    match: RowMatch, texts: list[str], old_vectors: np.ndarray, encoder: Encoder, show_progress: bool = False
) -> np.ndarray:
    """One vector per new row: copied from its old row, or embedded (``match.missing`` only)."""
    vectors = np.empty((len(texts), old_vectors.shape[1]), dtype=np.float32)
    copy_rows(vectors, old_vectors, np.where(match.source >= 0, match.source, match.same_text))  # fresh rows: below
    if match.missing:
        encoded = encoder.encode(match.missing, show_progress=show_progress)
        position = {text: i for i, text in enumerate(match.missing)}
        vectors[match.fresh] = encoded[[position[t] for t, new in zip(texts, match.fresh) if new]]
    return vectors


def appended_index(
    index: faiss.Index, old_ids: np.ndarray, match: RowMatch, vectors: np.ndarray
) -> tuple[faiss.Index, np.ndarray] | tuple[None, None]:
    """A copy of the graph ``index`` with the rows that need a new FAISS id appended, and the
    FAISS id of every new row; ``(None, None)`` when retired rows would pass
    :data:`RETIRED_REBUILD_SHARE` of it (the caller rebuilds). ``old_ids``: the current rows'
    FAISS ids. ``index`` itself is not modified."""
    # unchanged rows keep their FAISS id (each id serves one row); the rest are appended, among
    # them a known text repeated more often than before (no old row of its own: source -1)
    rows = len(vectors)
    faiss_ids = np.full(rows, -1, dtype=np.int64)
    reused = np.flatnonzero(match.source >= 0)
    candidates = old_ids[match.source[reused]]
    first = np.unique(candidates, return_index=True)[1]
    faiss_ids[reused[first]] = candidates[first]
    appended = np.flatnonzero(faiss_ids < 0)
    total = index.ntotal + len(appended)
    if total - rows > RETIRED_REBUILD_SHARE * total:
        return None, None
    grown = faiss.clone_index(index)
    if len(appended):
        grown.add(vectors[appended])
        faiss_ids[appended] = index.ntotal + np.arange(len(appended))
    return tune(grown), faiss_ids
