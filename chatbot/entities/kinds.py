"""The text kinds: ``pattern``, ``values``, ``email`` and ``phone``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date

import phonenumbers

from chatbot.entities.base import NORMALISE, Entity, EntityConfigError, EntitySpec
from chatbot.entities.text import CJK_CHAR, NO_GLUE_AFTER, NO_GLUE_BEFORE, fold_width, glued_to_identifier, space_cjk


class PatternEntity(EntitySpec):
    kind = "pattern"

    def __init__(
        self,
        name: str,
        pattern: str,
        ignore_case: bool = False,
        normalise: str = "none",
        redact: bool = False,
        **common,
    ):
        super().__init__(name, **common)
        self.redact = redact  # also replaced by [NAME] in logs (Domain.redact_patterns)
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except (TypeError, re.error) as exc:
            raise EntityConfigError(f"entities.{name}.pattern is not a valid regular expression: {exc}") from None
        if normalise not in NORMALISE:
            raise EntityConfigError(f"entities.{name}.normalise is {normalise!r}; allowed: {', '.join(NORMALISE)}")
        self.normalise = normalise
        self._group = "value" if "value" in self.pattern.groupindex else 0

    def find(self, text: str, today: date) -> Iterator[Entity]:
        for match in self.pattern.finditer(text):
            value = match.group(self._group)
            if not value:
                continue
            value = (
                value.upper() if self.normalise == "upper" else value.lower() if self.normalise == "lower" else value
            )
            yield Entity(self.name, value, match.group(0), match.start(), match.end())


class ValuesEntity(EntitySpec):
    kind = "values"

    def __init__(self, name: str, values: Mapping | list, ignore_case: bool = True, **common):
        super().__init__(name, **common)
        if isinstance(values, list):
            values = {value: [] for value in values}
        if not isinstance(values, Mapping) or not values:
            raise EntityConfigError(
                f"entities.{name}.values must be a non-empty mapping (canonical: [synonyms]) or list of values"
            )
        self.ignore_case = ignore_case
        self.lookup: dict[str, str] = {}
        for canonical, synonyms in values.items():
            synonyms = [synonyms] if isinstance(synonyms, str) else list(synonyms or [])
            for word in [canonical, *synonyms]:
                if not isinstance(word, str | int | float) or not str(word).strip():
                    raise EntityConfigError(f"entities.{name}.values.{canonical}: synonyms must be non-empty texts")
                key = self._key(str(word).strip())
                if self.lookup.setdefault(key, str(canonical)) != str(canonical):
                    raise EntityConfigError(
                        f"entities.{name}.values: {word!r} stands for both {self.lookup[key]!r} and {canonical!r}"
                    )
        self.pattern = re.compile(_words_pattern(self.lookup), re.IGNORECASE if ignore_case else 0)

    def _key(self, word: str) -> str:
        word = " ".join(fold_width(word).split())
        return word.lower() if self.ignore_case else word

    def find(self, text: str, today: date) -> Iterator[Entity]:
        for match in self.pattern.finditer(text):
            canonical = self.lookup.get(self._key(match.group(0)))
            if canonical is not None:  # None only where the regex folds case differently from str.lower
                yield Entity(self.name, canonical, match.group(0), match.start(), match.end())


def _words_pattern(words: Iterable[str]) -> str:
    """A regex matching any of ``words`` whole, longest first: a Latin (or other spaced-script)
    edge may not touch another letter or digit (``red`` is not in ``reddish``), a CJK edge may
    touch anything (``黑色`` is in ``有黑色的吗``, ``T恤`` in ``白色T恤``)."""
    spaced, cjk = [], []
    for word in sorted(words, key=len, reverse=True):
        body = r"\s+".join(map(re.escape, word.split()))
        (cjk if CJK_CHAR.match(word) else spaced).append(body + ("" if CJK_CHAR.match(word[-1]) else NO_GLUE_AFTER))
    groups = [f"{NO_GLUE_BEFORE}(?:{'|'.join(spaced)})"] if spaced else []
    return "|".join(groups + ([f"(?:{'|'.join(cjk)})"] if cjk else []))


_EMAIL = re.compile(
    r"(?<![\w.%+'-])(?P<local>[\w.%+'-]{1,64})@(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})(?![\w-])"
)


class EmailEntity(EntitySpec):
    """Addresses are found with CJK characters read as spaces: ``邮箱abc@qq.com谢谢`` holds
    ``abc@qq.com``; the price is that CJK addresses (``用户@例子.中国``) are not found."""

    kind = "email"

    def find(self, text: str, today: date) -> Iterator[Entity]:
        if "@" not in text:
            return
        for match in _EMAIL.finditer(space_cjk(text)):
            local, domain = match.group("local"), match.group("domain")
            if local.startswith(".") or local.endswith(".") or ".." in local or len(domain) > 253:
                continue
            if "_" in domain or any(label.startswith("-") or label.endswith("-") for label in domain.split(".")):
                continue
            yield Entity(self.name, f"{local}@{domain.lower()}", match.group(0), match.start(), match.end())


_DIGITS7 = re.compile(r"\d(?:\D{0,4}\d){6}")


class PhoneEntity(EntitySpec):
    kind = "phone"

    def __init__(self, name: str, region: str | None = None, **common):
        super().__init__(name, **common)
        if region is not None:
            region = str(region).upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise EntityConfigError(
                    f"entities.{name}.region {region!r} is not a country code phonenumbers knows (e.g. NL, DE, US, GB)"
                )
        self.region = region

    def find(self, text: str, today: date) -> Iterator[Entity]:
        if not _DIGITS7.search(text):
            return
        matcher = phonenumbers.PhoneNumberMatcher(text, self.region, leniency=phonenumbers.Leniency.VALID)
        for match in matcher:
            if glued_to_identifier(text, match.start, match.end):
                continue
            value = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            yield Entity(self.name, value, match.raw_string, match.start, match.end)
