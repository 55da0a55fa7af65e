"""The ``entities:`` part of intents.yaml: one declaration schema per kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from chatbot.entities.base import DateOrder, EntitySpec, Normalise, Prefer
from chatbot.entities.dates import DateEntity
from chatbot.entities.kinds import EmailEntity, PatternEntity, PhoneEntity, ValuesEntity
from chatbot.entities.money import MoneyEntity
from chatbot.schemas import Schema, Text

_CLASSES = {
    "pattern": PatternEntity,
    "values": ValuesEntity,
    "email": EmailEntity,
    "phone": PhoneEntity,
    "money": MoneyEntity,
    "date": DateEntity,
}
KINDS = tuple(_CLASSES)


class _Declared(Schema):
    """What every entity may say; its ``kind`` says what else. The entity classes check the
    meaning of the values (a pattern compiles, a region exists, synonyms do not clash)."""

    kind: str
    description: Text = ""
    priority: int = 0

    def build(self, name: str) -> EntitySpec:
        return _CLASSES[self.kind](name, **self.model_dump(exclude={"kind"}))


def _mapping_of_values(values: Any) -> Any:
    """``values: [red, blue]`` is ``values: {red: [], blue: []}``."""
    return {value: [] for value in values} if isinstance(values, list) else values


def _upper(text: Any) -> Any:
    return text.upper() if isinstance(text, str) else text


class PatternDecl(_Declared):
    kind: Literal["pattern"] = "pattern"
    pattern: str
    ignore_case: bool = False
    normalise: Normalise = "none"
    redact: bool = False


class ValuesDecl(_Declared):
    kind: Literal["values"] = "values"
    values: Annotated[dict[Text, Any], BeforeValidator(_mapping_of_values)]  # canonical -> synonyms
    ignore_case: bool = True


class EmailDecl(_Declared):
    kind: Literal["email"]


class PhoneDecl(_Declared):
    kind: Literal["phone"]
    region: str | None = None


class MoneyDecl(_Declared):
    kind: Literal["money"]
    symbols: dict[str, Any] = {}  # symbol -> ISO 4217 code


class DateDecl(_Declared):
    kind: Literal["date"]
    order: Annotated[DateOrder, BeforeValidator(_upper)] = "MDY"  # mdy is MDY
    prefer: Prefer = "nearest"


def _kind_of(options: Any) -> Any:
    """``kind:`` may be left out where ``pattern:`` or ``values:`` says it."""
    if isinstance(options, dict) and options.get("kind") is None:
        kind = "pattern" if "pattern" in options else "values" if "values" in options else None
        return {**options, "kind": kind} if kind else options
    return options


EntityDecl = Annotated[
    PatternDecl | ValuesDecl | EmailDecl | PhoneDecl | MoneyDecl | DateDecl,
    Field(discriminator="kind"),
    BeforeValidator(_kind_of),
]


class EntitiesSection(Schema):
    """The ``entities:`` part of intents.yaml on its own."""

    entities: dict[str, EntityDecl] = {}
