"""What the bot remembers of each conversation, and where it keeps it.

A :class:`Session` is the state one conversation carries from turn to turn: filled slots, the
slot being asked for, the suggestions shown last (to understand "the second one"), counters
for fallbacks and frustration, and a bounded history (the handoff transcript). The store keeps
every turn; a session keeps only what the next turn needs.

Two homes, one interface (``turn(session_id)``: the session locked for one turn):
:class:`StoredSessions` keeps them in the database (``Store.session``), so any replica can
answer any turn, a restart continues every conversation where it was, and two turns of one
conversation are serialised across replicas; :class:`MemorySessions` keeps them in this
process (a bot without a store, used as a library), the least recently used dropped beyond
``max_sessions``.

Stored state: the history lines and the last question are redacted like every stored text;
slot values are kept as given, since the next turn needs them, until the conversation has
been idle for ``session_idle_hours`` and is deleted. A pending slot or an offer whose intent
the served domain no longer has is dropped when the state is read.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from chatbot.context import Offer
from chatbot.domain import Domain, Intent, Slot

if TYPE_CHECKING:
    from chatbot.store import Store

HISTORY_LINES = 200  # lines a session keeps (the handoff transcript); the store keeps every turn
EXPIRY_EVERY_S = 600.0  # how often a replica deletes idle conversations' state


@dataclass
class PendingSlot:
    """A slot the bot asked for, answered (or not) on the next turn."""

    intent: Intent
    slot: Slot
    retries: int = 0


@dataclass
class Session:
    """What the bot remembers of one conversation."""

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
    awaiting_email: bool = False  # handed off outside business hours: an address in a message is for the reply
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one turn at a time in this process
    unredacted: int = field(default=0, repr=False)  # history lines added since the state was read

    def remember(self, customer: str, bot: str | None) -> None:
        """Adds an exchange to the history (``bot`` None: a message a person answers), keeping
        the last ``HISTORY_LINES`` lines: a conversation of thousands of turns must not grow
        memory or each handoff's transcript."""
        lines = [("user", customer)] + ([("bot", bot)] if bot is not None else [])
        self.history += lines
        del self.history[:-HISTORY_LINES]
        self.unredacted = min(self.unredacted + len(lines), len(self.history))

    def to_state(self, redact: Callable[[str], str]) -> dict:
        """The session as JSON-ready data: intents and slots by name, texts redacted (the
        history lines read from storage were redacted when written: only new ones are)."""
        state = {name: getattr(self, name) for name in _PLAIN_FIELDS}
        kept = len(self.history) - self.unredacted
        state["history"] = [[who, text if i < kept else redact(text)] for i, (who, text) in enumerate(self.history)]
        state["last_question"] = redact(self.last_question) if self.last_question else self.last_question
        state["offers"] = [asdict(offer) for offer in self.offers]
        pending = self.pending
        state["pending"] = (
            None
            if pending is None
            else {"intent": pending.intent.name, "slot": pending.slot.name, "retries": pending.retries}
        )
        return state

    @classmethod
    def from_state(cls, session_id: str, state: dict, domain: Domain) -> Session:
        """The session ``to_state`` wrote, its names resolved against the served domain."""
        session = cls(session_id, **{name: state[name] for name in _PLAIN_FIELDS if name in state})
        session.history = [(who, text) for who, text in state.get("history", [])]
        session.last_question = state.get("last_question")
        session.offers = [Offer(**offer) for offer in state.get("offers", []) if _offer_known(offer, domain)]
        pending = state.get("pending")
        intent = domain.intents.get(pending["intent"]) if pending else None
        slot = next((s for s in intent.slots if s.name == pending["slot"]), None) if intent else None
        session.pending = PendingSlot(intent, slot, pending["retries"]) if slot else None
        return session


_PLAIN_FIELDS = (
    "slots",
    "fallbacks",
    "offered_handoff",
    "handed_off",
    "last_intent",
    "last_choice",
    "turns",
    "declined_handoff_at",
    "handoff_reason",
    "awaiting_email",
)


def _offer_known(offer: dict, domain: Domain) -> bool:
    return offer.get("kind") != "intent" or offer.get("target") in domain.intents


def new_session_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def _held(session: Session) -> Iterator[Session]:
    """A session held in memory, under its own lock for one turn."""
    with session.lock:
        yield session


def sessions_for(
    store: Store | None, domain: Domain, max_sessions: int, idle_hours: float
) -> MemorySessions | StoredSessions:
    """Where a bot keeps its conversations: in its store, or in memory without one."""
    return MemorySessions(max_sessions) if store is None else StoredSessions(store, domain, idle_hours * 3600)


class MemorySessions:
    """Sessions by id in this process's memory, the least recently used dropped beyond
    ``max_sessions``. Limit: a restart forgets them; replicas cannot share them."""

    def __init__(self, max_sessions: int):
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None = None) -> Session:
        """The session with this id, created if new (a fresh id when none is given)."""
        session_id = session_id or new_session_id()
        with self._lock:
            session = self._sessions.pop(session_id, None) or Session(session_id)
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session

    @contextmanager
    def turn(self, session: Session | str | None) -> Iterator[Session]:
        """The session locked for one turn (a ``Session`` object: that one)."""
        with _held(session if isinstance(session, Session) else self.get(session)) as held:
            yield held

    def __len__(self) -> int:
        return len(self._sessions)


class StoredSessions:
    """Sessions in the database: read and locked at the start of a turn, written at its end
    (``Store.session``); conversations idle for ``idle_seconds`` are deleted now and then."""

    def __init__(self, store: Store, domain: Domain, idle_seconds: float):
        self.store = store
        self.domain = domain
        self.idle_seconds = idle_seconds
        self._next_expiry = 0.0

    def get(self, session_id: str | None = None) -> Session:
        """The stored session (a snapshot, not locked), or a new one."""
        session_id = session_id or new_session_id()
        return self._session(session_id, self.store.peek_session(session_id))

    @contextmanager
    def turn(self, session: Session | str | None) -> Iterator[Session]:
        """The session locked for one turn: read, yielded, written back. A ``Session`` object
        is used as it is, under its own lock, and not stored (a conversation held in memory
        by its caller: the terminal chat, the tests)."""
        if isinstance(session, Session):
            with _held(session) as held:
                yield held
            return
        session_id = session or new_session_id()
        with self.store.session(session_id) as row:
            session = self._session(session_id, row.state)
            yield session
            row.state = session.to_state(self.store.redact)
        self._expire()

    def _session(self, session_id: str, state: dict | None) -> Session:
        return Session(session_id) if state is None else Session.from_state(session_id, state, self.domain)

    def _expire(self) -> None:
        if time.monotonic() >= self._next_expiry:
            self._next_expiry = time.monotonic() + EXPIRY_EVERY_S
            self.store.expire_sessions(self.idle_seconds)

    def __len__(self) -> int:
        return self.store.count_sessions()
