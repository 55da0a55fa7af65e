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
from retrieval.passages import PassageHit

# How a turn was answered. The bot's own routes; a message a person answers (live: the bot says
# nothing) and the address left for a reply (email, chatbot.live); an agent's message as logged
# (human); then the web layer's (app.py, chatbot.web): a refused turn (rate_limited), one that
# failed on our side (error), and /api/chat's full server (busy, never logged).
Route = Literal[
    "template",
    "faq",
    "document",
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


def document_source(hit: PassageHit, shown: list[str]) -> dict:
    """A passage that answered, as one of ``Reply.sources``: which document and section (and
    ``place``: with the page, for a PDF), the link to it (the document's URL with the section's anchor, when it has a URL), the sentences
    shown and the whole passage (for "show more")."""
    passage, document = hit.passage, hit.document
    url = document.url
    if url and passage.anchor.startswith("#") and "#" not in url:
        url += passage.anchor
    return {
        "kind": "document",
        "document_id": document.id,
        "passage_id": passage.id,
        "title": document.title,
        "section": passage.section,
        "anchor": passage.anchor,
        "label": hit.label,
        "place": hit.label + (f", {passage.anchor}" if passage.anchor.startswith("page") else ""),
        "url": url,
        "score": round(hit.score, 4),
        "sentences": shown,
        "passage": passage.text,
    }


def join_sentences(units: list[str]) -> str:
    """Sentences as one text: a space after a Latin sentence, none after a Chinese one."""
    text = ""
    for unit in units:
        text += unit if not text or text[-1] in CJK_STOPS else " " + unit
    return text


CJK_STOPS = "。！？；：…"


def clarify_offers(
    prediction: Prediction,
    near: Sequence[FaqHit],
    intents: Mapping[str, Intent],
    min_probability: float,
    limit: int,
    far: bool = False,
    passages: Sequence[PassageHit] = (),
) -> list[Offer]:
    """The candidates of a clarifying question: the classifier's likely intents that have a
    suggestion (``min_probability`` and up; none when the message is ``far`` from every training
    example, since the ranking then means nothing), then the ``near`` FAQ hits, then the
    ``passages`` close to the message (their document and section), at most ``limit``,
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
    offers += [Offer(h.label, "document", h.passage.id) for h in passages]
    seen: set[str] = set()
    return [o for o in offers if not (o.label in seen or seen.add(o.label))][:limit]
