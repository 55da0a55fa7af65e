"""What every entity kind shares: the found ``Entity``, the ``EntitySpec`` base and config errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from chatbot.schemas import ProblemsError

Normalise = Literal["none", "upper", "lower"]  # the choices, as types of the declarations' schema
DateOrder = Literal["MDY", "DMY"]
Prefer = Literal["nearest", "past", "future"]
NORMALISE, DATE_ORDERS, PREFER = get_args(Normalise), get_args(DateOrder), get_args(Prefer)


class EntityConfigError(ProblemsError):
    """Bad entity declarations; ``problems`` names for each the entity, the key and what is allowed."""


@dataclass(frozen=True)
class Entity:
    """One entity found in a text: ``text[start:end]`` is what was written, ``value`` its normal form."""

    type: str  # the entity's name in intents.yaml, e.g. "order_id"
    value: str
    text: str
    start: int
    end: int


class EntitySpec:
    """One declared entity; ``find`` yields every candidate, overlapping ones included.

    ``find`` gets the message with full-width characters folded (``fold_width``), so a kind
    never sees ``１３８`` or ``Ａ－１``; the extractor puts back what was written as ``text``.
    """

    kind = ""

    def __init__(self, name: str, priority: int = 0, description: str = ""):
        self.name = name
        self.priority = priority
        self.description = description

    def find(self, text: str, today: date) -> Iterator[Entity]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
