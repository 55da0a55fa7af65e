"""The bot's domain, declared in data: intents with handlers and slots, entities, templates.

``assets/intents.yaml`` and ``assets/templates.yaml`` are validated once at load; an error
names the file, the key and what is allowed. The examples in ``intents.yaml`` are the
default training data (see ``finetune.load_examples``). Entities are declared under
``entities:`` (kinds and options: ``chatbot.entities``); a slot names the entity that fills it,
so an intent gets its own order-number pattern by pointing its slot at its own entity.
"""

from __future__ import annotations

import difflib
import random
import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml

from chatbot.entities import Entity, EntityConfigError, EntityExtractor, EntitySpec, PatternEntity

HANDLERS = ("template", "faq", "handoff")
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
)
SINGLE_ROLES = ("affirm", "deny", "handoff")  # one intent each
GROUP_ROLES = ("small_talk", "offers_person")  # a list of intents each


class DomainError(ValueError):
    pass


@dataclass(frozen=True)
class Slot:
    name: str
    entity: str
    prompt: str


@dataclass(frozen=True)
class Intent:
    name: str
    handler: str
    template: str | None
    slots: tuple[Slot, ...] = ()
    suggestion: str = ""  # how a clarifying question offers this intent (a button label); "" = never offered


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
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def load(cls, assets_dir: str | Path) -> Domain:
        assets_dir = Path(assets_dir)
        intents_file, templates_file = assets_dir / "intents.yaml", assets_dir / "templates.yaml"
        intents_data = _read_yaml(intents_file)
        templates_data = _read_yaml(templates_file)

        try:
            extractor = EntityExtractor.from_config(intents_data.get("entities"))
        except EntityConfigError as exc:
            raise DomainError(f"{intents_file}: {exc}") from None
        entities = extractor.specs

        variables = {str(k): str(v) for k, v in (templates_data.get("variables") or {}).items()}
        templates = {}
        for name, value in (templates_data.get("templates") or {}).items():
            variants = (value,) if isinstance(value, str) else tuple(value or ())
            if not variants or not all(isinstance(v, str) and v.strip() for v in variants):
                raise DomainError(f"{templates_file}: templates.{name} must be a text or a list of texts")
            templates[name] = variants
        for name in SYSTEM_TEMPLATES:
            if name not in templates:
                raise DomainError(f"{templates_file}: the template '{name}' is required")

        intents = {}
        for name, spec in (intents_data.get("intents") or {}).items():
            where = f"{intents_file}: intents.{name}"
            if not isinstance(spec, dict):
                raise DomainError(f"{where} must be a mapping with handler and examples")
            handler = spec.get("handler")
            if handler not in HANDLERS:
                raise DomainError(f"{where}.handler is {handler!r}; allowed: {', '.join(HANDLERS)}")
            template = spec.get("template")
            if handler == "template" and not template:
                raise DomainError(f"{where}: handler 'template' needs a 'template'")
            if template and template not in templates:
                raise DomainError(
                    f"{where}.template '{template}' is not in {templates_file.name}; known: {', '.join(sorted(templates))}"
                )
            slots = []
            for slot_name, slot in (spec.get("slots") or {}).items():
                entity = (slot or {}).get("entity")
                if entity not in entities:
                    raise DomainError(
                        f"{where}.slots.{slot_name}.entity {entity!r}; defined entities: {', '.join(entities) or 'none'}"
                    )
                slots.append(
                    Slot(slot_name, entity, str(slot.get("prompt") or f"What is your {slot_name.replace('_', ' ')}?"))
                )
            if template:
                allowed = set(variables) | {s.name for s in slots}
                for variant in templates[template]:
                    unknown = _fields(variant) - allowed
                    if unknown:
                        raise DomainError(
                            f"{templates_file}: template '{template}' uses {sorted(unknown)}; "
                            f"allowed for intent '{name}': {sorted(allowed)}"
                        )
            intents[name] = Intent(name, handler, template, tuple(slots), str(spec.get("suggestion") or ""))
        if len(intents) < 2:
            raise DomainError(f"{intents_file}: at least 2 intents are needed, found {len(intents)}")
        roles = _roles(intents_data.get("roles"), intents, f"{intents_file}: roles")
        return cls(intents, extractor, templates, variables, roles)

    def render(self, template: str, slots: dict[str, str] | None = None) -> str:
        """Fills a template; user text only ever enters as a value, never as a format string."""
        variant = self.rng.choice(self.templates[template])
        values = {**self.variables, **(slots or {})}
        return variant.format_map(_Missing(values))

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


def _roles(spec: object, intents: dict[str, Intent], where: str) -> Roles:
    """The ``roles:`` mapping, every name checked against the declared intents."""
    if spec is None:
        return Roles()
    if not isinstance(spec, dict):
        raise DomainError(f"{where} must be a mapping of role to intent(s)")
    unknown = sorted(set(spec) - set(SINGLE_ROLES) - set(GROUP_ROLES))
    if unknown:
        raise DomainError(f"{where}: unknown role(s) {unknown}; allowed: {', '.join(SINGLE_ROLES + GROUP_ROLES)}")

    def known(role: str, name: object) -> str:
        if not isinstance(name, str) or name not in intents:
            close = difflib.get_close_matches(str(name), intents, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DomainError(f"{where}.{role}: {name!r} is not a declared intent{hint}")
        return name

    values: dict = {}
    for role in SINGLE_ROLES:
        if spec.get(role) is not None:
            values[role] = known(role, spec[role])
    for role in GROUP_ROLES:
        names = spec.get(role) or []
        if not isinstance(names, list):
            raise DomainError(f"{where}.{role} must be a list of intents")
        values[role] = frozenset(known(role, name) for name in names)
    if "handoff" in values and intents[values["handoff"]].handler != "handoff":
        raise DomainError(f"{where}.handoff: intent '{values['handoff']}' must have handler 'handoff'")
    return Roles(**values)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise DomainError(f"{path} is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DomainError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DomainError(f"{path}: expected a mapping at the top level")
    return data
