"""What the bot remembers of each conversation, and where it keeps it.

A :class:`Session` is the state one conversation carries from turn to turn: filled slots, the
slot being asked for, the suggestions shown last (to understand "the second one"), counters
for fallbacks and frustration, and a bounded history (the handoff transcript). The store keeps
every turn; a session keeps only what the next turn needs.

:class:`SessionCache` keeps sessions in this process's memory, least recently used dropped
beyond ``max_sessions``. Limit: a restart forgets them, and replicas behind a load balancer
need sticky sessions; the cache is the one place a shared session store would replace.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from chatbot.context import Offer
from chatbot.domain import Intent, Slot

HISTORY_LINES = 200  # lines a session keeps in memory (the handoff transcript); the store keeps every turn


@dataclass
class PendingSlot:
    """A slot the bot asked for, answered (or not) on the next turn."""

    intent: Intent
    slot: Slot
    retries: int = 0


@dataclass
class Session:
    """What the bot remembers of one conversation (in memory)."""

    id: str
    history: list[tuple[str, str]] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    pending: PendingSlot | None = None
    fallbacks: int = 0
    offered_handoff: bool = False
    handed_off: bool = False
    last_intent: str | None = None  # the last intent understood with confidence, for the handoff queue
    last_question: str | None = None  # the last question understood, to read a short follow-up against
    offers: list[Offer] = field(default_factory=list)  # suggestions shown last turn, to understand a choice
    last_choice: int | None = None
    turns: int = 0  # customer messages so far
    declined_handoff_at: int | None = None  # the turn at which the customer said no to a person
    handoff_reason: str | None = None  # why a person was offered (for the handoff queue), if the bot offered one
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one turn at a time

    def remember(self, customer: str, bot: str) -> None:
        """Adds an exchange to the history, keeping the last ``HISTORY_LINES`` lines: a
        conversation of thousands of turns must not grow memory or each handoff's transcript."""
        self.history += [("user", customer), ("bot", bot)]
        del self.history[:-HISTORY_LINES]


class SessionCache:
    """Sessions by id in memory, the least recently used dropped beyond ``max_sessions``."""

    def __init__(self, max_sessions: int):
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None = None) -> Session:
        """The session with this id, created if new (a fresh id when none is given)."""
        session_id = session_id or uuid.uuid4().hex
        with self._lock:
            session = self._sessions.pop(session_id, None) or Session(session_id)
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session

    def __len__(self) -> int:
        return len(self._sessions)
