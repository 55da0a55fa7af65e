"""Entities in customer text: order numbers, e-mails, phone numbers, money, dates, operator lists.

The ``entities:`` part of ``assets/intents.yaml`` declares them, one named entity each, by kind:

- ``pattern``: a regular expression (the named group ``value`` if it has one, else the whole
  match); ``ignore_case``, ``normalise`` (``upper``, ``lower``, ``none``) and ``redact`` (also
  replace it by ``[NAME]`` in logs, see ``Domain.redact_patterns``).
- ``values``: canonical values with synonyms (``colour: {values: {red: [crimson, scarlet]}}``),
  matched as whole words, case-insensitively unless ``ignore_case: false``; the value is the
  canonical name.
- ``email``: the value keeps the local part and lower-cases the domain.
- ``phone``: numbers valid for their country (``phonenumbers``), as E.164 (``+31612345678``);
  ``region`` is the country assumed for numbers written without ``+``. Digits glued to an
  identifier (``A-0612345678``, ``ORD0612345678``) are not a phone number.
- ``money``: an amount with a currency symbol, ISO code or the words euro/dollar, before or after;
  the value is ``"1299.50 EUR"`` (a ``Decimal`` string, then the ISO code). Separators: when both
  ``,`` and ``.`` appear, the last one is the decimal mark (``1,299.50`` and ``1.299,50`` are both
  1299.50); a single ``,`` or ``.`` followed by exactly three digits groups thousands
  (``1,299`` = ``1.299`` = 1299), followed by one or two digits it is the decimal mark
  (``12,50`` = 12.50). ``'`` and non-breaking spaces group thousands; a plain space does not
  (``3 200 EUR`` is 200 EUR). Any other shape (``1,2,3``, ``12.3456``) is rejected.
- ``date``: ISO dates (``2024-03-05``), ``12/31``, ``31/12/2024``, ``05.03.2024``, ``March 3rd``,
  ``3rd of March 2024``, ``today``, ``tomorrow``, ``yesterday``, ``the day after tomorrow``,
  ``3 days ago``, ``in 2 weeks``, ``a month ago``, ``next Monday``, ``last Friday``, ``Monday``;
  the value is an ISO date relative to ``today``. ``order`` (``MDY`` or ``DMY``) reads ``3/5``; a
  reading that is no valid date falls back to the other one (``31/12`` is always 31 December);
  dotted dates are always day first. ``prefer`` picks the year of a date without one and the week
  of a bare weekday: ``nearest`` to today (default), ``past`` or ``future``. ``next Monday`` is the
  first Monday after today, ``last Friday`` the last one before it, ``this Friday`` today or the
  coming one. Impossible dates (``Feb 30``, ``2023-02-29``) are not entities.

Overlapping matches are resolved once over all entities: the longest span wins, then the higher
``priority`` (default 0), then the earlier one, so a phone number inside a longer order number is
not a phone number.

Limits: English words only (month and weekday names, "ago"); no times of day, ranges or
periods ("next week", "in March"); fractions such as "1/2" read as dates ("24/7" does not).
``dateparser`` does not find the dates: its ``search_dates`` reads order and phone numbers as
dates and "may" as May, and its year and weekday choices are not ours to document; fixed rules
are deterministic given ``today`` and fast (well under a millisecond per message).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args

import phonenumbers
from pydantic import BeforeValidator, Field

from chatbot.schemas import ProblemsError, Schema, Text, validate

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
    """One declared entity; ``find`` yields every candidate, overlapping ones included."""

    kind = ""

    def __init__(self, name: str, priority: int = 0, description: str = ""):
        self.name = name
        self.priority = priority
        self.description = description

    def find(self, text: str, today: date) -> Iterator[Entity]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


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
        candidates = [entity for spec in self.specs.values() for entity in spec.find(text, today)]
        candidates.sort(key=lambda e: (e.start - e.end, -self.specs[e.type].priority, e.start, self._rank[e.type]))
        chosen: list[Entity] = []
        for entity in candidates:
            if all(entity.end <= other.start or entity.start >= other.end for other in chosen):
                chosen.append(entity)
        return sorted(chosen, key=lambda e: e.start)

    def first(self, text: str, today: date | datetime | None = None) -> dict[str, str]:
        """The value of the first (leftmost) entity of each name found in ``text``."""
        found: dict[str, str] = {}
        for entity in self.extract(text, today):
            found.setdefault(entity.type, entity.value)
        return found


# -- kinds ---------------------------------------------------------------------------------------
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
        words = sorted(self.lookup, key=len, reverse=True)
        alternatives = "|".join(r"\s+".join(map(re.escape, word.split())) for word in words)
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE if ignore_case else 0)

    def _key(self, word: str) -> str:
        word = " ".join(word.split())
        return word.lower() if self.ignore_case else word

    def find(self, text: str, today: date) -> Iterator[Entity]:
        for match in self.pattern.finditer(text):
            canonical = self.lookup.get(self._key(match.group(0)))
            if canonical is not None:  # None only where the regex folds case differently from str.lower
                yield Entity(self.name, canonical, match.group(0), match.start(), match.end())


_EMAIL = re.compile(
    r"(?<![\w.%+'-])(?P<local>[\w.%+'-]{1,64})@(?P<domain>(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63})(?![\w-])"
)


class EmailEntity(EntitySpec):
    kind = "email"

    def find(self, text: str, today: date) -> Iterator[Entity]:
        if "@" not in text:
            return
        for match in _EMAIL.finditer(text):
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


def glued_to_identifier(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is part of a longer code such as ``A-0612345678`` or ``0612345678-B``."""
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if before[-1:].isalnum() or after[:1].isalnum():
        return True
    return (before[-1:] in ("-", "_") and before[:1].isalnum()) or (after[:1] in ("-", "_") and after[1:2].isalnum())


