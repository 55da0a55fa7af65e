"""Semantic + lexical FAQ retrieval: an encoder, FAQ files, and a hybrid FAISS/BM25 index."""

from retrieval.encoder import Encoder, default_model_path, pick_device
from retrieval.faq import FaqEntry, FaqError, RowError, RowErrors, faq_hash, load_faq
from retrieval.index import FaqHit, FaqIndex, IndexMismatchError

__all__ = [
    "Encoder",
    "FaqEntry",
    "FaqError",
    "FaqHit",
    "FaqIndex",
    "IndexMismatchError",
    "RowError",
    "RowErrors",
    "default_model_path",
    "faq_hash",
    "load_faq",
    "pick_device",
]
