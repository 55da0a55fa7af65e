"""Semantic + lexical FAQ retrieval: an encoder, FAQ files, and a hybrid FAISS/BM25 index.

The upload checks and readers (``retrieval.uploads``) are shared with the training-data and
dialog-log importers of ``finetune``; nothing here imports ``finetune`` or ``chatbot``.
"""

from retrieval.calibration import FaqThresholds, calibrate_faq
from retrieval.convert import ConversionError, install_model
from retrieval.encoder import Encoder, default_model_path, pick_device, prune_exports
from retrieval.faq import FaqEntry, FaqError, FaqPreview, faq_hash, load_faq, preview_faq
from retrieval.index import FaqHit, FaqIndex, IndexMismatchError
from retrieval.uploads import DEFAULT_MAX_BYTES, RowError, RowErrors

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ConversionError",
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
    "install_model",
    "load_faq",
    "pick_device",
    "preview_faq",
    "prune_exports",
]
