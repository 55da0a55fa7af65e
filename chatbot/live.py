"""A person answering in the customer's chat: the conversation after a handoff.

A handoff waits in the console's *Live* queue (``open``); the bot keeps answering meanwhile,
and what is said is kept for the person who takes it. An agent's *Take* makes it ``live``: the
customer is told who joined ("Anna from our team has joined"), the bot stops answering, and
each customer message reaches the agent with the bot's suggested answer as a draft only the
agent sees. *Hand back to the bot* or *Close* ends it; the customer is told, and the bot
answers the next message. Outside business hours a customer may leave an e-mail address
(checked with ``email-validator``) for the reply.

Everything goes through the shared store (``chatbot.store.live``), so the agent's console and
the customer's chat may be served by different replicas. A customer's chat learns of new lines
by asking (:meth:`LiveChat.news` with the id of the last line it has: the public page every
half second, ``/api/chat`` clients by polling or streaming); its asking is how the agent knows
the customer is still there (:data:`GONE_AFTER_S`).

Limits: lines are stored redacted like every stored text, so a phone number an agent types
reaches the customer as ``[PHONE]``; give the customer such details in the templates or by
e-mail. A customer whose chat stops asking (the page closed, an API client that does not poll)
is shown as gone, not told anything.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Literal

from email_validator import EmailNotValidError, validate_email

from chatbot.domain import Domain
from chatbot.guard import clean_text
from chatbot.store import Message, Outcome, Store

GONE_AFTER_S = 20.0  # a customer whose chat has not asked for news this long is shown as gone
SEEN_EVERY_S = 5.0  # how often a chat's asking is written down (not at every poll)
_ADDRESS = re.compile(r"\S+@\S+")


LiveProblem = Literal["empty", "missing", "not_taken", "ended", "someone_else"]


class LiveError(ValueError):
    """An agent's action that the conversation's state does not allow; the message says why
    (in English, for logs and the CLI), ``problem`` which case it is (for the console to say it
    in its language), ``person`` who has the conversation, when someone else does."""

    def __init__(self, problem: LiveProblem, message: str, person: str | None = None):
        super().__init__(message)
        self.problem, self.person = problem, person


@dataclass(frozen=True)
class LiveState:
    """A conversation's handoff that is waiting (``open``) or ``live``."""

    handoff_id: int
    status: Literal["open", "live"]
    agent: str | None
    email: str | None


@dataclass(frozen=True)
class News:
    """What a customer's chat has not shown yet: the agent's lines and the notes (joined, handed
    back), after the cursor it asked with; ``cursor`` is the one to ask with next."""

    messages: list[Message]
    state: LiveState | None  # None: no person is waiting or answering
    cursor: int


@dataclass(frozen=True)
class Conversation:
    """A handoff as the agent sees it: the row, the lines since the handoff, whether the
    customer is still there, and the bot's draft for the last unanswered customer line."""

    handoff: dict
    messages: list[Message]
    gone: bool
    draft: str | None


def is_gone(handoff: dict, now: float | None = None) -> bool:
    """Whether the customer of a waiting or live handoff (a row) has stopped asking for news."""
    seen = handoff["customer_seen"] or handoff["ts"]
    return handoff["status"] != "closed" and (now or time.time()) - seen > GONE_AFTER_S


def email_in(text: str) -> str:
    """The e-mail address in a message ("it's anna@example.com."), normalised; ``ValueError``
    with the reason when the address cannot be one (no domain dot, a space, two @)."""
    match = _ADDRESS.search(text)
    if match is None:
        raise ValueError("there is no e-mail address in the message")
    candidate = match.group(0).strip(".,;:!?()<>[]\"'")
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


