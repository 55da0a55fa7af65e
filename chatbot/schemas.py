"""The YAML files operators edit, as pydantic models, and their problems in operator words.

Each file's structure is a :class:`Schema`: unknown keys are refused (with a did-you-mean),
values are typed without guessing (``"2"`` is no number, ``yes`` is no text), choices are
``Literal`` and numbers carry their range; a key left empty (``slots:``) counts as not written.
:func:`validate` checks a parsed file and returns every problem at once, one line each: the key
path as written in the file (``intents.greet.handler``, ``groups.calm.terms[2]``), what is wrong
and what is allowed. The models live beside the code that reads their file: ``chatbot.domain``
(intents.yaml, templates.yaml), ``chatbot.entities`` (the ``entities:`` part of intents.yaml)
and ``chatbot.frustration`` (the frustration lexicon).

A validator of a model reports a problem by raising ``PydanticCustomError(type, message)``; the
message is put after the location (``where: message``), or at ``{where}`` when it contains it.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic.fields import FieldInfo


class ProblemsError(ValueError):
    """A file that cannot be used; ``problems`` lists every problem found, one line each."""

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            text = self.problems[0]
        else:
            text = f"{len(self.problems)} problems:\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


class Schema(BaseModel):
    """A mapping in an operator's YAML file: unknown keys refused, values checked, not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    unknown_keys: ClassVar[str] = "unknown keys"  # how a problem names keys the mapping does not have

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        """``key:`` with nothing after it is the same as leaving the key out."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_number_as_text)]  # YAML reads 30 as a number; here it is text

M = TypeVar("M", bound=BaseModel)


def validate(schema: type[M], data: object, skip: Iterable[str] = ()) -> tuple[M | None, list[str]]:
    """``data`` checked against ``schema``: the model and no problems, or None and every problem.

    ``skip`` names pydantic error types that are no problem here (``missing`` in a file that only
    adds to another); the model is None all the same when pydantic refused ``data``.
    """
    try:
        return schema.model_validate(data), []
    except ValidationError as exc:
        ignored = set(skip)
        return None, problems([e for e in exc.errors(include_url=False) if e["type"] not in ignored], schema)


def did_you_mean(word: object, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``options``, or ``""`` when none is close."""
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def problems(errors: list[dict], schema: type) -> list[str]:
    """Every error (pydantic's ``ValidationError.errors()`` against ``schema``) as one line, in the
    schema's order (a mapping's unknown keys after its known ones, reported together)."""
    lines: list[str | tuple] = []
    unknown: dict[tuple, list[str]] = {}  # the mapping's location -> its unknown keys
    for error in errors:
        loc = error["loc"]
        if error["type"] == "extra_forbidden":
            if loc[:-1] not in unknown:
                lines.append(loc[:-1])
            unknown.setdefault(loc[:-1], []).append(str(loc[-1]))
        else:
            lines.append(_describe(error, schema))
    return [_unknown_keys(schema, line, unknown[line]) if isinstance(line, tuple) else line for line in lines]


@dataclass
class _Spot:
    """A location in a file, as the schema sees it."""

    path: str  # the keys as written: intents.greet.slots.order_id, groups.calm.terms[2]; "" = the file
    annotation: Any  # the type expected there; None where the schema has no such key
    bounds: tuple  # (lowest, highest) allowed for a number; None where open
    tag: str = ""  # inside a union told apart by a key: "kind pattern"

    @property
    def where(self) -> str:
        return self.path or "the file"

    def at(self, text: str) -> str:
        return f"{self.path}: {text}" if self.path else text


def _spot(schema: type, loc: tuple) -> _Spot:
    """Follows ``loc`` (pydantic's location of an error) through ``schema``."""
    annotation, metadata, path, tag = schema, [], "", ""
    for part in loc:
        annotation, more = _unwrap(annotation)
        metadata = metadata + more
        members = _union_members(annotation)
        discriminator = next((m.discriminator for m in metadata if isinstance(m, FieldInfo) and m.discriminator), None)
        if members and discriminator:  # the member the error is in: a location step of its own
            annotation = next((m for m in members if part in _choices(_field(m, discriminator))), None)
            metadata, tag = [], f"{discriminator} {part}"
            continue
        if _is_model(annotation):
            info = _field_info(annotation, part)
            annotation, metadata = (info.annotation, list(info.metadata)) if info else (None, [])
        elif get_origin(annotation) is dict:
            annotation, metadata = get_args(annotation)[1], []
        elif get_origin(annotation) is list:
            annotation, metadata = get_args(annotation)[0], []
        else:
            annotation, metadata = None, []
        path = f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}" if path else str(part)
        tag = ""
    annotation, more = _unwrap(annotation)
    metadata = metadata + more
    limits = [m for m in metadata if isinstance(m, annotated_types.BaseMetadata)]
    low = next((getattr(m, a) for m in limits for a in ("ge", "gt") if hasattr(m, a)), None)
    high = next((getattr(m, a) for m in limits for a in ("le", "lt") if hasattr(m, a)), None)
    return _Spot(path, annotation, (low, high), tag)


