"""Each conversation's state between turns (``chatbot.sessions`` reads and writes it): one
row per conversation, locked for the length of a turn so that two turns of one conversation
never interleave, on any replica."""

from __future__ import annotations

import fcntl
import json
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from chatbot.store.records import Records

SESSION_LOCK_STRIPES = 256  # SQLite: conversations share this many locks


@dataclass
class SessionRow:
    """A conversation's stored state while its turn holds the lock: ``state`` as read (None
    for a new conversation); set ``state`` to what should be written back."""

    id: str
    state: dict | None


class SessionStates(Records):
    dialect: str
    _session_locks: FileStripes | None
    _turn_engine: sa.Engine | None  # PostgreSQL: the pool of connections that hold a turn's lock

    # -- conversation state -------------------------------------------------------------------
    @contextmanager
    def session(self, session_id: str) -> Iterator[SessionRow]:
        """A conversation's state for one turn: locked against every other turn of it, read,
        yielded, and written back if the turn ends without an exception. Two turns of a
        conversation never interleave, on any replica; other conversations go on.

        PostgreSQL: a transaction-level advisory lock, held on a connection of a pool of its
        own (``TURN_POOL``) so that turns holding locks never wait on each other for a
        connection to write with. SQLite: one of ``SESSION_LOCK_STRIPES`` byte-range locks on
        a file beside the database (processes sharing it on one disk) under a thread lock."""
        if self._turn_engine is not None:
            with self._turn_engine.begin() as db:
                self._run(db, "SELECT pg_advisory_xact_lock(hashtextextended(:id, 0))", id=session_id)
                row = SessionRow(session_id, self._read_session(db, session_id))
                yield row
                self._write_session(db, row)
            return
        with self._session_locks.hold(session_id):
            with self.engine.connect() as db:
                row = SessionRow(session_id, self._read_session(db, session_id))
            yield row
            with self._tx() as db:
                self._write_session(db, row)

    def _read_session(self, db: sa.Connection, session_id: str) -> dict | None:
        state = self._run(db, "SELECT state FROM sessions WHERE id=:id", id=session_id).scalar()
        return None if state is None else json.loads(state)

    def _write_session(self, db: sa.Connection, row: SessionRow) -> None:
        if row.state is None:
            return
        self._run(
            db,
            "INSERT INTO sessions (id, state, updated) VALUES (:id, :state, :now)"
            " ON CONFLICT (id) DO UPDATE SET state=excluded.state, updated=excluded.updated",
            id=row.id,
            state=json.dumps(row.state),
            now=time.time(),
        )

    def peek_session(self, session_id: str) -> dict | None:
        """A conversation's stored state without taking its lock (for display), or None."""
        with self.engine.connect() as db:
            return self._read_session(db, session_id)

    def count_sessions(self) -> int:
        return self._rows("SELECT COUNT(*) AS n FROM sessions")[0]["n"]

    def expire_sessions(self, idle_seconds: float) -> int:
        """Deletes the state of conversations idle for longer than ``idle_seconds`` (their turns stay)."""
        return self._write("DELETE FROM sessions WHERE updated < :cutoff", cutoff=time.time() - idle_seconds).rowcount


class FileStripes:
    """Locks by conversation id for SQLite: a thread lock per stripe (POSIX record locks do not
    exclude threads of one process) and a byte of ``<database>-sessions.lock`` per stripe
    (they exclude other processes). One per database file and process, shared by its stores."""

    _open: dict[Path, FileStripes] = {}
    _guard = threading.Lock()

    def __init__(self, path: Path):
        self.threads = [threading.Lock() for _ in range(SESSION_LOCK_STRIPES)]
        self.file = open(path.with_name(path.name + "-sessions.lock"), "a+b")  # noqa: SIM115 (kept open)

    @classmethod
    def of(cls, database: Path) -> FileStripes:
        key = database.resolve()
        with cls._guard:
            if key not in cls._open:
                cls._open[key] = cls(key)
            return cls._open[key]

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        stripe = zlib.crc32(session_id.encode()) % SESSION_LOCK_STRIPES
        with self.threads[stripe]:
            fcntl.lockf(self.file, fcntl.LOCK_EX, 1, stripe)
            try:
                yield
            finally:
                fcntl.lockf(self.file, fcntl.LOCK_UN, 1, stripe)
