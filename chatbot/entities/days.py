"""Calendar arithmetic for the date rules: nothing here raises for an impossible date."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date | None:
    """``day`` moved by whole months, clamped to the month's end (31 March - 1 month = 29 February 2024)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def add_days(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def week_start(day: date, weeks: int = 0) -> date | None:
    """The Monday of ``day``'s week (weeks run Monday to Sunday), ``weeks`` weeks on."""
    return add_days(day, 7 * weeks - day.weekday())
