"""Rate limits shared by the chat page and ``/api/chat``."""

from __future__ import annotations

from collections.abc import Callable

from chatbot.ratelimit import RateLimiter
from chatbot.reply import Reply
from chatbot.settings import Settings

Refuse = Callable[[float], Reply]
"""The reply to a turn the limits refused, given the seconds to wait (``app.slow_down`` in the
bot's language): it never reaches the model."""


class Limits:
    """Rate limits shared by the chat page and ``/api/chat``: per client address and per
    conversation (token buckets; see ``chatbot.ratelimit``). ``Limits.off()`` for operators."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.client = RateLimiter(
            settings.rate_limit_per_minute if settings else 0, settings.rate_limit_burst if settings else 1
        )
        self.session = RateLimiter(
            settings.session_rate_limit_per_minute if settings else 0,
            settings.session_rate_limit_burst if settings else 1,
        )

    @classmethod
    def off(cls) -> Limits:
        return cls(None)

    def wait(self, client: str | None, session_id: str | None) -> float:
        """0.0 when this turn may run, else the seconds to wait."""
        wait = self.client.check(client or "unknown")
        if not wait and session_id:
            wait = self.session.check(session_id)
        return wait

    def wait_for(self, request: object | None, session_id: str | None) -> float:
        """:meth:`wait` for the sender of ``request`` (a Starlette or Gradio request: both carry
        ``client.host``; none on a request without a peer address)."""
        return self.wait(getattr(getattr(request, "client", None), "host", None), session_id)
