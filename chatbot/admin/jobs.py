"""Background jobs of the admin layer: one at a time, with progress, cancel and a record.

Two trainings on the same cores would each run many times slower than one after the other, so
the runner refuses a second job while one runs instead of queueing it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from chatbot.store import Store

log = logging.getLogger(__name__)
JobKind = Literal["retrain", "adapt"]
JobStatus = Literal["running", "done", "cancelled", "failed"]
ProgressCallback = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised inside a job's thread by its progress callback once the operator cancelled it."""


@dataclass
class Job:
    """A background job as the console sees it: poll ``progress``/``message``, ``cancel()`` it."""

    id: int
    kind: JobKind
    progress: float = 0.0
    message: str = "starting"
    status: JobStatus = "running"
    result: dict | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> Job:
        if self.thread is not None:
            self.thread.join(timeout)
        return self


class JobRunner:
    """Runs one job at a time in a daemon thread and records its start, progress and end in
    the store, whichever way it ends."""

    def __init__(self, store: Store):
        self.store = store
        self.job: Job | None = None  # the latest job, running or not
        self._lock = threading.Lock()

    def start(self, kind: JobKind, serving: str, body: Callable[..., tuple[str, dict]], *args) -> Job:
        """Runs ``body(job, *args)`` in a background thread; ``RuntimeError`` if a job runs.
        ``body`` returns its outcome (a sentence) and its result. ``serving`` names what a
        cancelled or failed job leaves unchanged, for its message."""
        with self._lock:
            if self.job is not None and self.job.status == "running":
                raise RuntimeError(f"a {self.job.kind} job is already running (job {self.job.id})")
            job = Job(self.store.start_job(kind), kind)
            job.thread = threading.Thread(target=self._run, args=(job, serving, body, *args), daemon=True, name=kind)
            self.job = job
        job.thread.start()
        return job

    def _run(self, job: Job, serving: str, body: Callable[..., tuple[str, dict]], *args) -> None:
        try:
            outcome, result = body(job, *args)
            job.result = result
            job.status, job.progress, job.message = "done", 1.0, outcome
            self.store.finish_job(job.id, "done", outcome, result)
        except Cancelled:
            job.status, job.message = "cancelled", f"cancelled by the operator; the serving {serving} is unchanged"
            self.store.finish_job(job.id, "cancelled", job.message)
        except Exception as exc:
            log.exception("%s job %d failed", job.kind, job.id)
            job.status, job.message = "failed", f"failed: {exc}; the serving {serving} is unchanged"
            self.store.finish_job(job.id, "failed", job.message)

    def progress(self, job: Job, start: float = 0.0, span: float = 0.95) -> ProgressCallback:
        """A training's ``progress(fraction, message)`` for ``job``: it raises ``Cancelled`` once
        the operator cancelled, and records progress in the database at most once a second."""
        last_write = 0.0

        def progress(fraction: float, message: str) -> None:
            nonlocal last_write
            if job.cancel_event.is_set():
                raise Cancelled()
            job.progress, job.message = start + span * fraction, message
            if time.monotonic() - last_write > 1.0:  # the database row is for the record, not for polling
                self.store.update_job(job.id, job.progress, message)
                last_write = time.monotonic()

        return progress
