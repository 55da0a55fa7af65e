"""Handoffs as a person works them, and the messages of a handed-off conversation, as the
database keeps them. What the conversation means (who may say what, what the customer sees)
is ``chatbot.live``'s; this holds the rows. Taking a conversation is one conditional UPDATE, so
of two people pressing *Take* at once, on any replicas, exactly one gets it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from chatbot.store.records import Records

Sender = Literal["customer", "bot", "agent", "system"]
Outcome = Literal["handed_back", "closed"]


@dataclass(frozen=True)
class Message:
    """One line of a handed-off conversation, as stored (text redacted)."""

    id: int  # increasing: the cursor a chat polls with
    session_id: str
    handoff_id: int
    ts: float
    sender: Sender
    author: str | None  # the person, for agent and system lines
    text: str
    draft: str | None = None  # the bot's suggested answer to a customer line, for the person only


class Taken(Exception):
    """The conversation is not waiting any more: ``holder`` has it, or it has ended (None)."""

    def __init__(self, handoff_id: int, holder: str | None, status: str | None):
        self.handoff_id, self.holder, self.status = handoff_id, holder, status
        where = f"{holder} has it" if holder and status == "live" else f"it is {status or 'not in the queue'}"
        super().__init__(f"handoff {handoff_id} cannot be taken: {where}")


class LiveRecords(Records):
    def active_handoff(self, session_id: str) -> dict | None:
        """The conversation's handoff that is waiting or live, or None."""
        return self._row(
            "SELECT id, session_id, status, agent, email FROM handoffs"
            " WHERE session_id=:session_id AND status IN ('open', 'live') ORDER BY id DESC LIMIT 1",
            session_id=session_id,
        )

    def take_handoff(self, handoff_id: int, agent: str) -> None:
        """``agent`` takes a waiting conversation; :class:`Taken` if it is not waiting."""
        with self._tx() as db:
            taken = self._run(
                db,
                "UPDATE handoffs SET status='live', agent=:agent, taken_ts=:now WHERE id=:id AND status='open'",
                id=handoff_id,
                agent=agent,
                now=time.time(),
            ).rowcount
        if not taken:
            row = self._row("SELECT status, agent FROM handoffs WHERE id=:id", id=handoff_id)
            raise Taken(handoff_id, row and row["agent"], row and row["status"])

    def end_handoff(self, handoff_id: int, outcome: Outcome) -> bool:
        """Ends a waiting or live conversation; False if it had ended already."""
        return bool(
            self._write(
                "UPDATE handoffs SET status='closed', outcome=:outcome, ended_ts=:now"
                " WHERE id=:id AND status IN ('open', 'live')",
                id=handoff_id,
                outcome=outcome,
                now=time.time(),
            ).rowcount
        )

    def set_handoff_email(self, handoff_id: int, email: str) -> None:
        """The address a customer left for a reply: kept as given (it is there to be used),
        shown to the people who may work the queue."""
        self._write("UPDATE handoffs SET email=:email WHERE id=:id", id=handoff_id, email=email)

    def customer_seen(self, handoff_id: int) -> None:
        self._write("UPDATE handoffs SET customer_seen=:now WHERE id=:id", id=handoff_id, now=time.time())

    def post_message(
        self,
        handoff_id: int,
        session_id: str,
        sender: Sender,
        text: str,
        author: str | None = None,
        draft: str | None = None,
    ) -> Message:
        """Adds a line (text and draft redacted); a person's first reply is timed on the handoff."""
        now = time.time()
        text, draft = self.redact(text), (self.redact(draft) if draft else draft)
        with self._tx() as db:
            message_id = self._run(
                db,
                "INSERT INTO messages (session_id, handoff_id, ts, sender, author, text, draft)"
                " VALUES (:session_id, :handoff_id, :ts, :sender, :author, :text, :draft) RETURNING id",
                session_id=session_id,
                handoff_id=handoff_id,
                ts=now,
                sender=sender,
                author=author,
                text=text,
                draft=draft,
            ).scalar_one()
            if sender == "agent":
                self._run(
                    db,
                    "UPDATE handoffs SET first_reply_ts=:now WHERE id=:id AND first_reply_ts IS NULL",
                    id=handoff_id,
                    now=now,
                )
        return Message(message_id, session_id, handoff_id, now, sender, author, text, draft)

    def messages(self, session_id: str, after: int = 0, senders: tuple[Sender, ...] | None = None) -> list[Message]:
        """The conversation's lines after the cursor ``after``, oldest first."""
        which, params = self._in("sender", senders) if senders else ("TRUE", {})
        rows = self._rows(
            "SELECT id, session_id, handoff_id, ts, sender, author, text, draft FROM messages"
            f" WHERE session_id=:session_id AND id > :after AND {which} ORDER BY id",
            session_id=session_id,
            after=after,
            **params,
        )
        return [Message(**row) for row in rows]

    def handoff_messages(self, handoff_id: int) -> list[Message]:
        rows = self._rows(
            "SELECT id, session_id, handoff_id, ts, sender, author, text, draft FROM messages"
            " WHERE handoff_id=:id ORDER BY id",
            id=handoff_id,
        )
        return [Message(**row) for row in rows]

    def last_message_id(self, session_id: str) -> int:
        row = self._row("SELECT MAX(id) AS last FROM messages WHERE session_id=:session_id", session_id=session_id)
        return int(row["last"] or 0)
