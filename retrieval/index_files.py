"""A saved FAQ index on disk: what the folder holds, written whole or not at all, read with checks.

::

    index.faiss     the FAISS index (``faiss.write_index``)
    vectors.npy     every row vector, so that a loaded index updates without re-embedding
    faiss_ids.npy   the FAISS id of each row (a graph index keeps retired ids until rebuilt)
    faq.json        the entries
    meta.json       the embedder, the FAQ's hash, the factory, the thresholds, and the sha256
                    of each file above (written last)

A folder of another schema version, another embedder or another FAQ, or with a missing or
damaged file, is refused with :class:`IndexMismatchError`; the bot then rebuilds it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from retrieval.atomic import atomic_directory, file_sha256
from retrieval.calibration import FaqThresholds
from retrieval.faq import FaqEntry, faq_hash, validate_faq

SCHEMA_VERSION = 2  # the saved folder's layout; a folder of another version is refused (the bot rebuilds it)
INDEX_FILES = ("index.faiss", "vectors.npy", "faiss_ids.npy", "faq.json")  # checksummed in meta.json
_META_KEYS = ("embedder", "faq_hash", "index_factory", "index_factory_setting", "approximate_from")  # read back


class IndexMismatchError(ValueError):
    """A saved index does not belong to this embedder or this FAQ."""


@dataclass(frozen=True)
class SavedIndex:
    """What ``FaqIndex`` needs back from disk besides the encoder."""

    entries: list[FaqEntry]
    vectors: np.ndarray
    index: faiss.Index
    faiss_ids: np.ndarray
    index_factory: str
    factory_setting: str
    approximate_from: int


def write_index(
    directory: Path, saved: SavedIndex, embedder: dict, entries_hash: str, thresholds: FaqThresholds
) -> Path:
    """Writes the folder beside ``directory``, then renames it into place."""
    with atomic_directory(directory) as tmp:
        faiss.write_index(saved.index, str(tmp / "index.faiss"))
        np.save(tmp / "vectors.npy", saved.vectors, allow_pickle=False)
        np.save(tmp / "faiss_ids.npy", saved.faiss_ids, allow_pickle=False)
        (tmp / "faq.json").write_text(
            json.dumps([e.to_dict() for e in saved.entries], ensure_ascii=False, indent=1), encoding="utf-8"
        )
        meta = {
            "schema_version": SCHEMA_VERSION,
            "embedder": embedder,
            "faq_hash": entries_hash,
            "index_factory": saved.index_factory,
            "index_factory_setting": saved.factory_setting,
            "approximate_from": saved.approximate_from,
            "entries": len(saved.entries),
            "rows": len(saved.vectors),
            "faiss_rows": int(saved.index.ntotal),
            "thresholds": thresholds.to_dict(),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "sha256": {name: file_sha256(tmp / name) for name in INDEX_FILES},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return directory


def read_index(directory: Path, embedder: dict) -> SavedIndex:
    """The saved index of ``directory``, checked against the files' checksums, the schema
    version, the ``embedder`` (``Encoder.describe()``) and the FAQ hash."""
    meta = _checked_meta(directory)
    saved = meta["embedder"]
    if saved["fingerprint"] != embedder["fingerprint"] or saved["dimension"] != embedder["dimension"]:
        raise IndexMismatchError(
            f"{directory} was built with the embedder '{saved['name']}' ({saved['fingerprint']}, "
            f"{saved['dimension']} dimensions), but the configured model is '{embedder['name']}' "
            f"({embedder['fingerprint']}, {embedder['dimension']} dimensions); rebuild the index"
        )
    records = json.loads((directory / "faq.json").read_text(encoding="utf-8"))
    entries = validate_faq(list(enumerate(records, start=1)), str(directory / "faq.json"))
    if faq_hash(entries) != meta["faq_hash"]:
        raise IndexMismatchError(f"{directory}/faq.json does not match the FAQ the index was built from")
    index = faiss.read_index(str(directory / "index.faiss"))
    if index.d != embedder["dimension"]:
        raise IndexMismatchError(f"{directory}/index.faiss has {index.d} dimensions, the model {embedder['dimension']}")
    vectors = np.load(directory / "vectors.npy", allow_pickle=False)
    faiss_ids = np.load(directory / "faiss_ids.npy", allow_pickle=False)
    if vectors.dtype != np.float32 or faiss_ids.dtype != np.int64:
        raise IndexMismatchError(f"{directory}: vectors.npy must be float32 and faiss_ids.npy int64")
    return SavedIndex(
        entries,
        vectors,
        index,
        faiss_ids,
        meta["index_factory"],
        meta["index_factory_setting"],
        meta["approximate_from"],
    )


def _checked_meta(directory: Path) -> dict:
    """``meta.json``, once it and every file it checksums are whole."""
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        raise IndexMismatchError(f"{directory} holds no saved FAQ index (meta.json is missing)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IndexMismatchError(f"{meta_path} is damaged ({exc})") from None
    if not isinstance(meta, dict):
        raise IndexMismatchError(f"{meta_path} is damaged (not a JSON object)")
    schema = meta.get("schema_version")
    if schema != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"{directory} was saved with index schema {schema}, this version reads only {SCHEMA_VERSION}; "
            "rebuild the index"
        )
    missing = [key for key in _META_KEYS if key not in meta]
    checksums = meta.get("sha256")
    if missing:
        raise IndexMismatchError(f"{meta_path} is damaged (no {', '.join(missing)})")
    if not isinstance(checksums, dict) or set(checksums) != set(INDEX_FILES):
        raise IndexMismatchError(f"{meta_path} is damaged (no checksum for each of {', '.join(INDEX_FILES)})")
    for name, digest in checksums.items():
        path = directory / name
        if not path.is_file() or file_sha256(path) != digest:
            raise IndexMismatchError(f"{path} is missing or damaged (its checksum does not match meta.json)")
    return meta
