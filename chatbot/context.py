"""Reading a message against the conversation so far: choices among offered suggestions and
short follow-ups.

A clarifying question offers 2-3 candidates; the customer answers with the button, a number
("2"), an ordinal ("the second one"), words from the candidate ("the gift one"), "yes" when
there was one, or "no, the other one" after picking one of two. A short follow-up ("and how
long does that take?", "what about returns?") that the classifier cannot place on its own is
read together with the previous question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORDINALS = {
    "1": 0,
    "one": 0,
    "first": 0,
    "1st": 0,
    "2": 1,
    "two": 1,
    "second": 1,
    "2nd": 1,
    "3": 2,
    "three": 2,
    "third": 2,
    "3rd": 2,
    "4": 3,
    "four": 3,
    "fourth": 3,
    "4th": 3,
    "last": -1,
}
FILLER = {
    "the", "a", "an", "one", "option", "number", "no", "nr", "#", "please", "i", "mean", "meant", "want", "like",
    "would", "id", "i'd", "it's", "its", "is", "that", "this", "ok", "okay", "yes", "yeah", "sure", "oh", "sorry",
    "about", "question", "to", "my", "me", "do", "can", "you", "your", "of", "for", "on", "in", "and", "or", "it",
}  # fmt: skip
YES = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "right", "exactly", "please", "y"}
OTHER = re.compile(r"\b(the )?other( one)?\b|\bnot (that|this)( one)?\b|\bthe different one\b")
FOLLOW_UP = re.compile(
    r"^(and|also|plus|but|so|then|what about|how about|and what about|what if|same for|and for|and if)\b"
    r"|\b(that|it|this|those|them|there)\b",
)
WORD = re.compile(r"[\w#'-]+")


@dataclass(frozen=True)
class Offer:
    """A suggestion the bot showed: its label, and what choosing it means."""

    label: str
    kind: str  # "intent" | "faq" | "document"
    target: str  # intent name, FAQ id or passage id


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def resolve_choice(message: str, offers: list[Offer], last_choice: int | None = None) -> int | None:
    """The index of the offer the message chooses, or ``None`` when it chooses none."""
    if not offers:
        return None
    text = message.strip().lower()
    for i, offer in enumerate(offers):  # the button, or the label typed out
        if text.rstrip("?!. ") == offer.label.lower().rstrip("?!. "):
            return i
    words = _words(text)
    if not words or len(words) > 8:
        return None
    if OTHER.search(text) and len(offers) == 2:
        return 1 - last_choice if last_choice in (0, 1) else 1
    ordinals = [ORDINALS[w] for w in words if w in ORDINALS and w != "one"] or [0 for w in words if w == "one"]
    rest = [w for w in words if w not in ORDINALS and w not in FILLER]
    if len(set(ordinals)) == 1 and not rest:
        index = ordinals[0]
        if -len(offers) <= index < len(offers):
            return index % len(offers)
        return None
    if len(offers) == 1 and words[0] in YES and len(words) <= 3:
        return 0
    if rest:  # words that appear in exactly one offer's label
        matching = [i for i, offer in enumerate(offers) if all(_stem(w) in _stems(offer.label) for w in rest)]
        if len(matching) == 1:
            return matching[0]
    return None


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in _words(text)}


def is_follow_up(message: str) -> bool:
    """A short message that leans on the previous one ("and how long does that take?")."""
    words = _words(message)
    return 0 < len(words) <= 8 and bool(FOLLOW_UP.search(message.strip().lower()))


def with_context(previous_question: str, message: str) -> str:
    """The text the classifier reads for a follow-up: the previous question, then the new one."""
    return f"{previous_question.rstrip('?!. ')}. {message}"
