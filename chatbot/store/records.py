"""The records the bot keeps: turns with traces, feedback, handoffs, the review queue,
labelled examples, the admin's key-value pairs, and the traffic the console plots. All SQL of
these tables is here, written once for both dialects (``chatbot.database.day_of`` where a date
differs); ``Records`` also holds the engine and the transaction helpers the other parts use.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from chatbot.database import day_of

DAY = 86_400.0


class Records:
    engine: sa.Engine
    _writer: sa.Engine  # the same pool, for transactions that write (chatbot.database.writer)
    redact: Callable[[str], str]

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self._writer.begin() as connection:
            yield connection

    def _run(self, db: sa.Connection, sql: str, **params) -> sa.CursorResult:
        return db.execute(sa.text(sql), params)

    def _write(self, sql: str, **params) -> sa.CursorResult:
        """One statement in a transaction of its own (its rows cannot be read after it)."""
        with self._tx() as db:
            return self._run(db, sql, **params)

    def _insert(self, sql: str, **params) -> int:
        """One ``INSERT ... RETURNING id`` in a transaction of its own; returns the id."""
        with self._tx() as db:
            return self._run(db, sql, **params).scalar_one()

    def _row(self, sql: str, **params) -> dict | None:
        """The first row of a query, or None."""
        rows = self._rows(sql, **params)
        return rows[0] if rows else None

    def _rows(self, sql: str, **params) -> list[dict]:
        with self.engine.connect() as db:
            return [dict(row) for row in db.execute(sa.text(sql), params).mappings()]

    @staticmethod
    def _in(name: str, values: tuple[str, ...]) -> tuple[str, dict]:
        """``name IN (:name0, :name1, ...)`` and its parameters (a text query cannot bind a list)."""
        params = {f"{name}{i}": value for i, value in enumerate(values)}
        return f"{name} IN ({', '.join(':' + key for key in params)})", params

    def close(self) -> None:
        self.engine.dispose()

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
            turn_id = self._run(
                db,
                "INSERT INTO turns (session_id, ts, user_text, reply, route, intent, confidence, faq_id, model_version,"
                " trace) VALUES (:session_id, :ts, :user_text, :reply, :route, :intent, :confidence, :faq_id,"
                " :model_version, :trace) RETURNING id",
                session_id=session_id,
                ts=now,
                user_text=user_text,
                reply=reply,
                route=route,
                intent=intent,
                confidence=float(confidence),
                faq_id=trace.get("faq_id"),
                model_version=model_version,
                trace=json.dumps(trace, default=str),
            ).scalar_one()
            if review and user_text.strip():
                self._run(
                    db,
                    "INSERT INTO reviews (source, turn_id, text, suggested_intent, suggested_faq, confidence, ts)"
                    " VALUES ('low_confidence', :turn_id, :text, :intent, :faq, :confidence, :ts)",
                    turn_id=turn_id,
                    text=user_text,
                    intent=intent,
                    faq=suggested_faq,
                    confidence=float(confidence),
                    ts=now,
                )
        return turn_id

    def turns(self, session_id: str | None = None, limit: int = 1000) -> list[dict]:
        if session_id is None:
            return self._rows("SELECT * FROM turns ORDER BY id DESC LIMIT :limit", limit=limit)
        return self._rows(
            "SELECT * FROM turns WHERE session_id=:session_id ORDER BY id LIMIT :limit",
            session_id=session_id,
            limit=limit,
        )

    def turn(self, turn_id: int) -> dict | None:
        """One logged turn, its trace read back into a dict; ``None`` when there is none (or it was purged)."""
        row = self._row("SELECT * FROM turns WHERE id=:id", id=turn_id)
        if row is not None:
            row["trace"] = json.loads(row["trace"]) if row["trace"] else {}
        return row

    def count_turns(self) -> int:
        return self._rows("SELECT COUNT(*) AS n FROM turns")[0]["n"]

    def purge(self, older_than_days: float) -> int:
        """Deletes turns (and their feedback and reviews) older than the retention period."""
        return self._write("DELETE FROM turns WHERE ts < :cutoff", cutoff=time.time() - older_than_days * DAY).rowcount

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
            " WHERE t.ts >= :since AND (t.route IN ('fallback', 'clarify') OR f.rating = -1)"
            " AND trim(t.user_text) != '' ORDER BY t.id DESC LIMIT :limit",
            since=time.time() - days * DAY,
            limit=limit,
        )

    # -- feedback ---------------------------------------------------------------------------
    def set_feedback(self, turn_id: int, rating: int) -> None:
        """Thumbs up (+1) or down (-1) on a turn; a thumbs-down turn enters the review queue."""
        if rating not in (-1, 1):
            raise ValueError(f"rating must be 1 or -1, not {rating!r}")
        now = time.time()
        with self._tx() as db:
            turn = self._run(db, "SELECT * FROM turns WHERE id=:id", id=turn_id).mappings().first()
            if turn is None:
                raise KeyError(f"no turn {turn_id}")
            self._run(
                db,
                "INSERT INTO feedback (turn_id, rating, ts) VALUES (:turn_id, :rating, :ts)"
                " ON CONFLICT(turn_id) DO UPDATE SET rating=excluded.rating, ts=excluded.ts",
                turn_id=turn_id,
                rating=rating,
                ts=now,
            )
            if rating < 0:
                self._run(
                    db,
                    "INSERT INTO reviews (source, turn_id, text, suggested_intent, suggested_faq, confidence, ts)"
                    " VALUES ('thumbs_down', :turn_id, :text, :intent, :faq, :confidence, :ts)"
                    " ON CONFLICT(turn_id) WHERE turn_id IS NOT NULL DO UPDATE SET source='thumbs_down'",
                    turn_id=turn_id,
                    text=turn["user_text"],
                    intent=turn["intent"],
                    faq=turn["faq_id"],
                    confidence=turn["confidence"],
                    ts=now,
                )

    def feedback(self) -> list[dict]:
        return self._rows(
            "SELECT f.turn_id, f.rating, f.ts, t.user_text, t.reply, t.intent FROM feedback f"
            " JOIN turns t ON t.id = f.turn_id ORDER BY f.ts DESC"
        )

    # -- handoffs ---------------------------------------------------------------------------
    def open_handoff(self, session_id: str, intent: str | None, reason: str, transcript: list[dict]) -> int:
        """Queues the conversation for a person; one already waiting or live is kept (asking
        twice does not queue it twice). Returns the handoff's id."""
        redacted = [{**line, "text": self.redact(line["text"])} for line in transcript]
        with self._tx() as db:
            active = self._run(
                db,
                "SELECT id FROM handoffs WHERE session_id=:session_id AND status IN ('open', 'live')",
                session_id=session_id,
            ).scalar()
            if active is not None:
                return active
            return self._run(
                db,
                "INSERT INTO handoffs (session_id, ts, intent, reason, transcript)"
                " VALUES (:session_id, :ts, :intent, :reason, :transcript) RETURNING id",
                session_id=session_id,
                ts=time.time(),
                intent=intent,
                reason=reason,
                transcript=json.dumps(redacted),
            ).scalar_one()

    def handoffs(self, statuses: tuple[str, ...] = ("open", "live")) -> list[dict]:
        """Handoffs with these statuses (waiting and live by default), newest first."""
        which, params = self._in("status", statuses)
        rows = self._rows(f"SELECT * FROM handoffs WHERE {which} ORDER BY id DESC", **params)
        for row in rows:
            row["transcript"] = json.loads(row["transcript"])
        return rows

    def handoff(self, handoff_id: int) -> dict | None:
        """One handoff with its (redacted) transcript, or None."""
        row = self._row("SELECT * FROM handoffs WHERE id=:id", id=handoff_id)
        if row is not None:
            row["transcript"] = json.loads(row["transcript"])
        return row

    # -- review queue and labelled examples ------------------------------------------------------
    def add_review_items(self, items: list[dict], source: str = "import") -> int:
        """Unlabelled texts (e.g. from an imported dialog log) with a suggested intent or FAQ."""
        now = time.time()
        rows = [
            {
                "source": source,
                "text": self.redact(item["text"]),
                "intent": item.get("intent"),
                "faq": item.get("faq_id"),
                "confidence": item.get("confidence"),
                "ts": now,
            }
            for item in items
        ]
        if rows:
            with self._tx() as db:
                db.execute(
                    sa.text(
                        "INSERT INTO reviews (source, text, suggested_intent, suggested_faq, confidence, ts)"
                        " VALUES (:source, :text, :intent, :faq, :confidence, :ts)"
                    ),
                    rows,
                )
        return len(items)

    def reviews(self, status: str = "open", limit: int = 200) -> list[dict]:
        return self._rows(
            "SELECT * FROM reviews WHERE status=:status ORDER BY id DESC LIMIT :limit", status=status, limit=limit
        )

    def review(self, review_id: int) -> dict | None:
        return self._row("SELECT * FROM reviews WHERE id=:id", id=review_id)

    def resolve_review(self, review_id: int, label_kind: str | None, label: str | None) -> dict:
        """Labels a review item (intent or FAQ id) or dismisses it (``label_kind=None``).
        An intent label becomes a training example."""
        if label_kind not in (None, "intent", "faq"):
            raise ValueError(f"label_kind must be 'intent', 'faq' or None, not {label_kind!r}")
        with self._tx() as db:
            row = self._run(db, "SELECT * FROM reviews WHERE id=:id", id=review_id).mappings().first()
            if row is None:
                raise KeyError(f"no review item {review_id}")
            status = "dismissed" if label_kind is None else "labelled"
            self._run(
                db,
                "UPDATE reviews SET status=:status, label_kind=:kind, label=:label WHERE id=:id",
                status=status,
                kind=label_kind,
                label=label,
                id=review_id,
            )
            if label_kind == "intent":
                self._insert_example(db, row["text"], label, "review", time.time())
            return dict(row)

    def _insert_example(self, db: sa.Connection, text: str, intent: str, source: str, ts: float) -> int:
        return self._run(
            db,
            "INSERT INTO examples (text, intent, source, ts) VALUES (:text, :intent, :source, :ts)"
            " ON CONFLICT (text, intent) DO NOTHING",
            text=text,
            intent=intent,
            source=source,
            ts=ts,
        ).rowcount

    def add_examples(self, pairs: list[tuple[str, str]], source: str) -> int:
        """Labelled training examples (text, intent); duplicates are ignored. Returns how many were new."""
        now = time.time()
        with self._tx() as db:
            return sum(self._insert_example(db, self.redact(text), intent, source, now) for text, intent in pairs)

    def examples(self) -> list[dict]:
        return self._rows("SELECT text, intent, source, ts FROM examples ORDER BY id")

    # -- key-value (admin credentials) ------------------------------------------------------------
    def get(self, key: str) -> str | None:
        row = self._row("SELECT value FROM kv WHERE key=:key", key=key)
        return None if row is None else row["value"]

    def put(self, key: str, value: str) -> None:
        self._write(
            "INSERT INTO kv (key, value) VALUES (:key, :value) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            key=key,
            value=value,
        )

    # -- analytics ----------------------------------------------------------------------------
    def traffic(self, days: int = 30) -> dict:
        """Turns per day, intent mix, fallback and handoff rates, thumbs, and how people answer
        handoffs (resolved, median seconds to the first human reply): what the console plots."""
        since = time.time() - days * DAY
        day = day_of(self.engine, "ts")
        per_day = self._rows(
            f"SELECT {day} AS day, COUNT(*) AS turns,"
            " SUM(CASE WHEN route IN ('fallback', 'clarify') THEN 1 ELSE 0 END) AS fallbacks,"
            " SUM(CASE WHEN route = 'handoff' THEN 1 ELSE 0 END) AS handoffs,"
            " SUM(CASE WHEN route = 'human' THEN 1 ELSE 0 END) AS human"
            f" FROM turns WHERE ts >= :since GROUP BY {day} ORDER BY day",
            since=since,
        )
        intents = self._rows(
            "SELECT COALESCE(intent, '(none)') AS intent, COUNT(*) AS turns FROM turns WHERE ts >= :since"
            " GROUP BY intent ORDER BY turns DESC",
            since=since,
        )
        routes = self._rows(
            "SELECT route, COUNT(*) AS turns FROM turns WHERE ts >= :since GROUP BY route ORDER BY turns DESC",
            since=since,
        )
        thumbs = self._rows(
            "SELECT SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END) AS up, SUM(CASE WHEN rating = -1 THEN 1 ELSE 0 END)"
            " AS down FROM feedback WHERE ts >= :since",
            since=since,
        )[0]
        resolved = self._rows(
            "SELECT COUNT(*) AS n FROM handoffs WHERE ts >= :since AND outcome IS NOT NULL", since=since
        )[0]["n"]
        waits = [
            float(row["wait"])
            for row in self._rows(
                "SELECT first_reply_ts - ts AS wait FROM handoffs WHERE ts >= :since AND first_reply_ts IS NOT NULL",
                since=since,
            )
        ]
        total = sum(r["turns"] for r in routes)
        by_route = {r["route"]: r["turns"] for r in routes}
        return {
            "turns": total,
            "per_day": per_day,
            "intents": intents,
            "routes": routes,
            "fallback_rate": (by_route.get("fallback", 0) + by_route.get("clarify", 0)) / total if total else 0.0,
            "handoff_rate": by_route.get("handoff", 0) / total if total else 0.0,
            "thumbs_up": int(thumbs["up"] or 0),
            "thumbs_down": int(thumbs["down"] or 0),
            "handoffs_resolved": int(resolved),
            "first_reply_s": statistics.median(waits) if waits else None,
        }
