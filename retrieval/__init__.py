"""Semantic + lexical FAQ retrieval: an encoder, FAQ files, and a hybrid FAISS/BM25 index."""

from retrieval.calibration import FaqThresholds, calibrate_faq
from retrieval.encoder import Encoder, default_model_path, pick_device, prune_exports
from retrieval.faq import (
    DEFAULT_MAX_BYTES,
    FaqEntry,
    FaqError,
    FaqPreview,
    RowError,
    RowErrors,
    faq_hash,
    load_faq,
    preview_faq,
)
from retrieval.index import FaqHit, FaqIndex, IndexMismatchError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Encoder",
    "FaqEntry",
    "FaqError",
    "FaqHit",
    "FaqIndex",
    "FaqPreview",
    "FaqThresholds",
    "IndexMismatchError",
    "RowError",
    "RowErrors",
    "calibrate_faq",
    "default_model_path",
    "faq_hash",
    "load_faq",
    "pick_device",
    "preview_faq",
    "prune_exports",
]
