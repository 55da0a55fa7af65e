"""``Console``: what an operator can do, without any UI; the admin page (``app.py``) and the
CLI call it. A facade over the admin layer's parts, each in its own module:

- ``faq.FaqAdmin``: FAQ uploads (validated, indexed, saved and swapped in; a bad file raises
  and changes nothing), single entries and phrasings, the FAQ-adapted embedder.
- ``dialogs.DialogAdmin``: dialog-log imports and exports, the review queue, unanswered themes.
- ``training.ModelAdmin``: retraining with the gate, the model versions, rollback.
- ``jobs.JobRunner``: the one background job at a time (retraining or adaptation).
- ``sync_with_disk``/``follow_disk``: serve what an admin command in another process changed.

The page also reads the store's traffic, job, review and handoff tables through the console
(``traffic``, ``jobs``, ``reviews``, ``handoffs``, ``close_handoff``), never the store directly.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from chatbot.admin.dialogs import DialogAdmin
from chatbot.admin.faq import FaqAdmin
from chatbot.admin.jobs import Job, JobRunner
from chatbot.admin.report import RetrainReport
from chatbot.admin.training import ModelAdmin
from chatbot.bot import Bot
from chatbot.store import Store
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
        self.models = ModelAdmin(bot, store, self.jobs)

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
        return self.faq.apply(path, adapt, show_progress)

    def add_faq_entry(
        self, question: str, answer: str, alternatives: tuple[str, ...] = (), faq_id: str | None = None
    ) -> FaqEntry:
        return self.faq.add_entry(question, answer, alternatives, faq_id)

    def start_adapt(self, args: AdaptArgs | None = None) -> Job:
        return self.faq.start_adapt(args)

    def use_embedder(self, name: str | None) -> None:
        self.faq.use_embedder(name)

    def embedder_versions(self) -> list[dict]:
        return self.faq.embedder_versions()

    # -- dialogs, reviews, themes ---------------------------------------------------------------
    def import_dialogs(self, path: str | Path) -> dict:
        return self.dialogs.import_dialogs(path)

    def export_conversations(self) -> Path:
        return self.dialogs.export_conversations()

    def label_review(self, review_id: int, label_kind: str | None, label: str | None = None) -> None:
        self.dialogs.label_review(review_id, label_kind, label)

    def themes(self, top: int = 20) -> list[dict]:
        return self.dialogs.themes(top)

    def theme_to_intent(self, examples: list[str], intent: str) -> int:
        return self.dialogs.theme_to_intent(examples, intent)

    # -- training and versions ------------------------------------------------------------------
    def training_examples(self) -> list[Example]:
        return self.models.training_examples()

    def retrain_split(self, examples: list[Example]) -> tuple[list[Example], list[Example], dict]:
        return self.models.retrain_split(examples)

    def start_retrain(self, force: bool = False, args: TrainingArgs | None = None) -> Job:
        return self.models.start_retrain(force, args)

    def versions(self) -> list[dict]:
        return self.models.versions()

    def report(self, name: str) -> RetrainReport | None:
        return self.models.report(name)

    def activate(self, name: str) -> None:
        self.models.activate(name)

    # -- the store's tables, read for the page ----------------------------------------------------
    def traffic(self) -> dict:
        return self.store.traffic()

    def job_history(self) -> list[dict]:
        return self.store.jobs()

    def reviews(self) -> list[dict]:
        return self.store.reviews()

    def handoffs(self) -> list[dict]:
        return self.store.handoffs()

    def close_handoff(self, handoff_id: int) -> None:
        self.store.close_handoff(handoff_id)

    # -- changes made by another process --------------------------------------------------------
    def sync_with_disk(self) -> list[str]:
        """Serves what an admin command in another process (``python -m chatbot admin ...``)
        changed on disk: the model version that ``current`` names, the FAQ embedder, and the
        applied FAQ. Loaded first, then swapped, like the console's own changes. Returns what it swapped."""
        return self.models.sync_with_disk() + self.faq.sync_with_disk()

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