# money
_SYMBOLS = {"US$": "USD", "C$": "CAD", "A$": "AUD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_CODES = (
    "EUR",
    "USD",
    "GBP",
    "CHF",
    "SEK",
    "NOK",
    "DKK",
    "PLN",
    "CZK",
    "HUF",
    "JPY",
    "CNY",
    "CAD",
    "AUD",
    "NZD",
    "INR",
)
_WORDS = {"euro": "EUR", "euros": "EUR", "dollar": "USD", "dollars": "USD"}
_MINOR_UNITS = {"JPY": 0, "HUF": 2}
_THOUSANDS_ONLY = ("'", "\u00a0", "\u202f")
_NUMBER = r"\d(?:[\d,.'\u00a0\u202f]*\d)?"


class MoneyEntity(EntitySpec):
    kind = "money"

    def __init__(self, name: str, symbols: Mapping[str, str] | None = None, **common):
        super().__init__(name, **common)
        self.symbols = dict(_SYMBOLS)
        for symbol, code in (symbols or {}).items():
            if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
                raise EntityConfigError(f"entities.{name}.symbols.{symbol}: {code!r} is not an ISO 4217 code like EUR")
            self.symbols[str(symbol)] = code
        symbol = "|".join(re.escape(s) for s in sorted(self.symbols, key=len, reverse=True))
        codes = "|".join(_CODES)
        words = "|".join(sorted(_WORDS, key=len, reverse=True))
        self.pattern = re.compile(
            rf"(?:(?P<cur1>{symbol}|\b(?:{codes}))\s?(?P<num1>{_NUMBER})(?![\d,.]?\d))"
            rf"|(?:(?<![\d,.])(?P<num2>{_NUMBER})\s?(?P<cur2>{symbol}|(?:{codes}|{words})\b))",
            re.IGNORECASE,
        )

    def _currency(self, written: str) -> str:
        upper = written.upper()
        if upper in _CODES:
            return upper
        if written.lower() in _WORDS:
            return _WORDS[written.lower()]
        return self.symbols.get(written) or self.symbols[next(s for s in self.symbols if s.upper() == upper)]

    def find(self, text: str, today: date) -> Iterator[Entity]:
        for match in self.pattern.finditer(text):
            number, currency = match.group("num1") or match.group("num2"), match.group("cur1") or match.group("cur2")
            amount = parse_amount(number)
            if amount is None:
                continue
            code = self._currency(currency)
            places = max(_MINOR_UNITS.get(code, 2), -amount.as_tuple().exponent)
            yield Entity(self.name, f"{amount:.{places}f} {code}", match.group(0), match.start(), match.end())


