"""``Console``: what an operator can do, without any UI; the admin page (``app.py``) and the
CLI call it. A facade over the admin layer's parts, each in its own module:

- ``faq.FaqAdmin``: FAQ uploads (validated, indexed, saved and swapped in; a bad file raises
  and changes nothing), single entries and phrasings, the FAQ-adapted embedder.
- ``documents.DocumentAdmin``: help-centre documents (read and checked whole, split into
  passages, indexed, saved and swapped in; replaced by id; removed).
- ``dialogs.DialogAdmin``: dialog-log imports and exports, the review queue, unanswered themes.
- ``training.ModelAdmin``: retraining with the gate, the model versions, rollback.
- ``jobs.JobRunner``: the one background job at a time (retraining or adaptation).
- ``sync_with_disk``/``follow_disk``: serve what an admin command in another process changed.

The page also reads the store's traffic, job and review tables through the console
(``traffic``, ``jobs``, ``reviews``), never the store directly, and works the live queue through
it (``handoffs``, ``conversation``, ``take_handoff``, ``send_to_customer``, ``hand_back``,
``close_handoff``: ``chatbot.live`` as the signed-in person).

Every change a person makes through it is written to the audit trail (``_audit``) with who
(``chatbot.admin.users.ACTOR``), what, and the identifiers before and after; a change that
fails is not recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from chatbot.admin.dialogs import DialogAdmin
from chatbot.admin.documents import DocumentAdmin
from chatbot.admin.faq import FaqAdmin
from chatbot.admin.jobs import Job, JobRunner
from chatbot.admin.report import RetrainReport
from chatbot.admin.training import ModelAdmin
from chatbot.admin.users import ACTOR, User, Users
from chatbot.bot import Bot
from chatbot.live import Conversation
from chatbot.store import Message, Store
from finetune import Example, TrainingArgs
from finetune.embedder import AdaptArgs
from retrieval import FaqEntry

log = logging.getLogger(__name__)


class Console:
    """One object for the admin page and the CLI; each method hands over to the part that owns it."""

    def __init__(self, bot: Bot, store: Store):
        self.bot = bot
        self.store = store
        self.settings = bot.settings
        self.jobs = JobRunner(store)
        self.faq = FaqAdmin(bot, self.jobs)
        self.dialogs = DialogAdmin(bot, store, self.faq)
        self.docs = DocumentAdmin(bot)
        self.models = ModelAdmin(bot, store, self.jobs)
        self.users = Users(store)

    @property
    def job(self) -> Job | None:
        """The latest background job, running or not."""
        return self.jobs.job

    @property
    def registry(self):
        return self.models.registry

    @property
    def embedders(self):
        return self.faq.embedders

    # -- FAQ ------------------------------------------------------------------------------------
    def apply_faq(self, path: str | Path, adapt: bool | None = None, show_progress: bool = False) -> dict:
        result = self.faq.apply(path, adapt, show_progress)
        after = f"{result['entries']} entries"
        self._audit("faq.apply", Path(path).name, f"{result['previous_entries']} entries", after)
        return result

    def add_faq_entry(
        self, question: str, answer: str, alternatives: tuple[str, ...] = (), faq_id: str | None = None
    ) -> FaqEntry:
        entry = self.faq.add_entry(question, answer, alternatives, faq_id)
        self._audit("faq.entry", entry.id, None, entry.question)
        return entry

    def start_adapt(self, args: AdaptArgs | None = None) -> Job:
        job = self.faq.start_adapt(args)
        self._audit("embedder.adapt", f"job {job.id}")
        return job

    def use_embedder(self, name: str | None) -> None:
        before = self.faq.embedder or "base"
        self.faq.use_embedder(name)
        self._audit("embedder.use", None, before, name or "base")

    def embedder_versions(self) -> list[dict]:
        return self.faq.embedder_versions()

    # -- documents ------------------------------------------------------------------------------
    def add_documents(
        self,
        paths: list[str | Path],
        show_progress: bool = False,
        progress: Callable[[float, str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        url: str = "",
    ) -> dict:
        result = self.docs.add(paths, show_progress, progress, cancelled, url)
        changed = ", ".join(result["added"] + result["replaced"])
        self._audit("documents.add", changed, None, f"{result['documents']} documents")
        return result

    def documents(self) -> list[dict]:
        """The imported documents, one summary each (id, title, file, link, passages)."""
        return [
            {"id": d.id, "title": d.title, "source": d.source, "url": d.url, "passages": len(d.passages)}
            for d in self.docs.documents()
        ]

    def review_passage(self, review_id: int) -> dict | None:
        """For a review item whose turn was answered from a document: the passage used (``id``,
        ``label``, ``text``), to prefill an FAQ entry; ``None`` for any other item."""
        return self.docs.review_passage(self.store, review_id)

    def review_to_faq(self, review_id: int, question: str, answer: str) -> FaqEntry:
        """Turns a reviewed document answer into a curated FAQ entry (served at once) and closes the item."""
        entry = self.faq.add_entry(question, answer, (), None)
        self.store.resolve_review(review_id, "faq", entry.id)
        self._audit("review.faq_entry", entry.id, f"review {review_id}", entry.question)
        return entry

    def remove_documents(self, ids: list[str]) -> list[str]:
        removed = self.docs.remove(ids)
        self._audit("documents.remove", ", ".join(removed))
        return removed

    # -- dialogs, reviews, themes ---------------------------------------------------------------
    def import_dialogs(self, path: str | Path) -> dict:
        result = self.dialogs.import_dialogs(path)
        self._audit("dialogs.import", Path(path).name, None, f"{result.get('new_examples', 0)} examples")
        return result

    def export_conversations(self) -> Path:
        return self.dialogs.export_conversations()

    def label_review(self, review_id: int, label_kind: str | None, label: str | None = None) -> None:
        self.dialogs.label_review(review_id, label_kind, label)
        self._audit(
            "review.label", f"review {review_id}", "open", f"{label_kind}: {label}" if label_kind else "dismissed"
        )

    def themes(self, top: int = 20) -> list[dict]:
        return self.dialogs.themes(top)

    def theme_to_intent(self, examples: list[str], intent: str) -> int:
        added = self.dialogs.theme_to_intent(examples, intent)
        self._audit("theme.intent", intent, None, f"{added} examples")
        return added

    # -- training and versions ------------------------------------------------------------------
    def training_examples(self) -> list[Example]:
        return self.models.training_examples()

    def retrain_split(self, examples: list[Example]) -> tuple[list[Example], list[Example], dict]:
        return self.models.retrain_split(examples)

    def start_retrain(self, force: bool = False, args: TrainingArgs | None = None) -> Job:
        job = self.models.start_retrain(force, args)
        self._audit("retrain.start", f"job {job.id}", None, "forced" if force else "gated")
        return job

    def versions(self) -> list[dict]:
        return self.models.versions()

    def report(self, name: str) -> RetrainReport | None:
        return self.models.report(name)

    def activate(self, name: str) -> None:
        current = self.registry.current()
        self.models.activate(name)
        self._audit("version.activate", name, current.name if current else None, name)

    # -- the store's tables, read for the page ----------------------------------------------------
    def traffic(self) -> dict:
        return self.store.traffic()

    def job_history(self) -> list[dict]:
        return self.store.jobs()

    def reviews(self) -> list[dict]:
        return self.store.reviews()

    def handoffs(self) -> list[dict]:
        """The live queue: conversations waiting for a person or answered by one, newest first."""
        return self.store.handoffs()

    # -- the live queue, as the signed-in person --------------------------------------------------
    def conversation(self, handoff_id: int) -> Conversation:
        return self.bot.live.conversation(handoff_id)

    def take_handoff(self, handoff_id: int) -> None:
        """Takes a waiting conversation (``chatbot.store.Taken``, saying who has it, if it is not waiting)."""
        self.bot.live.take(handoff_id, ACTOR.get())
        self._audit("handoff.take", f"handoff {handoff_id}", "open", f"live: {ACTOR.get()}")

    def send_to_customer(self, handoff_id: int, text: str) -> Message:
        """A message to the customer of a conversation this person has taken (``LiveError`` otherwise)."""
        return self.bot.live.send(handoff_id, ACTOR.get(), text)

    def hand_back(self, handoff_id: int) -> None:
        before = self.bot.live.end(handoff_id, ACTOR.get(), "handed_back")
        self._audit("handoff.hand_back", f"handoff {handoff_id}", before, "closed: handed back")

    def close_handoff(self, handoff_id: int) -> None:
        before = self.bot.live.end(handoff_id, ACTOR.get(), "closed")
        self._audit("handoff.close", f"handoff {handoff_id}", before, "closed")

    def cancel_job(self) -> Job | None:
        """Cancels the running job (it stops at its next step); None when none runs."""
        job = self.jobs.job
        if job is None or job.status != "running":
            return None
        job.cancel()
        self._audit("job.cancel", f"job {job.id}", "running", "cancelling")
        return job

    # -- operator accounts (their changes are audited by Users itself) ----------------------------------
    def accounts(self) -> list[User]:
        return self.users.list()

    def add_account(self, name: str, role: str) -> str:
        """Creates an account; returns its generated password, to show once."""
        return self.users.add(name, role, actor=ACTOR.get())

    def set_role(self, name: str, role: str) -> None:
        self.users.set_role(name, role, actor=ACTOR.get())

    def set_disabled(self, name: str, disabled: bool) -> None:
        (self.users.disable if disabled else self.users.enable)(name, actor=ACTOR.get())

    def reset_password(self, name: str) -> str:
        return self.users.reset_password(name, actor=ACTOR.get())

    def audit_log(self, limit: int | None = 500) -> list[dict]:
        return self.store.audit_log(limit)

    def _audit(self, action: str, target: str | None, before: str | None = None, after: str | None = None) -> None:
        self.store.audit(ACTOR.get(), action, target, before, after)

    # -- changes made by another process --------------------------------------------------------
    def sync_with_disk(self) -> list[str]:
        """Serves what an admin command in another process (``python -m chatbot admin ...``)
        changed on disk: the model version that ``current`` names, the FAQ embedder, the
        applied FAQ and the documents. Loaded first, then swapped, like the console's own changes. Returns what it swapped."""
        return self.models.sync_with_disk() + self.faq.sync_with_disk() + self.docs.sync_with_disk()

    def follow_disk(self, interval: float) -> threading.Event:
        """Checks every ``interval`` seconds, in a daemon thread, for changes made by another
        process. Set the returned event to stop."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    for change in self.sync_with_disk():
                        log.info("now serving the %s written by another process", change)
                except Exception:  # never let the follower die: it is retried at the next tick
                    log.exception("checking the data folder for changes failed")

        threading.Thread(target=loop, name="follow-disk", daemon=True).start()
        return stop
