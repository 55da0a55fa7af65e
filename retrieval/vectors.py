"""The FAISS side of FAQ search: which index structure for how many rows, built and tuned.

``retrieval.index.FaqIndex`` owns the rows and the search; this module only answers how the
row vectors are indexed. Exact ``Flat`` below :data:`APPROXIMATE_FROM_ROWS` rows, a graph over
8-bit codes from there on (:func:`choose_index_factory`); any FAISS factory string can be
configured instead, and the search-time parameters FAISS does not read from it are set here
(:func:`tune`). A graph index can take an update in place (:func:`can_append`); the rows it
retired are then skipped at search time (:func:`filtering_params`).
"""

from __future__ import annotations

import faiss
import numpy as np

APPROXIMATE_FROM_ROWS = 50_000  # measured by benchmarks/faq_scale.py (see choose_index_factory)
HNSW_M = 32  # graph degree: recall 0.99+ at 1M entries with the efSearch below
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
IVF_NPROBE = 32  # for a configured IVF factory (an automatic index is never IVF)


def choose_index_factory(rows: int, approximate_from: int = APPROXIMATE_FROM_ROWS) -> str:
    """The FAISS factory string for ``rows`` vectors when none is configured.

    Exact ``Flat`` below ``approximate_from`` rows: a query costs about 0.1 ms per thousand
    rows on one core, and nothing is approximate. From there on ``HNSW32,SQ8``: a graph over
    8-bit codes (a quarter of the float size; the stored float vectors re-score the
    candidates). Measured on 2 cores: IVF needs so many probed lists for recall@10 >= 0.95
    at a million rows that it is no faster than the graph, and it is slower to build.
    """
    return "Flat" if rows < approximate_from else f"HNSW{HNSW_M},SQ8"


def is_exact(index: faiss.Index) -> bool:
    return isinstance(faiss.downcast_index(index), faiss.IndexFlat)


def tune(index: faiss.Index) -> faiss.Index:
    """Search-time parameters FAISS does not take from the factory string. Returns ``index``
    itself (a downcast wrapper does not own the C++ object, so it must not replace it)."""
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = max(inner.hnsw.efSearch, HNSW_EF_SEARCH)
    elif isinstance(inner, faiss.IndexIVF):
        inner.nprobe = min(inner.nlist, max(inner.nprobe, IVF_NPROBE))
    return index


def new_faiss_index(vectors: np.ndarray, factory: str) -> faiss.Index:
    """Builds (and trains, on a fixed sample, when the index type needs it) a FAISS index."""
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efConstruction = max(inner.hnsw.efConstruction, HNSW_EF_CONSTRUCTION)
    if not index.is_trained:
        ivf = faiss.try_extract_index_ivf(index)
        size = max(64 * ivf.nlist, 10_000) if ivf is not None else 100_000
        sample = vectors
        if len(vectors) > size:
            sample = vectors[np.sort(np.random.default_rng(0).choice(len(vectors), size, replace=False))]
        index.train(np.ascontiguousarray(sample))
    index.add(vectors)
    return tune(index)


def copy_rows(target: np.ndarray, rows: np.ndarray, index: np.ndarray) -> None:
    """``target[i] = rows[index[i]]`` where ``index[i] >= 0``. An edited FAQ keeps most rows in
    long runs of consecutive positions: copied run by run (memory-speed slices) instead of one
    gather, which took seconds at a million rows."""
    at = np.flatnonzero(index >= 0)
    if not len(at):
        return
    source = index[at]
    breaks = np.flatnonzero((np.diff(at) != 1) | (np.diff(source) != 1)) + 1
    if len(breaks) > len(at) // 64:  # scattered rows: one gather is cheaper than many slices
        target[at] = rows[source]
        return
    for start, end in zip(np.concatenate([[0], breaks]), np.concatenate([breaks, [len(at)]])):
        target[at[start] : at[start] + end - start] = rows[source[start] : source[start] + end - start]


def can_append(index: faiss.Index) -> bool:
    """Graph indexes take new rows in place and retired rows are filtered at search time;
    exact and other indexes are rebuilt from the stored vectors instead."""
    return isinstance(faiss.downcast_index(index), faiss.IndexHNSW)


def filtering_params(index: faiss.Index, alive_ids: np.ndarray) -> faiss.SearchParameters:
    """Search parameters for a graph index that return only ``alive_ids`` (skipping the rows an
    update retired), at the index's own ``efSearch``."""
    alive = np.zeros(index.ntotal, dtype=bool)
    alive[alive_ids] = True
    bitmap = np.packbits(alive, bitorder="little")
    selector = faiss.IDSelectorBitmap(index.ntotal, faiss.swig_ptr(bitmap))
    inner = faiss.downcast_index(index)
    params = faiss.SearchParametersHNSW(sel=selector, efSearch=inner.hnsw.efSearch)
    params._keep = (bitmap, selector)  # the selector reads the bitmap; keep both alive
    return params
