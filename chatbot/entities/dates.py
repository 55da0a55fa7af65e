"""The ``date`` kind: English rules here, Chinese ones in ``dates_zh``; values are ISO dates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from chatbot.entities import dates_zh
from chatbot.entities.base import DATE_ORDERS, PREFER, Entity, EntityConfigError, EntitySpec
from chatbot.entities.days import add_days, add_months, make_date
from chatbot.entities.text import CJK_CHAR

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
    ("ymd", r"(?<![\d/.-])(?P<y>\d{4})(?P<sep>[/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d/-]|\.\d)"),
    ("numeric", r"(?<![\d/.-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/]|[.-]\d)"),
    ("numeric", r"(?<![\d/.-])(?P<a>\d{1,2})-(?P<b>\d{1,2})-(?P<y>\d{4})(?![\d/-]|\.\d)"),
    ("dotted", r"(?<![\d/.-])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4}|\d{2})(?![\d/-]|\.\d)"),
    ("named", rf"\b(?P<mon>{_MONTH})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}(?!\d|:){_YEAR}\b"),
    ("named", rf"\b(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?{_YEAR}\b"),
]
_DATE_PATTERNS = [(rule, re.compile(pattern, re.IGNORECASE)) for rule, pattern in _DATE_RULES]
_WORD_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1, "after tomorrow": 2, "before yesterday": -2}


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
        chinese = dates_zh.PATTERNS if CJK_CHAR.search(text) else []  # each Chinese rule needs a CJK character
        for rule, pattern in _DATE_PATTERNS + chinese:
            for match in pattern.finditer(text):
                if rule.startswith("zh_"):
                    value = dates_zh.resolve(self, rule, match, today)
                else:
                    value = self._resolve(rule, match, today)
                if value is not None:
                    yield Entity(self.name, value.isoformat(), match.group(0), match.start(), match.end())

    def _resolve(self, rule: str, match: re.Match, today: date) -> date | None:
        g = {k: v.lower() for k, v in match.groupdict().items() if v is not None}
        if rule == "word":
            return today + timedelta(days=_WORD_DAYS[" ".join(g["rel"].split())])
        if rule == "offset":
            n = int(g["n"]) if g["n"].isdigit() else _NUMBER_WORDS[g["n"]]
            return self.offset(today, -n if g.get("dir") == "ago" else n, g["unit"].rstrip("s"))
        if rule == "weekday":
            return self.weekday(_WEEKDAYS[g["wd"]], g.get("mod"), today)
        if rule == "ymd":
            return make_date(int(g["y"]), int(g["m"]), int(g["d"]))
        if rule == "dotted":
            return self.with_year(g.get("y"), int(g["m"]), int(g["d"]), today)
        if rule == "named":
            return self.with_year(g.get("y"), _MONTHS[g["mon"]], int(g["d"]), today)
        a, b = int(g["a"]), int(g["b"])
        if (a, b) == (24, 7) and "y" not in g:
            return None  # "24/7" means around the clock
        first, second = ((a, b), (b, a)) if self.order == "MDY" else ((b, a), (a, b))
        for month, day in (first, second):
            if 1 <= month <= 12 and 1 <= day <= 31:
                return self.with_year(g.get("y"), month, day, today)
        return None

    @staticmethod
    def offset(today: date, n: int, unit: str) -> date | None:
        """``today`` moved by ``n`` days, weeks, months or years (``unit`` singular)."""
        if unit in ("day", "week"):
            return add_days(today, n * (7 if unit == "week" else 1))
        return add_months(today, n * (12 if unit == "year" else 1))

    def with_year(self, year: str | None, month: int, day: int, today: date) -> date | None:
        """The date, in ``year`` (4 or 2 digits) or, without one, in the year ``prefer`` picks."""
        if year is not None:
            return make_date(int(year) + (2000 if len(year) == 2 else 0), month, day)
        candidates = [d for y in (today.year - 1, today.year, today.year + 1) if (d := make_date(y, month, day))]
        if self.prefer == "past":
            candidates = [d for d in candidates if d <= today]
            return max(candidates) if candidates else None
        if self.prefer == "future":
            candidates = [d for d in candidates if d >= today]
            return min(candidates) if candidates else None
        return min(candidates, key=lambda d: (abs((d - today).days), d), default=None)

    def weekday(self, weekday: int, mod: str | None, today: date) -> date:
        """A weekday (0 = Monday) named with ``mod`` (next, last, this, ...) or bare (``prefer``)."""
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
