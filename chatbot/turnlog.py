"""What a turn leaves behind: the logged turn, a review-queue entry for a doubtful one, and for
a handoff the queue row and its webhook.

The store redacts before it writes, so nothing here sees storage in the clear. The webhook is
sent in the background (``chatbot.handoff.Webhook``); ``last_webhook`` is the latest delivery,
for tests to join.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chatbot.handoff import Webhook
from chatbot.sessions import Session
from chatbot.store import Store

if TYPE_CHECKING:
    from chatbot.bot import Reply


class TurnLog:
    def __init__(self, store: Store | None, webhook: Webhook | None = None):
        """``store`` None: nothing is logged (a bot used as a library, without a data folder)."""
        self.store = store
        self.webhook = webhook
        self.last_webhook: threading.Thread | None = None

    def record(self, session: Session, message: str, reply: Reply, reason: str, model_version: str | None) -> None:
        """Logs the turn (setting ``reply.turn_id``, for feedback) and opens the handoff it asked for."""
        if self.store is None:
            return
        reply.turn_id = self.store.log_turn(
            session.id,
            message,
            reply.text,
            reply.route,
            reply.intent,
            reply.confidence,
            reply.trace,
            model_version,
            review=reply.route in ("clarify", "fallback") and bool(message),
            suggested_faq=reply.sources[0].get("faq_id") if reply.sources else None,  # a document's source has none
        )
        if reply.route == "handoff":
            transcript = [{"role": "user" if who == "user" else "agent", "text": text} for who, text in session.history]
            intent = session.last_intent or reply.intent
            handoff_id = self.store.open_handoff(session.id, intent, reason, transcript)
            if self.webhook is not None:
                self.last_webhook = self.webhook.send(self._payload(handoff_id, reply, model_version))

    def _payload(self, handoff_id: int, reply: Reply, model_version: str | None) -> dict:
        """What the webhook receives: the handoff as stored (transcript redacted) and the hours."""
        row = self.store.handoff(handoff_id)
        hours = reply.trace.get("business_hours") or {}
        return {
            "handoff_id": handoff_id,
            "session_id": row["session_id"],
            "intent": row["intent"],
            "reason": row["reason"],
            "transcript": row["transcript"],
            "created_at": datetime.fromtimestamp(row["ts"], UTC).isoformat(timespec="seconds"),
            "team_available": hours.get("open", True),
            "next_opening": hours.get("next_opening"),
            "model_version": model_version,
        }
