"""The bot's database: conversation turns with traces, feedback, handoffs, the review queue,
operator-labelled examples, background jobs, each conversation's state, operator accounts,
the audit trail, and what people and customers say to each other after a handoff. All SQL of the project lives in this package; ``chatbot.database`` opens the
database (SQLite file or PostgreSQL URL) at this code's schema.

Every write is one short transaction on a pooled connection; SQLite waits for its write lock
(WAL: readers never block the writer) instead of ever failing with "database is locked". Text
is redacted (``chatbot.redact``) before it is written. The queries are written once for both
dialects; where they differ (a date), ``chatbot.database.day_of`` says how.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chatbot.database import TURN_POOL, create_engine, open_database, writer
from chatbot.store.jobs import JOB_STALE_S, JobBusy, JobRecords, this_replica
from chatbot.store.live import LiveRecords, Message, Outcome, Sender, Taken
from chatbot.store.people import PeopleRecords
from chatbot.store.records import DAY, Records
from chatbot.store.sessions import FileStripes, SessionRow, SessionStates

__all__ = [
    "DAY",
    "JOB_STALE_S",
    "JobBusy",
    "Message",
    "Outcome",
    "Records",
    "Sender",
    "SessionRow",
    "Store",
    "Taken",
    "this_replica",
]


def _identity(text: str) -> str:
    return text


class Store(JobRecords, SessionStates, PeopleRecords, LiveRecords):
    """The bot's database (see the module docstring); its methods are grouped by table in
    ``records`` (turns, feedback, handoffs, reviews, examples, kv, traffic), ``jobs``,
    ``sessions``, ``people`` (operator accounts, the audit trail) and ``live`` (handoffs as a
    person works them, the messages of a handed-off conversation)."""

    def __init__(self, url_or_path: str | Path, redact: Callable[[str], str] | None = None, replica: str | None = None):
        """``url_or_path``: a SQLite file, or a ``postgresql://`` URL; ``replica``: a name for
        this process in the jobs table (``this_replica``)."""
        self.path = None if "://" in str(url_or_path) else Path(url_or_path)
        if redact is None:
            from chatbot.redact import redact
        self.redact = redact or _identity
        self.engine = open_database(url_or_path)
        self._writer = writer(self.engine)
        self.dialect = self.engine.dialect.name
        self.replica = this_replica(replica)
        self._session_locks = None if self.path is None else FileStripes.of(self.path)
        self._turn_engine = create_engine(url_or_path, TURN_POOL) if self.dialect == "postgresql" else None
        self._fail_dead_jobs()

    def close(self) -> None:
        super().close()
        if self._turn_engine is not None:
            self._turn_engine.dispose()
