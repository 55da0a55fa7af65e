"""The bot's domain, declared in data: intents with handlers and slots, entities, templates.

``assets/intents.yaml`` and ``assets/templates.yaml`` are validated once at load; an error
names the file, the key and what is allowed. The examples in ``intents.yaml`` are the
default training data (see ``finetune.load_examples``).
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HANDLERS = ("template", "faq", "handoff")
SYSTEM_TEMPLATES = ("fallback", "clarify", "out_of_scope", "empty_input")


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


@dataclass
class Domain:
    intents: dict[str, Intent]
    entities: dict[str, re.Pattern]
    templates: dict[str, tuple[str, ...]]
    variables: dict[str, str]
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def load(cls, assets_dir: str | Path) -> Domain:
        assets_dir = Path(assets_dir)
        intents_file, templates_file = assets_dir / "intents.yaml", assets_dir / "templates.yaml"
        intents_data = _read_yaml(intents_file)
        templates_data = _read_yaml(templates_file)

        entities = {}
        for name, spec in (intents_data.get("entities") or {}).items():
            try:
                entities[name] = re.compile(spec["pattern"])
            except (TypeError, KeyError, re.error) as exc:
                raise DomainError(
                    f"{intents_file}: entities.{name}.pattern is not a valid regular expression: {exc}"
                ) from None

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
        return cls(intents, entities, templates, variables)

    def render(self, template: str, slots: dict[str, str] | None = None) -> str:
        """Fills a template; user text only ever enters as a value, never as a format string."""
        variant = self.rng.choice(self.templates[template])
        values = {**self.variables, **(slots or {})}
        return variant.format_map(_Missing(values))

    def extract(self, text: str) -> dict[str, str]:
        """The first match of each entity pattern in ``text``."""
        found = {}
        for name, pattern in self.entities.items():
            match = pattern.search(text)
            if match:
                found[name] = match.group(0)
        return found


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