def parse_amount(number: str) -> Decimal | None:
    """``"1,299.50"``, ``"1.299,50"``, ``"1'299"`` -> ``Decimal``; None for an ambiguous or malformed number.

    See the module docstring for the separator rules.
    """
    seps = [(i, c) for i, c in enumerate(number) if not c.isdigit()]
    if not seps:
        return Decimal(number)
    decimal_at = None
    last_i, last_c = seps[-1]
    tail = len(number) - last_i - 1
    kinds = {c for _, c in seps}
    if last_c in ",." and (len(kinds) > 1 or len(seps) == 1) and [c for _, c in seps].count(last_c) == 1:
        head = number[:last_i]
        single_thousands = len(seps) == 1 and tail == 3 and 1 <= len(head) <= 3 and head != "0"
        if not single_thousands:
            if tail not in (1, 2):
                return None
            decimal_at = last_i
    thousands = [(i, c) for i, c in seps if i != decimal_at]
    if len({c for _, c in thousands}) > 1:
        return None
    integer = number[:decimal_at] if decimal_at is not None else number
    if thousands:
        groups = re.split(r"[,.'\u00a0\u202f]", integer)
        if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
            return None
    digits = re.sub(r"\D", "", integer)
    fraction = number[decimal_at + 1 :] if decimal_at is not None else ""
    try:
        return Decimal(f"{digits}.{fraction}" if fraction else digits)
    except InvalidOperation:
        return None


# dates
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_COUNT = r"\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_UNIT = r"days?|weeks?|months?|years?"
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<y>\d{4}))?"
_DATE_RULES = [
    ("word", r"\b(?:the\s+)?day\s+(?P<rel>after\s+tomorrow|before\s+yesterday)\b"),
    ("word", r"\b(?P<rel>today|tonight|tomorrow|yesterday)\b"),
    ("offset", rf"\bin\s+(?P<n>{_COUNT})\s+(?P<unit>{_UNIT})\b"),
    ("offset", rf"\b(?P<n>{_COUNT})\s+(?P<unit>{_UNIT})\s+(?P<dir>ago|from\s+now)\b"),
    ("weekday", rf"\b(?:(?P<mod>next|last|this|coming|past|previous)\s+)?(?P<wd>{'|'.join(_WEEKDAYS)})\b"),
    ("ymd", r"(?<![\d/.-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d/-]|\.\d)"),
    ("numeric", r"(?<![\d/.-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/]|[.-]\d)"),
    ("numeric", r"(?<![\d/.-])(?P<a>\d{1,2})-(?P<b>\d{1,2})-(?P<y>\d{4})(?![\d/-]|\.\d)"),
    ("dotted", r"(?<![\d/.-])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})(?![\d/-]|\.\d)"),
    ("named", rf"\b(?P<mon>{_MONTH})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}(?!\d|:){_YEAR}\b"),
    ("named", rf"\b(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?{_YEAR}\b"),
]
_DATE_PATTERNS = [(rule, re.compile(pattern, re.IGNORECASE)) for rule, pattern in _DATE_RULES]


