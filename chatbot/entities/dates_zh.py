"""Chinese dates for the ``date`` kind (simplified and traditional characters; full-width digits
are folded before): see the package docstring for what each rule means."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from chatbot.entities.days import add_days, add_months, make_date, week_start
from chatbot.entities.text import CN_NUMERAL, parse_cn_int

if TYPE_CHECKING:
    from chatbot.entities.dates import DateEntity

_DAYS = {
    "大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "今晚": 0,
    "明天": 1, "明日": 1, "后天": 2, "後天": 2, "大后天": 3, "大後天": 3,
}  # fmt: skip
_YEARS = {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2, "後年": 2}
_SHIFTS = {"上上": -2, "上": -1, "这": 0, "這": 0, "本": 0, "下": 1, "下下": 2}  # weeks or months on
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_UNITS = {"天": "day", "周": "week", "週": "week", "星期": "week", "礼拜": "week", "禮拜": "week"}
_UNITS |= {"月": "month", "年": "year"}
_AGO = ("前", "以前", "之前")

_WEEK = "周|週|星期|礼拜|禮拜"
_MOD = r"(?<![马馬])(?P<mod>上上|下下|上|下|这|這|本)\s?(?:个|個)?"  # 马上 is "at once", not 上
_NOT_AFTER_NUMBER = rf"(?<![\d.{CN_NUMERAL[1:-1]}])"
_NUM = rf"\d{{1,2}}|{CN_NUMERAL}{{1,3}}"
_YEAR = rf"(?:(?<!\d)(?P<y>\d{{4}}|\d{{2}})\s?年|(?P<ry>{'|'.join(_YEARS)}))"
_RULES = [
    ("zh_day", "(?P<rel>" + "|".join(sorted(_DAYS, key=len, reverse=True)) + ")"),
    (
        "zh_offset",
        rf"{_NOT_AFTER_NUMBER}(?P<n>\d{{1,3}}|{CN_NUMERAL}{{1,4}})\s?"
        rf"(?:(?:个|個)\s?(?P<unit>月|星期|礼拜|禮拜)|(?P<unit2>天|{_WEEK}|年))\s?"
        r"(?P<dir>以前|以后|以後|之前|之后|之後|前|后|後)",
    ),
    ("zh_weekday", rf"(?:{_MOD}|{_NOT_AFTER_NUMBER})(?:{_WEEK})(?P<wd>[一二三四五六日天])"),
    ("zh_week", rf"{_MOD}(?:{_WEEK})(?![一二三四五六日天末])"),
    ("zh_month", rf"{_MOD}月(?:份)?(?![底末中])"),
    ("zh_year", rf"(?P<ry>{'|'.join(_YEARS)})"),
    (
        "zh_ymd",
        rf"(?:{_YEAR}\s?|{_NOT_AFTER_NUMBER})(?P<m>{_NUM})\s?月\s?(?P<d>{_NUM})\s?(?:日|号|號)",
    ),
    ("zh_ym", rf"{_YEAR}\s?(?P<m>{_NUM})\s?月(?:份)?(?!\s?(?:\d|{CN_NUMERAL}))"),
]
PATTERNS = [(rule, re.compile(pattern)) for rule, pattern in _RULES]


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else parse_cn_int(text)


def _year(g: dict[str, str], today: date) -> int | None:
    if g.get("y"):
        return int(g["y"]) + (2000 if len(g["y"]) == 2 else 0)
    return today.year + _YEARS[g["ry"]] if g.get("ry") else None


def resolve(entity: DateEntity, rule: str, match: re.Match, today: date) -> date | None:
    """The date a Chinese rule's ``match`` stands for, or None where there is none."""
    g = {k: v for k, v in match.groupdict().items() if v is not None}
    if rule == "zh_day":
        return add_days(today, _DAYS[g["rel"]])
    if rule == "zh_offset":
        n = _number(g["n"])
        unit = _UNITS[g.get("unit") or g["unit2"]]
        return None if n is None else entity.offset(today, -n if g["dir"] in _AGO else n, unit)
    if rule == "zh_weekday":
        if "mod" not in g:
            return entity.weekday(_WEEKDAYS[g["wd"]], None, today)
        monday = week_start(today, _SHIFTS[g["mod"]])
        return monday and add_days(monday, _WEEKDAYS[g["wd"]])
    if rule == "zh_week":
        return week_start(today, _SHIFTS[g["mod"]])
    if rule == "zh_month":
        return add_months(today.replace(day=1), _SHIFTS[g["mod"]])
    if rule == "zh_year":
        return make_date(_year(g, today), 1, 1)
    month, day = _number(g["m"]), _number(g.get("d", "1"))
    if month is None or day is None:
        return None
    year = _year(g, today)
    if year is None:
        return entity.with_year(None, month, day, today)
    return make_date(year, month, day)
