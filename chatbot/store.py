"""The bot's database: conversation turns with traces, feedback, handoffs, the review queue,
operator-labelled examples and background jobs. All SQL of the project lives in this module,
so a server database can replace the embedded SQLite file (see docs/scaling.md).

SQLite runs in WAL mode: readers never block the writer. One connection per store, guarded by
a lock, with a busy timeout, so concurrent turns queue for a few milliseconds instead of ever
seeing "database is locked". Text is redacted (``chatbot.redact``) before it is written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    ts REAL NOT NULL,
    user_text TEXT NOT NULL,
    reply TEXT NOT NULL,
    route TEXT NOT NULL,
    intent TEXT,
    confidence REAL,
    faq_id TEXT,
    model_version TEXT,
    trace TEXT
);
CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, id);
CREATE INDEX IF NOT EXISTS turns_ts ON turns(ts);
CREATE TABLE IF NOT EXISTS feedback (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    ts REAL NOT NULL,
    intent TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    transcript TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,            -- low_confidence | thumbs_down | import
    turn_id INTEGER REFERENCES turns(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    suggested_intent TEXT,
    suggested_faq TEXT,
    confidence REAL,
    ts REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',  -- open | labelled | dismissed
    label_kind TEXT,                 -- intent | faq
    label TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS reviews_turn ON reviews(turn_id) WHERE turn_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS examples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    intent TEXT NOT NULL,
    source TEXT NOT NULL,
    ts REAL NOT NULL,
    UNIQUE (text, intent)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,            -- running | done | failed | cancelled
    started REAL NOT NULL,
    finished REAL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

DAY = 86_400.0


def _identity(text: str) -> str:
    return text


class Store:
    def __init__(self, path: str | Path, redact: Callable[[str], str] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if redact is None:
            from chatbot.redact import redact
        self.redact = redact or _identity
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            self._db.executescript(SCHEMA)
            # a job that was running when the process died can never finish: say so
            self._db.execute(
                "UPDATE jobs SET status='failed', finished=?, message='interrupted: the process stopped during the job' "
                "WHERE status='running'",
                (time.time(),),
            )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, params).fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- turns ------------------------------------------------------------------------------
    def log_turn(
        self,
        session_id: str,
        user_text: str,
        reply: str,
        route: str,
        intent: str | None,
        confidence: float,
        trace: dict,
        model_version: str | None = None,
        review: bool = False,
        suggested_faq: str | None = None,
    ) -> int:
        """Stores one turn (redacted); a doubtful one also enters the review queue. Returns its id."""
        now = time.time()
        user_text, reply = self.redact(user_text), self.redact(reply)
        with self._tx() as db:
            turn_id = db.execute(
                "INSERT INTO turns (session_id, ts, user_text, reply, route, intent, confidence, faq_id, model_version, trace)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    now,
                    user_text,
                    reply,
                    route,
                    intent,
                    confidence,
                    trace.get("faq_id"),
                    model_version,
                    json.dumps(trace, default=str),
                ),
            ).lastrowid
            if review and user_text.strip():
                db.execute(
                    "INSERT INTO reviews (source, turn_id, text, suggested_intent, suggested_faq, confidence, ts)"
                    " VALUES ('low_confidence', ?, ?, ?, ?, ?, ?)",
                    (turn_id, user_text, intent, suggested_faq, confidence, now),
                )
        return turn_id

    def turns(self, session_id: str | None = None, limit: int = 1000) -> list[dict]:
        if session_id is None:
            return self._rows("SELECT * FROM turns ORDER BY id DESC LIMIT ?", (limit,))
        return self._rows("SELECT * FROM turns WHERE session_id=? ORDER BY id LIMIT ?", (session_id, limit))

    def count_turns(self) -> int:
        return self._rows("SELECT COUNT(*) AS n FROM turns")[0]["n"]

    def purge(self, older_than_days: float) -> int:
        """Deletes turns (and their feedback and reviews) older than the retention period."""
        with self._tx() as db:
            return db.execute("DELETE FROM turns WHERE ts < ?", (time.time() - older_than_days * DAY,)).rowcount

    def export_conversations(self) -> list[dict]:
        """All stored conversations in the dialog-log format (already redacted)."""
        conversations: dict[str, dict] = {}
        for turn in self._rows("SELECT * FROM turns ORDER BY id"):
            conversation = conversations.setdefault(
                turn["session_id"], {"conversation_id": turn["session_id"], "turns": []}
            )
            conversation["turns"].append(
                {"role": "user", "text": turn["user_text"], "ts": turn["ts"], "route": turn["route"]}
            )
            conversation["turns"].append({"role": "agent", "text": turn["reply"], "ts": turn["ts"]})
        return list(conversations.values())

    def unanswered_turns(self, days: float, limit: int) -> list[dict]:
        """The most recent turns the bot did not answer well: a fallback or a clarifying question,
        or a thumbs-down (``rating`` -1), newest first."""
        return self._rows(
            "SELECT t.id, t.ts, t.user_text, t.route, t.intent, f.rating FROM turns t"
            " LEFT JOIN feedback f ON f.turn_id = t.id"
            " WHERE t.ts >= ? AND (t.route IN ('fallback', 'clarify') OR f.rating = -1) AND trim(t.user_text) != ''"
            " ORDER BY t.id DESC LIMIT ?",
            (time.time() - days * DAY, limit),
        )

    # -- feedback ---------------------------------------------------------------------------
    def set_feedback(self, turn_id: int, rating: int) -> None:
        """Thumbs up (+1) or down (-1) on a turn; a thumbs-down turn enters the review queue."""
        if rating not in (-1, 1):
            raise ValueError(f"rating must be 1 or -1, not {rating!r}")
        now = time.time()
        with self._tx() as db:
            turn = db.execute("SELECT * FROM turns WHERE id=?", (turn_id,)).fetchone()
            if turn is None:
                raise KeyError(f"no turn {turn_id}")
            db.execute(
                "INSERT INTO feedback (turn_id, rating, ts) VALUES (?, ?, ?)"
                " ON CONFLICT(turn_id) DO UPDATE SET rating=excluded.rating, ts=excluded.ts",
                (turn_id, rating, now),
            )
            if rating < 0:
                db.execute(
                    "INSERT INTO reviews (source, turn_id, text, suggested_intent, suggested_faq, confidence, ts)"
                    " VALUES ('thumbs_down', ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(turn_id) WHERE turn_id IS NOT NULL DO UPDATE SET source='thumbs_down'",
                    (turn_id, turn["user_text"], turn["intent"], turn["faq_id"], turn["confidence"], now),
                )

    def feedback(self) -> list[dict]:
        return self._rows(
            "SELECT f.turn_id, f.rating, f.ts, t.user_text, t.reply, t.intent FROM feedback f"
            " JOIN turns t ON t.id = f.turn_id ORDER BY f.ts DESC"
        )

    # -- handoffs ---------------------------------------------------------------------------
    def open_handoff(self, session_id: str, intent: str | None, reason: str, transcript: list[dict]) -> int:
        redacted = [{**line, "text": self.redact(line["text"])} for line in transcript]
        with self._tx() as db:
            return db.execute(
                "INSERT INTO handoffs (session_id, ts, intent, reason, transcript) VALUES (?, ?, ?, ?, ?)",
                (session_id, time.time(), intent, reason, json.dumps(redacted)),
            ).lastrowid

    def handoffs(self, status: str | None = "open") -> list[dict]:
        sql = "SELECT * FROM handoffs" + (" WHERE status=?" if status else "") + " ORDER BY id DESC"
        rows = self._rows(sql, (status,) if status else ())
        for row in rows:
            row["transcript"] = json.loads(row["transcript"])
        return rows

    def handoff(self, handoff_id: int) -> dict | None:
        """One handoff with its (redacted) transcript, or None."""
        rows = self._rows("SELECT * FROM handoffs WHERE id=?", (handoff_id,))
        for row in rows:
            row["transcript"] = json.loads(row["transcript"])
        return rows[0] if rows else None

    def close_handoff(self, handoff_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE handoffs SET status='closed' WHERE id=?", (handoff_id,))

    # -- review queue and labelled examples ------------------------------------------------------
    def add_review_items(self, items: list[dict], source: str = "import") -> int:
        """Unlabelled texts (e.g. from an imported dialog log) with a suggested intent or FAQ."""
        now = time.time()
        with self._tx() as db:
            for item in items:
                db.execute(
                    "INSERT INTO reviews (source, text, suggested_intent, suggested_faq, confidence, ts)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        source,
                        self.redact(item["text"]),
                        item.get("intent"),
                        item.get("faq_id"),
                        item.get("confidence"),
                        now,
                    ),
                )
        return len(items)

    def reviews(self, status: str = "open", limit: int = 200) -> list[dict]:
        return self._rows("SELECT * FROM reviews WHERE status=? ORDER BY id DESC LIMIT ?", (status, limit))

    def resolve_review(self, review_id: int, label_kind: str | None, label: str | None) -> dict:
        """Labels a review item (intent or FAQ id) or dismisses it (``label_kind=None``).
        An intent label becomes a training example."""
        if label_kind not in (None, "intent", "faq"):
            raise ValueError(f"label_kind must be 'intent', 'faq' or None, not {label_kind!r}")
        with self._tx() as db:
            row = db.execute("SELECT * FROM reviews WHERE id=?", (review_id,)).fetchone()
            if row is None:
                raise KeyError(f"no review item {review_id}")
            status = "dismissed" if label_kind is None else "labelled"
            db.execute(
                "UPDATE reviews SET status=?, label_kind=?, label=? WHERE id=?", (status, label_kind, label, review_id)
            )
            if label_kind == "intent":
                db.execute(
                    "INSERT OR IGNORE INTO examples (text, intent, source, ts) VALUES (?, ?, 'review', ?)",
                    (row["text"], label, time.time()),
                )
            return dict(row)

    def add_examples(self, pairs: list[tuple[str, str]], source: str) -> int:
        """Labelled training examples (text, intent); duplicates are ignored. Returns how many were new."""
        now = time.time()
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO examples (text, intent, source, ts) VALUES (?, ?, ?, ?)",
                [(self.redact(text), intent, source, now) for text, intent in pairs],
            )
            return db.total_changes - before

    def examples(self) -> list[dict]:
        return self._rows("SELECT text, intent, source, ts FROM examples ORDER BY id")

    # -- jobs ---------------------------------------------------------------------------------
    def start_job(self, kind: str) -> int:
        with self._tx() as db:
            return db.execute(
                "INSERT INTO jobs (kind, status, started) VALUES (?, 'running', ?)", (kind, time.time())
            ).lastrowid

    def update_job(self, job_id: int, progress: float, message: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE jobs SET progress=?, message=? WHERE id=?", (progress, message, job_id))

    def finish_job(self, job_id: int, status: str, message: str, result: dict | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET status=?, finished=?, message=?, result=?, progress=CASE WHEN ?='done' THEN 1 ELSE progress END"
                " WHERE id=?",
                (status, time.time(), message, json.dumps(result, default=str) if result else None, status, job_id),
            )

    def jobs(self, limit: int = 20) -> list[dict]:
        rows = self._rows("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        for row in rows:
            row["result"] = json.loads(row["result"]) if row["result"] else None
        return rows

    # -- key-value (admin credentials) ------------------------------------------------------------
    def get(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM kv WHERE key=?", (key,))
        return rows[0]["value"] if rows else None

    def put(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    # -- analytics ----------------------------------------------------------------------------
    def traffic(self, days: int = 30) -> dict:
        """Turns per day, intent mix, fallback and handoff rates, thumbs: what the console plots."""
        since = time.time() - days * DAY
        per_day = self._rows(
            "SELECT date(ts, 'unixepoch') AS day, COUNT(*) AS turns,"
            " SUM(route IN ('fallback', 'clarify')) AS fallbacks, SUM(route = 'handoff') AS handoffs"
            " FROM turns WHERE ts >= ? GROUP BY day ORDER BY day",
            (since,),
        )
        intents = self._rows(
            "SELECT COALESCE(intent, '(none)') AS intent, COUNT(*) AS turns FROM turns WHERE ts >= ?"
            " GROUP BY intent ORDER BY turns DESC",
            (since,),
        )
        routes = self._rows(
            "SELECT route, COUNT(*) AS turns FROM turns WHERE ts >= ? GROUP BY route ORDER BY turns DESC", (since,)
        )
        thumbs = self._rows(
            "SELECT SUM(rating = 1) AS up, SUM(rating = -1) AS down FROM feedback WHERE ts >= ?", (since,)
        )[0]
        total = sum(r["turns"] for r in routes)
        by_route = {r["route"]: r["turns"] for r in routes}
        return {
            "turns": total,
            "per_day": per_day,
            "intents": intents,
            "routes": routes,
            "fallback_rate": (by_route.get("fallback", 0) + by_route.get("clarify", 0)) / total if total else 0.0,
            "handoff_rate": by_route.get("handoff", 0) / total if total else 0.0,
            "thumbs_up": thumbs["up"] or 0,
            "thumbs_down": thumbs["down"] or 0,
        }
