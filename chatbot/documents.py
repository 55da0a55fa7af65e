"""The help-centre documents the bot answers from: how they are kept and indexed.

What is kept is the documents as read and split (``retrieval.documents``), one JSON file in the
data folder (``docs/documents.json``), written whole or not at all; the originals are not kept.
The passage index is cached beside it per passages and embedder, like the FAQ's, so a restart
loads it and a change embeds only the passages whose text is new (``PassageIndex.updated``).

Changes are ``chatbot.admin.documents.DocumentAdmin``'s: every file read and checked first
(all-or-nothing), then indexed, saved and swapped into the bot in one reference assignment; a
document whose id (its file name's slug) is already there is replaced, not duplicated. Another
process (``python -m chatbot admin docs-add``) changes the same file, and a serving process
follows it.

Limits: a document must be in a language the serving model reads (:func:`unreadable_share`:
more than :data:`MAX_UNKNOWN_SHARE` of its tokens unknown to the model's vocabulary is refused);
the whole library is one JSON file, read whole (thousands of documents, not millions).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from chatbot.artifacts import factory_name
from chatbot.settings import Settings
from retrieval.documents import Document, Passage
from retrieval.encoder import Encoder
from retrieval.faq import faq_hash
from retrieval.index_files import IndexMismatchError
from retrieval.passages import PassageIndex

log = logging.getLogger(__name__)

MAX_UNKNOWN_SHARE = 0.3  # a document whose tokens are more unknown to the model than this is refused
FORMAT = 1


def load_library(path: Path) -> list[Document]:
    """The documents saved in ``path`` (none when it does not exist)."""
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: format {data.get('format')!r}, this version reads {FORMAT}")
    return [Document(**{**d, "passages": tuple(Passage(**p) for p in d["passages"])}) for d in data["documents"]]


def save_library(documents: list[Document], path: Path) -> None:
    """Writes ``documents`` to ``path`` whole (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "documents": [dataclasses.asdict(d) for d in documents]}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def passages_hash(documents: list[Document]) -> str:
    return faq_hash(PassageIndex.entries(documents))


def passage_index_folder(settings: Settings, documents: list[Document], encoder: Encoder) -> Path:
    return settings.layout.passage_index(passages_hash(documents), encoder.fingerprint, factory_name(settings))


def cached_passage_index(
    settings: Settings, documents: list[Document], encoder: Encoder, show_progress: bool = False
) -> PassageIndex | None:
    """The passage index of ``documents`` by ``encoder`` (``None`` for no documents): loaded from
    the data folder's cache, or built and cached there."""
    if not documents:
        return None
    folder = passage_index_folder(settings, documents, encoder)
    if (folder / "meta.json").is_file():
        try:
            return PassageIndex.load(folder, encoder, documents)
        except (IndexMismatchError, ValueError, OSError, RuntimeError) as exc:
            log.warning("rebuilding the passage index: %s", exc)
    index = PassageIndex.build(documents, encoder, settings.index_factory, show_progress=show_progress)
    index.save(folder)
    return index


def ensure_passage_index(settings: Settings, encoder: Encoder, show_progress: bool = True) -> PassageIndex | None:
    """The index of the imported documents, loaded or built; ``None`` when there are none or
    the library cannot be read (logged: the bot then answers without documents)."""
    try:
        documents = load_library(settings.layout.documents)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("not serving documents: %s", exc)
        return None
    return cached_passage_index(settings, documents, encoder, show_progress)


def unreadable_share(encoder: Encoder, text: str, sample_chars: int = 20_000) -> float:
    """The share of ``text``'s tokens (its first ``sample_chars``) that the model's vocabulary
    does not know: near 1 for Chinese read by an English-only model."""
    tokenizer = encoder.tokenizer
    ids = tokenizer(text[:sample_chars], add_special_tokens=False)["input_ids"]
    unknown = tokenizer.unk_token_id
    return sum(i == unknown for i in ids) / len(ids) if ids and unknown is not None else 0.0
