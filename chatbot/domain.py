"""The bot's domain, declared in data: intents with handlers and slots, entities, templates.

``assets/intents.yaml`` and ``assets/templates.yaml`` are validated once at load against their
schemas (``IntentsFile``, ``TemplatesFile``: pydantic models, see ``chatbot.schemas``), then
checked against each other; a ``DomainError`` lists every problem, each with the file, the key
and what is allowed. The examples in ``intents.yaml`` are the default training data (see
``finetune.load_examples``). Entities are declared under
``entities:`` (kinds and options: ``chatbot.entities``); a slot names the entity that fills it,
so an intent gets its own order-number pattern by pointing its slot at its own entity.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chatbot.entities import Entity, EntityConfigError, EntityDecl, EntityExtractor, EntitySpec, PatternEntity
from chatbot.schemas import ProblemsError, Schema, Text, did_you_mean, validate

Handler = Literal["template", "faq", "handoff"]
HANDLERS = get_args(Handler)
SYSTEM_TEMPLATES = (  # what the router says itself; every customer-facing sentence lives in templates.yaml
    "fallback",
    "clarify",
    "out_of_scope",
    "empty_input",
    "offer_person",
    "frustration_offer",
    "handoff_closed",
    "slot_retry",
    "slot_missing",
    "talk_to_person",
    "server_error",
    "busy",
    "next_open_today",
    "next_open_tomorrow",
    "next_open_later",
    "ask_email",
    "email_noted",
    "email_invalid",
    "agent_joined",
    "agent_handed_back",
    "agent_closed",
    "document_source",
)


class DomainError(ProblemsError):
    """The domain files cannot be used; ``problems`` lists every problem (file: key: what)."""


@dataclass(frozen=True)
class Slot:
    name: str
    entity: str
    prompt: str
    label: str  # the slot as customers read it: {slot} in slot_retry and slot_missing


@dataclass(frozen=True)
class Intent:
    name: str
    handler: str
    template: str | None
    slots: tuple[Slot, ...] = ()
    suggestion: Text = ""  # how a clarifying question offers this intent (a button label); "" = never offered


@dataclass(frozen=True)
class Roles:
    """What the router needs to know about some intents, whatever they are called: declared
    under ``roles:`` in ``intents.yaml`` and checked at load. A role left out switches off what
    it drives (without ``affirm``, a "yes" after an offer of a person is an ordinary turn)."""

    affirm: str | None = None  # "yes" to an offer of a person hands over
    deny: str | None = None  # "no" to it declines (frustration offers wait a while)
    handoff: str | None = None  # the customer asks for a person; the "Talk to a person" button's intent
    small_talk: frozenset[str] = frozenset()  # never what the conversation is about (greetings, yes, no, thanks)
    offers_person: frozenset[str] = frozenset()  # answers that already ask "shall I connect you with a colleague?"

    @property
    def not_topics(self) -> frozenset[str]:
        """Intents that never become the topic a later handoff or follow-up refers to."""
        return self.small_talk | ({self.handoff} if self.handoff else set())


@dataclass
class Domain:
    intents: dict[str, Intent]
    extractor: EntityExtractor
    templates: dict[str, tuple[str, ...]]
    variables: dict[str, str]
    roles: Roles = field(default_factory=Roles)
    examples: tuple[str, ...] = ()  # questions the chat page offers to try (templates.yaml)
    weekdays: tuple[str, ...] = ()  # Monday first, in the bot's language; () = dates instead
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def load(cls, assets_dir: str | Path) -> Domain:
        """The domain declared in ``assets_dir``; a ``DomainError`` lists every problem found.

        Each file is read and validated against its schema, then the files are checked against
        each other (templates, entities and intents they name), then the domain is built.
        """
        intents_file, templates_file = Path(assets_dir) / "intents.yaml", Path(assets_dir) / "templates.yaml"
        declared, intents_problems = _validated(intents_file, IntentsFile)
        texts, templates_problems = _validated(templates_file, TemplatesFile)
        if declared is None or texts is None:
            raise DomainError(intents_problems + templates_problems)
        problems = _cross_check(declared, texts, intents_file, templates_file)
        try:
            extractor = EntityExtractor.from_declarations(declared.entities)
        except EntityConfigError as exc:
            problems += [f"{intents_file}: {problem}" for problem in exc.problems]
        if problems:
            raise DomainError(problems)
        return cls._build(declared, texts, extractor)

    @classmethod
    def _build(cls, declared: IntentsFile, texts: TemplatesFile, extractor: EntityExtractor) -> Domain:
        intents = {
            name: Intent(
                name,
                intent.handler,
                intent.template or None,
                tuple(
                    Slot(slot_name, slot.entity, slot.prompt, slot.label or slot_name.replace("_", " "))
                    for slot_name, slot in intent.slots.items()
                ),
                intent.suggestion,
            )
            for name, intent in declared.intents.items()
        }
        said = declared.roles
        roles = Roles(said.affirm, said.deny, said.handoff, frozenset(said.small_talk), frozenset(said.offers_person))
        templates = {name: tuple(variants) for name, variants in texts.templates.items()}
        return cls(
            intents, extractor, templates, dict(texts.variables), roles, tuple(texts.examples), tuple(texts.weekdays)
        )

    def render(self, template: str, slots: dict[str, str] | None = None) -> str:
        """Fills a template; user text only ever enters as a value, never as a format string."""
        variant = self.rng.choice(self.templates[template])
        values = {**self.variables, **(slots or {})}
        return variant.format_map(_Missing(values))

    def describe_opening(self, start: datetime, now: datetime) -> str:
        """When the team is back (``start``, in the business hours' time zone), in the bot's words:
        ``next_open_today``, ``next_open_tomorrow`` or ``next_open_later`` with ``{time}``,
        ``{timezone}``, ``{weekday}`` (``weekdays``, else the date) and ``{date}`` (ISO)."""
        days = (start.date() - now.astimezone(start.tzinfo).date()).days
        template = "next_open_today" if days == 0 else "next_open_tomorrow" if days == 1 else "next_open_later"
        weekday = self.weekdays[start.weekday()] if self.weekdays else start.date().isoformat()
        values = {"time": f"{start:%H:%M}", "timezone": str(start.tzinfo), "weekday": weekday}
        return self.render(template, {**values, "date": start.date().isoformat()})

    @property
    def entities(self) -> dict[str, EntitySpec]:
        """The declared entities by name."""
        return self.extractor.specs

    def extract(self, text: str, today: date | datetime | None = None) -> dict[str, str]:
        """The normalised value of the first (leftmost) entity of each name in ``text``.

        Args:
            text: the customer's message.
            today: what relative dates are resolved against; default ``date.today()``.
        """
        return self.extractor.first(text, today)

    def find_entities(self, text: str, today: date | datetime | None = None) -> list[Entity]:
        """Every entity in ``text`` with its span, non-overlapping, in text order."""
        return self.extractor.extract(text, today)

    @property
    def redact_patterns(self) -> dict[str, re.Pattern]:
        """Pattern entities declared with ``redact: true``, for ``chatbot.redact.redact(text, ...)``."""
        return {
            name: spec.pattern
            for name, spec in self.entities.items()
            if isinstance(spec, PatternEntity) and spec.redact
        }


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# -- the files' schemas ----------------------------------------------------------------------------
class SlotDecl(Schema):
    entity: str  # an entity declared under entities:
    prompt: Text  # the question asking for it
    label: Text = ""  # its name as customers read it ({slot} in slot_retry); "" = the name, _ as spaces


class IntentDecl(Schema):
    handler: Handler
    template: str = ""  # the answer (handler template), or what the faq/handoff handler says first
    slots: dict[str, SlotDecl] = {}
    suggestion: Text = ""  # how a clarifying question offers this intent (a button label)
    examples: list[str] = []  # the training examples; finetune.load_examples checks each

    @model_validator(mode="after")
    def _template_handler_has_a_template(self) -> IntentDecl:
        if self.handler == "template" and not self.template:
            raise PydanticCustomError("template_needed", "handler 'template' needs a 'template'")
        return self


class RolesDecl(Schema):
    """See ``Roles``; every intent named is checked against the declared intents after validation."""

    unknown_keys: ClassVar[str] = "unknown role(s)"
    affirm: str | None = None
    deny: str | None = None
    handoff: str | None = None
    small_talk: list[str] = []
    offers_person: list[str] = []


class IntentsFile(Schema):
    version: int = 1
    roles: RolesDecl = RolesDecl()
    entities: dict[str, EntityDecl] = {}
    intents: Annotated[dict[str, IntentDecl], Field(min_length=2)]


def _texts(value: Any) -> Any:
    """A template is a text or a list of texts (one is picked at random each time)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise PydanticCustomError("texts", "{where} must be a text or a list of texts")
    return value


def _template(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank", "{where} must not be empty")
    try:
        _fields(text)
    except ValueError as exc:
        raise PydanticCustomError(
            "template", "{where} is not a valid template ({error}); write {{ and }} for a brace", {"error": str(exc)}
        ) from None
    return text


Variants = Annotated[list[Annotated[str, AfterValidator(_template)]], Field(min_length=1), BeforeValidator(_texts)]


class TemplatesFile(Schema):
    variables: dict[str, Text] = {}  # filled into every template: {shop_name}
    templates: dict[str, Variants] = {}
    examples: list[Text] = []  # questions the chat page offers to try
    weekdays: list[Text] = []  # Monday first, for next_open_later

    @field_validator("weekdays")
    @classmethod
    def _seven(cls, value: list[str]) -> list[str]:
        if value and len(value) != 7:
            raise ValueError(f"seven names, Monday first, or none; got {len(value)}")
        return value


def _validated(path: Path, schema: type[Schema]) -> tuple[Any, list[str]]:
    """The file read and validated: the model and no problems, or None and every problem."""
    if not path.is_file():
        return None, [f"{path} is missing"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return None, [f"{path}: invalid YAML: {exc}"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected a mapping at the top level"]
    model, problems = validate(schema, data)
    return model, [f"{path}: {problem}" for problem in problems]


def _cross_check(declared: IntentsFile, texts: TemplatesFile, intents_file: Path, templates_file: Path) -> list[str]:
    """What the files say about each other, and about other parts of themselves: every mismatch."""
    templates, entities, intents = texts.templates, declared.entities, declared.intents
    problems = [
        f"{templates_file}: the template '{name}' is required" for name in SYSTEM_TEMPLATES if name not in templates
    ]
    for name, intent in intents.items():
        where = f"{intents_file}: intents.{name}"
        if intent.template and intent.template not in templates:
            problems.append(
                f"{where}.template '{intent.template}' is not in {templates_file.name}; "
                f"known: {', '.join(sorted(templates))}{did_you_mean(intent.template, templates)}"
            )
        for slot_name, slot in intent.slots.items():
            if slot.entity not in entities:
                problems.append(
                    f"{where}.slots.{slot_name}.entity '{slot.entity}' is not a declared entity; "
                    f"declared: {', '.join(entities) or 'none'}{did_you_mean(slot.entity, entities)}"
                )
        allowed = set(texts.variables) | set(intent.slots)
        unknown = {f for variant in templates.get(intent.template, ()) for f in _fields(variant)} - allowed
        if unknown:
            problems.append(
                f"{templates_file}: template '{intent.template}' uses {sorted(unknown)}; "
                f"allowed for intent '{name}': {sorted(allowed)}"
            )
    where = f"{intents_file}: roles"
    for role, value in declared.roles.model_dump().items():
        for name in [value] if isinstance(value, str) else value or ():
            if name not in intents:
                problems.append(f"{where}.{role}: {name!r} is not a declared intent{did_you_mean(name, intents)}")
    handoff = declared.roles.handoff
    if handoff in intents and intents[handoff].handler != "handoff":
        problems.append(f"{where}.handoff: intent '{handoff}' must have handler 'handoff'")
    return problems