class LiveChat:
    """The live conversations of one store, in the domain's words (templates ``agent_joined``,
    ``agent_handed_back``, ``agent_closed``). ``max_chars``: the longest agent message."""

    def __init__(self, store: Store, domain: Domain, max_chars: int):
        self.store = store
        self.domain = domain
        self.max_chars = max_chars
        self._seen: dict[int, float] = {}
        self._seen_lock = threading.Lock()

    # -- the customer's side ----------------------------------------------------------------------
    def state(self, session_id: str) -> LiveState | None:
        row = self.store.active_handoff(session_id)
        return None if row is None else LiveState(row["id"], row["status"], row["agent"], row["email"])

    def news(self, session_id: str, after: int) -> News:
        """The agent's lines and the notes after ``after`` (the customer's chat asking)."""
        state = self.state(session_id)
        messages = self.store.messages(session_id, after, senders=("agent", "system"))
        if state is not None:
            self._mark_seen(state.handoff_id)
        return News(messages, state, messages[-1].id if messages else after)

    def cursor(self, session_id: str) -> int:
        """Where a chat that has shown everything so far starts asking from."""
        return self.store.last_message_id(session_id)

    def customer_wrote(self, state: LiveState, session_id: str, text: str, draft: str | None = None) -> None:
        self.store.post_message(state.handoff_id, session_id, "customer", text, draft=draft)
        self._mark_seen(state.handoff_id)

    def bot_answered(self, state: LiveState, session_id: str, text: str) -> None:
        self.store.post_message(state.handoff_id, session_id, "bot", text)

    def leave_email(self, state: LiveState, address: str) -> None:
        self.store.set_handoff_email(state.handoff_id, address)

    def _mark_seen(self, handoff_id: int) -> None:
        now = time.monotonic()
        with self._seen_lock:
            if now - self._seen.get(handoff_id, -SEEN_EVERY_S) < SEEN_EVERY_S:
                return
            self._seen[handoff_id] = now
        self.store.customer_seen(handoff_id)

    # -- the agent's side -------------------------------------------------------------------------
    def take(self, handoff_id: int, agent: str) -> None:
        """``agent`` takes the waiting conversation (``chatbot.store.Taken`` if someone has it)."""
        self.store.take_handoff(handoff_id, agent)
        handoff = self.store.handoff(handoff_id)
        self._note(handoff, agent, "agent_joined")

    def send(self, handoff_id: int, agent: str, text: object) -> Message:
        """The agent's message to the customer, logged as a human turn (``route="human"``)."""
        handoff = self._held_by(handoff_id, agent)
        message, _ = clean_text(text, self.max_chars)
        if not message:
            raise LiveError("empty", "the message is empty")
        posted = self.store.post_message(handoff_id, handoff["session_id"], "agent", message, author=agent)
        trace = {"route": "human", "agent": agent, "handoff_id": handoff_id}
        self.store.log_turn(handoff["session_id"], "", message, "human", None, 1.0, trace)
        return posted

    def end(self, handoff_id: int, agent: str, outcome: Outcome) -> str:
        """Hands the conversation back to the bot or closes it; the customer is told. A waiting
        conversation may be ended by anyone allowed to; a live one only by the agent who has it.
        Returns the status it had (``open`` or ``live``)."""
        handoff = self._handoff(handoff_id)
        if handoff["status"] == "live" and handoff["agent"] != agent:
            raise LiveError(
                "someone_else",
                f"{handoff['agent']} is answering this conversation; only they can end it",
                handoff["agent"],
            )
        if not self.store.end_handoff(handoff_id, outcome):
            raise LiveError("ended", f"handoff {handoff_id} has already ended")
        if handoff["status"] == "live":
            self._note(handoff, agent, "agent_handed_back" if outcome == "handed_back" else "agent_closed")
        return handoff["status"]

    def conversation(self, handoff_id: int) -> Conversation:
        handoff = self._handoff(handoff_id)
        messages = self.store.handoff_messages(handoff_id)
        draft = None
        for message in reversed(messages):
            if message.sender in ("agent", "bot"):
                break
            if message.sender == "customer":
                draft = message.draft
                break
        return Conversation(handoff, messages, is_gone(handoff), draft)

    def _handoff(self, handoff_id: int) -> dict:
        handoff = self.store.handoff(handoff_id)
        if handoff is None:
            raise LiveError("missing", f"there is no handoff {handoff_id}")
        return handoff

    def _held_by(self, handoff_id: int, agent: str) -> dict:
        handoff = self._handoff(handoff_id)
        if handoff["status"] == "open":
            raise LiveError("not_taken", "take the conversation first")
        if handoff["status"] != "live":
            raise LiveError("ended", f"handoff {handoff_id} has ended")
        if handoff["agent"] != agent:
            raise LiveError("someone_else", f"{handoff['agent']} is answering this conversation", handoff["agent"])
        return handoff

    def _note(self, handoff: dict, agent: str, template: str) -> None:
        text = self.domain.render(template, {"agent": agent})
        self.store.post_message(handoff["id"], handoff["session_id"], "system", text, author=agent)
