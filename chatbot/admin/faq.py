"""The served FAQ: uploads, single entries and phrasings, and the FAQ-adapted embedder.

Every change is validated, indexed, written to ``faq/active.json`` (what a restart serves) and
swapped into the bot in one reference assignment; a bad file raises and changes nothing. After
an FAQ is applied, a background job may adapt the embedder to it (``finetune.embedder``): if
the adapted embedder passes its gate the FAQ is re-indexed with it and swapped in, else the
base model serves. ``use_embedder`` rolls back or forward.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path

from chatbot.admin.jobs import Job, JobRunner
from chatbot.artifacts import (
    active_faq_path,
    cached_faq_index,
    checked_adapter,
    embedders_registry,
    faq_encoder,
    faq_index_folder,
)
from chatbot.bot import Bot
from finetune.embedder import AdaptArgs, adapt_embedder, load_record
from retrieval import FaqEntry, FaqError, FaqIndex, RowError, faq_hash, load_faq
from retrieval.atomic import file_stamp
from retrieval.faq import save_faq, validate_faq

log = logging.getLogger(__name__)


class FaqAdmin:
    """Changes to the served FAQ and to the embedder that searches it."""

    def __init__(self, bot: Bot, jobs: JobRunner):
        self.bot = bot
        self.settings = bot.settings
        self.jobs = jobs
        self.embedders = embedders_registry(bot.settings)
        self.max_upload_bytes = bot.settings.max_upload_mb * 2**20
        self._lock = threading.Lock()
        self._active = self.settings.layout.active_faq
        self._stamp = file_stamp(self._active)  # of the FAQ file this process serves
        self.embedder = _name(self.embedders.current())  # the adapted embedder this process serves, None = base

    # -- the entries ------------------------------------------------------------------------------
    def apply(self, path: str | Path, adapt: bool | None = None, show_progress: bool = False) -> dict:
        """Validates, indexes and serves the FAQ in ``path``. Raises ``FaqError`` (and changes
        nothing) when the file is not a valid FAQ. Then starts adapting the embedder to it in
        the background when ``adapt`` (default: the ``adapt_embedder`` setting) and no other
        job runs; ``adaptation`` in the result says which. ``show_progress``: a progress bar
        (on stderr) while the new and changed entries are embedded."""
        started = time.perf_counter()
        entries = load_faq(path, max_bytes=self.max_upload_bytes)
        previous = len(self.bot.faq)
        with self._lock:
            self._serve(entries, show_progress)
        result = {
            "entries": len(entries),
            "previous_entries": previous,
            "seconds": round(time.perf_counter() - started, 2),
            "adaptation": "off",
            "adaptation_job": None,
        }
        if self.settings.adapt_embedder if adapt is None else adapt:
            try:
                result["adaptation_job"] = self.start_adapt().id
                result["adaptation"] = f"job {result['adaptation_job']}"
            except RuntimeError as exc:
                result["adaptation"] = f"not started: {exc}; start it when that job is done"
        return result

    def add_entry(
        self, question: str, answer: str, alternatives: tuple[str, ...] = (), faq_id: str | None = None
    ) -> FaqEntry:
        """A new FAQ entry (e.g. from an unanswered theme), validated and served at once like an
        uploaded FAQ. Raises ``FaqError`` for an empty question or answer or a taken id."""
        faq_id = faq_id or "q-" + hashlib.sha256(question.strip().lower().encode()).hexdigest()[:8]
        [checked] = validate_faq([(1, {"id": faq_id, "question": question, "answer": answer})], "new entry")
        with self._lock:
            entries = list(self.bot.faq.entries)
            if any(e.id == checked.id for e in entries):
                raise FaqError([RowError("new entry", 1, "id", f"'{checked.id}' is already an FAQ entry")])
            extra = tuple(dict.fromkeys(a.strip() for a in alternatives if a.strip() and a.strip() != checked.question))
            entry = FaqEntry(checked.id, checked.question, checked.answer, checked.category, extra)
            self._serve(entries + [entry])
        return entry

    def add_phrasing(self, faq_id: str, text: str) -> None:
        """A reviewed question becomes an alternative phrasing of an FAQ entry, served at once."""
        with self._lock:
            entries = list(self.bot.faq.entries)
            for i, entry in enumerate(entries):
                if entry.id == faq_id:
                    if text not in entry.phrasings:
                        entries[i] = FaqEntry(
                            entry.id, entry.question, entry.answer, entry.category, (*entry.alternatives, text)
                        )
                    break
            else:
                raise KeyError(f"no FAQ entry '{faq_id}'")
            self._serve(entries)

    def _serve(self, entries: list[FaqEntry], show_progress: bool = False) -> None:
        """Indexes ``entries`` (incrementally), records them as the served FAQ and swaps them in.
        The caller holds the lock."""
        index = self._index(entries, show_progress)
        tmp = self._active.with_suffix(".json.tmp")
        save_faq(entries, tmp)
        tmp.replace(self._active)  # the FAQ served after a restart
        self._stamp = file_stamp(self._active)
        self.bot.swap_faq(index)

    def _index(self, entries: list[FaqEntry], show_progress: bool = False) -> FaqIndex:
        index = self.bot.faq.updated(entries, show_progress)  # incremental: re-embeds only what changed
        folder = faq_index_folder(self.settings, entries, self.bot.faq.encoder)
        if not (folder / "meta.json").is_file():
            index.save(folder)
        return index

    # -- the embedder -----------------------------------------------------------------------------
    def start_adapt(self, args: AdaptArgs | None = None) -> Job:
        """Adapts the embedder to the served FAQ in a background thread; poll the returned job."""
        return self.jobs.start("adapt", "embedder", self._adapt, args or AdaptArgs(device=self.settings.device))

    def _adapt(self, job: Job, args: AdaptArgs) -> tuple[str, dict]:
        """The adaptation job: returns its outcome and result (see ``JobRunner.start``)."""
        entries = list(self.bot.faq.entries)
        name = self.embedders.new_version_name()
        progress = self.jobs.progress(job)
        report = adapt_embedder(entries, self.settings.model_path, self.embedders.root / name, args, progress)
        job.progress, job.message = 0.96, "Indexing the FAQ with the chosen embedder"
        if report.selected == "adapted":
            self.use_embedder(name)
            outcome = f"the FAQ-adapted embedder {name} is serving: {report.reason}"
        elif self.embedder is not None:
            self.use_embedder(None)
            outcome = f"the base embedder serves again: {report.reason}"
        else:
            outcome = f"the base embedder stays: {report.reason}"
        pruned = self.embedders.prune(self.settings.keep_embedders, protect={name})
        return outcome, {**report.to_dict(), "serving": self.embedder or "base", "pruned": pruned}

    def use_embedder(self, name: str | None) -> None:
        """Serves the FAQ with the adapted embedder ``name``, or with the base model (``None``):
        a rollback or forward. The index is loaded from cache or built first, then swapped.
        Raises ``KeyError`` for an unknown name, ``ValueError`` for one that cannot serve."""
        adapter = None if name is None else checked_adapter(self.settings, self.embedders.path(name))
        encoder = faq_encoder(self.settings, adapter)
        with self._lock:
            index = cached_faq_index(self.settings, list(self.bot.faq.entries), encoder)
            if name is None:
                self.embedders.deactivate()
            else:
                self.embedders.activate(name)
            self.bot.swap_faq(index)
            self.embedder = name

    def embedder_versions(self) -> list[dict]:
        """The adapted embedders on disk, oldest first, with their gate figures."""
        rows = []
        for name in self.embedders.versions():
            record = load_record(self.embedders.root / name)
            report = record.get("report", {})
            rows.append(
                {
                    "name": name,
                    "serving": name == self.embedder,
                    "created_at": record.get("created_at"),
                    "entries": record.get("entries"),
                    "base_hit_at_1": report.get("base_hit_at_1"),
                    "adapted_hit_at_1": report.get("adapted_hit_at_1"),
                    "heldout": report.get("heldout"),
                }
            )
        return rows

    # -- changes made by another process --------------------------------------------------------
    def sync_with_disk(self) -> list[str]:
        """Serves the embedder and the FAQ that another process set on disk; returns what it swapped."""
        swapped = []
        embedder = _name(self.embedders.current())
        if embedder != self.embedder:
            try:
                self.use_embedder(embedder)
                swapped.append(f"FAQ embedder {embedder or 'base'}")
            except (KeyError, ValueError, OSError) as exc:
                log.error("not serving the FAQ embedder %s set by another process: %s", embedder, exc)
                self.embedder = embedder  # do not retry it every tick
        if file_stamp(self._active) != self._stamp:
            with self._lock:
                stamp = file_stamp(self._active)
                if stamp != self._stamp:
                    try:
                        entries = load_faq(active_faq_path(self.settings))
                        if faq_hash(entries) != faq_hash(self.bot.faq.entries):
                            self.bot.swap_faq(self._index(entries))
                            swapped.append(f"FAQ of {len(entries)} entries")
                    except (FaqError, OSError) as exc:
                        log.error("not serving the FAQ written by another process: %s", exc)
                    self._stamp = stamp
        return swapped


def _name(path: Path | None) -> str | None:
    return None if path is None else path.name
