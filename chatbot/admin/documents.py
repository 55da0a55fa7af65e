"""Changes to the documents the bot answers from (``chatbot.documents`` keeps them): every file
read and checked first, nothing imported when one is bad, then indexed, saved and swapped in."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from chatbot.bot import Bot
from chatbot.documents import (
    MAX_UNKNOWN_SHARE,
    cached_passage_index,
    load_library,
    passage_index_folder,
    save_library,
    unreadable_share,
)
from chatbot.store import Store
from retrieval.atomic import file_stamp
from retrieval.documents import Document, DocumentError, read_documents
from retrieval.passages import PassageIndex
from retrieval.rows import RowError

log = logging.getLogger(__name__)


class DocumentAdmin:
    """Adding, replacing, listing and removing the documents the bot answers from. Passages are
    embedded by the FAQ's encoder, so one embedding of a question serves both searches."""

    def __init__(self, bot: Bot):
        self.bot = bot
        self.settings = bot.settings
        self.path = bot.settings.layout.documents
        self.max_bytes = bot.settings.max_upload_mb * 2**20
        self._lock = threading.Lock()
        self._stamp = file_stamp(self.path)

    def documents(self) -> list[Document]:
        return load_library(self.path)

    def add(
        self,
        paths: Iterable[str | Path],
        show_progress: bool = False,
        progress: Callable[[float, str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        url: str = "",
    ) -> dict:
        """Reads every file (or folder) in ``paths`` and serves them beside the documents already
        there; a document with the id of one there replaces it. Raises ``DocumentError`` listing
        every problem, and changes nothing, when one cannot be read or is in a language the model
        cannot read; ``retrieval.documents.Cancelled`` when ``cancelled()`` turns true. ``url``:
        the address of the one document read, linked under its answers."""
        encoder = self.bot.faq.encoder
        read = read_documents(
            paths,
            count_tokens=encoder.count_tokens,
            max_bytes=self.max_bytes,
            progress=progress,
            cancelled=cancelled,
        )
        if url:
            if len(read) != 1:
                raise ValueError(f"a URL names one document; {len(read)} were read")
            read = [dataclasses.replace(read[0], url=url)]
        problems = [
            RowError(
                d.source,
                None,
                None,
                f"{share:.0%} of its words are unknown to the model {encoder.name}: "
                "it is in a language the bot does not read",
            )
            for d in read
            if (share := unreadable_share(encoder, " ".join(p.text for p in d.passages))) > MAX_UNKNOWN_SHARE
        ]
        if problems:
            raise DocumentError(problems)
        with self._lock:
            current = load_library(self.path)
            known = {d.id for d in current}
            incoming = {d.id: d for d in read}
            merged = [incoming.pop(d.id, d) for d in current] + list(incoming.values())
            index = self._index(merged, show_progress)
            save_library(merged, self.path)
            self._stamp = file_stamp(self.path)
            self.bot.swap_documents(index)
        return {
            "added": [d.id for d in read if d.id not in known],
            "replaced": [d.id for d in read if d.id in known],
            "documents": len(merged),
            "passages": sum(len(d.passages) for d in read),
            "embedded_passages": index.embedded_rows if index is not None else 0,
        }

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Stops serving the documents with these ids; ``KeyError`` naming unknown ones (nothing removed)."""
        ids = set(ids)
        with self._lock:
            current = load_library(self.path)
            unknown = ids - {d.id for d in current}
            if unknown:
                raise KeyError(f"no documents with ids {sorted(unknown)}")
            kept = [d for d in current if d.id not in ids]
            index = self._index(kept)
            save_library(kept, self.path)
            self._stamp = file_stamp(self.path)
            self.bot.swap_documents(index)
        return sorted(ids)

    def review_passage(self, store: Store, review_id: int) -> dict | None:
        """The passage that answered the turn of review item ``review_id`` (see ``Console.review_passage``)."""
        item = store.review(review_id)
        turn = store.turn(item["turn_id"]) if item is not None and item["turn_id"] is not None else None
        if turn is None or turn["route"] != "document":
            return None
        passage_id = (turn["trace"].get("document") or {}).get("passage")
        documents = self.bot.documents
        found = documents.passage(passage_id) if documents is not None and passage_id else None
        if found is None:  # the document was removed or changed since
            return None
        passage, _ = found
        return {"id": passage.id, "label": passage.label, "text": passage.text}

    def _index(self, documents: list[Document], show_progress: bool = False) -> PassageIndex | None:
        """The index of ``documents``: the serving one updated (only new texts embedded), or built."""
        if not documents:
            return None
        encoder = self.bot.faq.encoder
        serving = self.bot.documents
        if serving is not None and serving.encoder is encoder:
            index = serving.updated(documents, show_progress)
        else:
            index = cached_passage_index(self.settings, documents, encoder, show_progress)
        folder = passage_index_folder(self.settings, documents, encoder)
        if not (folder / "meta.json").is_file():
            index.save(folder)
        return index

    def sync_with_disk(self) -> list[str]:
        """Serves the documents another process saved; returns what it swapped."""
        if file_stamp(self.path) == self._stamp:
            return []
        with self._lock:
            now = file_stamp(self.path)
            if now == self._stamp:
                return []
            self._stamp = now
            try:
                documents = load_library(self.path)
                self.bot.swap_documents(self._index(documents))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("not serving the documents written by another process: %s", exc)
                return []
        return [f"{len(documents)} documents"]
