"""What a turn returns (``Reply``, its ``Route``) and the pure pieces a reply is made of.

``chatbot.bot`` decides what to answer and keeps the conversation; the functions here only shape
what it decided (an FAQ hit as a source, the candidates a clarifying question offers). They read
no session and change none, so they can be tested without a bot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chatbot.context import Offer
from chatbot.domain import Intent
from finetune import Prediction
from retrieval import FaqHit

# How a turn was answered. The bot's own routes; a message a person answers (live: the bot says
# nothing) and the address left for a reply (email, chatbot.live); an agent's message as logged
# (human); then the web layer's (app.py, chatbot.web): a refused turn (rate_limited), one that
# failed on our side (error), and /api/chat's full server (busy, never logged).
Route = Literal[
    "template",
    "faq",
    "handoff",
    "ask_slot",
    "clarify",
    "fallback",
    "empty",
    "live",
    "email",
    "human",
    "rate_limited",
    "error",
    "busy",
]


@dataclass
class Reply:
    text: str
    route: Route
    intent: str | None
    confidence: float
    suggestions: list[str] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    trace: dict = field(default_factory=dict)
    turn_id: int | None = None  # the logged turn, for feedback

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def faq_source(hit: FaqHit) -> dict:
    """An FAQ hit as one of ``Reply.sources``."""
    return {"faq_id": hit.faq_id, "question": hit.question, "score": hit.score, "exact": hit.exact}


def clarify_offers(
    prediction: Prediction,
    near: Sequence[FaqHit],
    intents: Mapping[str, Intent],
    min_probability: float,
    limit: int,
    far: bool = False,
) -> list[Offer]:
    """The candidates of a clarifying question: the classifier's likely intents that have a
    suggestion (``min_probability`` and up; none when the message is ``far`` from every training
    example, since the ranking then means nothing), then the ``near`` FAQ hits, at most ``limit``,
    each label once (the first keeps its place)."""
    offers = [
        Offer(candidate.suggestion, "intent", name)
        for name, probability in prediction.ranking
        if (candidate := intents.get(name)) is not None
        and candidate.suggestion
        and probability >= min_probability
        and not far
    ]
    offers += [Offer(h.question, "faq", h.faq_id) for h in near]
    seen: set[str] = set()
    return [o for o in offers if not (o.label in seen or seen.add(o.label))][:limit]