class DateEntity(EntitySpec):
    kind = "date"

    def __init__(self, name: str, order: str = "MDY", prefer: str = "nearest", **common):
        super().__init__(name, **common)
        order = str(order).upper()
        if order not in DATE_ORDERS:
            raise EntityConfigError(f"entities.{name}.order is {order!r}; allowed: {', '.join(DATE_ORDERS)}")
        if prefer not in PREFER:
            raise EntityConfigError(f"entities.{name}.prefer is {prefer!r}; allowed: {', '.join(PREFER)}")
        self.order, self.prefer = order, prefer

    def find(self, text: str, today: date) -> Iterator[Entity]:
        for rule, pattern in _DATE_PATTERNS:
            for match in pattern.finditer(text):
                value = self._resolve(rule, match, today)
                if value is not None:
                    yield Entity(self.name, value.isoformat(), match.group(0), match.start(), match.end())

    def _resolve(self, rule: str, match: re.Match, today: date) -> date | None:
        g = {k: v.lower() for k, v in match.groupdict().items() if v is not None}
        if rule == "word":
            rel = " ".join(g["rel"].split())
            days = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "after tomorrow": 2}
            return today + timedelta(days=days.get(rel, -2))
        if rule == "offset":
            n = int(g["n"]) if g["n"].isdigit() else _NUMBER_WORDS[g["n"]]
            if g.get("dir") == "ago":
                n = -n
            unit = g["unit"].rstrip("s")
            if unit in ("day", "week"):
                return _safe(lambda: today + timedelta(days=n * (7 if unit == "week" else 1)))
            return add_months(today, n * (12 if unit == "year" else 1))
        if rule == "weekday":
            return self._weekday(_WEEKDAYS[g["wd"]], g.get("mod"), today)
        if rule == "ymd":
            return _date(int(g["y"]), int(g["m"]), int(g["d"]))
        if rule == "dotted":
            return self._with_year(g.get("y"), int(g["m"]), int(g["d"]), today)
        if rule == "named":
            return self._with_year(g.get("y"), _MONTHS[g["mon"]], int(g["d"]), today)
        a, b = int(g["a"]), int(g["b"])
        if (a, b) == (24, 7) and "y" not in g:
            return None  # "24/7" means around the clock
        first, second = ((a, b), (b, a)) if self.order == "MDY" else ((b, a), (a, b))
        for month, day in (first, second):
            if 1 <= month <= 12 and 1 <= day <= 31:
                return self._with_year(g.get("y"), month, day, today)
        return None

    def _with_year(self, year: str | None, month: int, day: int, today: date) -> date | None:
        if year is not None:
            return _date(int(year) + (2000 if len(year) == 2 else 0), month, day)
        candidates = [d for y in (today.year - 1, today.year, today.year + 1) if (d := _date(y, month, day))]
        if self.prefer == "past":
            candidates = [d for d in candidates if d <= today]
            return max(candidates) if candidates else None
        if self.prefer == "future":
            candidates = [d for d in candidates if d >= today]
            return min(candidates) if candidates else None
        return min(candidates, key=lambda d: (abs((d - today).days), d), default=None)

    def _weekday(self, weekday: int, mod: str | None, today: date) -> date:
        ahead = (weekday - today.weekday()) % 7  # 0..6 days to the coming one (today included)
        if mod in ("next", "coming"):
            return today + timedelta(days=ahead or 7)
        if mod in ("last", "past", "previous"):
            return today - timedelta(days=(7 - ahead) % 7 or 7)
        if mod == "this" or self.prefer == "future" or ahead == 0:
            return today + timedelta(days=ahead)
        if self.prefer == "past" or 7 - ahead < ahead:
            return today - timedelta(days=7 - ahead)
        return today + timedelta(days=ahead)


def add_months(day: date, months: int) -> date | None:
    """``day`` moved by whole months, clamped to the month's end (31 March - 1 month = 29 February 2024)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _safe(make) -> date | None:
    try:
        return make()
    except OverflowError:
        return None


def _as_date(today: date | datetime | None) -> date:
    if today is None:
        return date.today()
    return today.date() if isinstance(today, datetime) else today


# -- declarations: the ``entities:`` part of intents.yaml -----------------------------------------
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