def _unwrap(annotation: Any) -> tuple[Any, list]:
    """The type without ``Annotated`` and ``| None``, and the constraints that were on it."""
    metadata: list = []
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata += [item, *item.metadata] if isinstance(item, FieldInfo) else [item]
            continue
        members = _union_members(annotation)
        if members and type(None) in members and len(members) == 2:
            annotation = next(m for m in members if m is not type(None))
            continue
        return annotation, [m for m in metadata if isinstance(m, FieldInfo | annotated_types.BaseMetadata)]


def _union_members(annotation: Any) -> tuple:
    return get_args(annotation) if get_origin(annotation) in (typing.Union, types.UnionType) else ()


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_info(model: type[BaseModel], key: object) -> FieldInfo | None:
    return next((info for name, info in model.model_fields.items() if (info.alias or name) == key), None)


def _field(model: Any, key: str) -> Any:
    info = _field_info(model, key) if _is_model(model) else None
    return info.annotation if info else None


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _choices(annotation: Any) -> tuple:
    """The values a ``Literal`` allows (the tags of a union told apart by a key); () for others."""
    annotation, _ = _unwrap(annotation)
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _unknown_keys(schema: type, loc: tuple, keys: list[str]) -> str:
    spot = _spot(schema, loc)
    model = spot.annotation if _is_model(spot.annotation) else None
    allowed = _keys(model) if model else []
    label = model.unknown_keys if model else Schema.unknown_keys
    close = [(key, match) for key in keys for match in difflib.get_close_matches(key, allowed, n=1)]
    if len(keys) == 1 and close:
        hint = f"; did you mean '{close[0][1]}'?"
    else:
        hint = f"; did you mean {', '.join(f'{m!r} for {k!r}' for k, m in close)}?" if close else ""
    kind = f" for {spot.tag}" if spot.tag else ""
    return spot.at(f"{label} {sorted(keys)}; allowed{kind}: {', '.join(allowed)}{hint}")


def _shown(value: Any, limit: int = 60) -> str:
    """What was written, cut short: a list of 30 intents is no help in a one-line problem."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[: limit - 5] + " ...'" if isinstance(value, str) else text[:limit] + " ..."


def _describe(error: dict, schema: type) -> str:
    kind, loc, value, ctx = error["type"], error["loc"], error.get("input"), error.get("ctx") or {}
    if loc and loc[-1] == "[key]":
        return _spot(schema, loc[:-2]).at(f"the name {_shown(value)} must be a text")
    if kind == "missing":
        parent, choices = _spot(schema, loc[:-1]), _choices(_spot(schema, loc).annotation)
        allowed = f"; allowed: {', '.join(map(str, choices))}" if choices else ""
        return parent.at(f"{parent.tag + ' ' if parent.tag else ''}needs '{loc[-1]}'{allowed}")
    spot = _spot(schema, loc)
    where = spot.where
    if kind == "literal_error":
        choices = [str(c) for c in _choices(spot.annotation)]
        return f"{where} is {_shown(value)}; allowed: {', '.join(choices)}{did_you_mean(value, choices)}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = str(ctx.get("discriminator", "kind")).strip("'")
        tags = [str(t) for m in _union_members(spot.annotation) for t in _choices(_field(m, key))]
        if kind == "union_tag_not_found":
            return spot.at(f"needs '{key}'; allowed: {', '.join(tags)}")
        tag = ctx.get("tag")
        return f"{where}.{key} is {tag!r}; allowed: {', '.join(tags)}{did_you_mean(tag, tags)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if _is_model(spot.annotation):
            return f"{where} must be a mapping with keys {', '.join(_keys(spot.annotation))}, not {_shown(value)}"
        return f"{where} must be a mapping, not {_shown(value)}"
    if kind == "list_type":
        return f"{where} must be a list, not {_shown(value)}"
    if kind == "string_type":
        return f"{where} must be a text, not {_shown(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{where} must be true or false, not {_shown(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{where} must be an integer, not {_shown(value)}"
    if kind in ("float_type", "float_parsing", "greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        low, high = spot.bounds
        span = f" from {low} to {high}" if low is not None and high is not None else ""
        span = span or (f" from {low}" if low is not None else f" up to {high}" if high is not None else "")
        return spot.at(f"{_shown(value)} is not a number{span}")
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return f"{where} must not be empty"
        return spot.at(f"at least {ctx.get('min_length')} are needed, found {ctx.get('actual_length')}")
    message = str(error["msg"]).removeprefix("Value error, ")
    return message.replace("{where}", where) if "{where}" in message else spot.at(message)
