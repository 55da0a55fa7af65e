"""``EntityExtractor``: every declared entity in a message, overlaps resolved once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime

from chatbot.entities.base import Entity, EntityConfigError, EntitySpec
from chatbot.entities.declarations import EntitiesSection, EntityDecl
from chatbot.entities.text import fold_width
from chatbot.schemas import validate


class EntityExtractor:
    """Finds all declared entities in a text, without overlaps, in text order."""

    def __init__(self, specs: Iterable[EntitySpec]):
        self.specs: dict[str, EntitySpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise EntityConfigError(f"entities.{spec.name} is declared twice")
            self.specs[spec.name] = spec
        self._rank = {name: i for i, name in enumerate(self.specs)}

    @classmethod
    def from_config(cls, config: Mapping[str, Mapping] | None) -> EntityExtractor:
        """Builds the extractor from the ``entities:`` mapping of intents.yaml (name -> options).

        The kind is ``kind:``, or ``pattern``/``values`` when that key is given. Unknown keys,
        kinds, normalisations, regions, orders and bad patterns raise ``EntityConfigError``
        listing every problem.
        """
        section, problems = validate(EntitiesSection, {"entities": config})
        if section is None:
            raise EntityConfigError(problems)
        return cls.from_declarations(section.entities)

    @classmethod
    def from_declarations(cls, declarations: Mapping[str, EntityDecl]) -> EntityExtractor:
        """Builds the extractor from validated declarations; ``EntityConfigError`` lists what
        only building finds (a pattern that does not compile, an unknown phone region, ...)."""
        specs, problems = [], []
        for name, declaration in declarations.items():
            try:
                specs.append(declaration.build(name))
            except EntityConfigError as exc:
                problems += exc.problems
        if problems:
            raise EntityConfigError(problems)
        return cls(specs)

    def extract(self, text: str, today: date | datetime | None = None) -> list[Entity]:
        """All entities in ``text``, non-overlapping, ordered by position.

        Args:
            text: the customer's message.
            today: the date relative dates are resolved against; default ``date.today()``
                (the only thing that makes the result depend on the clock).
        """
        if not text:
            return []
        today = _as_date(today)
        folded = fold_width(text)  # one character for one: spans in it are spans in text
        candidates = [entity for spec in self.specs.values() for entity in spec.find(folded, today)]
        candidates.sort(key=lambda e: (e.start - e.end, -self.specs[e.type].priority, e.start, self._rank[e.type]))
        chosen: list[Entity] = []
        for entity in candidates:
            if all(entity.end <= other.start or entity.start >= other.end for other in chosen):
                chosen.append(entity)
        if folded != text:
            chosen = [replace(entity, text=text[entity.start : entity.end]) for entity in chosen]
        return sorted(chosen, key=lambda e: e.start)

    def first(self, text: str, today: date | datetime | None = None) -> dict[str, str]:
        """The value of the first (leftmost) entity of each name found in ``text``."""
        found: dict[str, str] = {}
        for entity in self.extract(text, today):
            found.setdefault(entity.type, entity.value)
        return found


def _as_date(today: date | datetime | None) -> date:
    if today is None:
        return date.today()
    return today.date() if isinstance(today, datetime) else today
