"""Handing a conversation to a person: business hours and the handoff webhook.

``BusinessHours`` reads opening hours such as ``"Mon-Fri 09:00-17:00; Sat 10:00-14:00"`` in an
IANA time zone and tells whether a person is there now, and if not, when the team is back.
``Webhook`` POSTs each new handoff as JSON to the operator's URL (a ticket system, a Slack
bridge) in a background thread: a short timeout, one retry, failures logged and never shown
to the customer.

Limits: no public holidays or one-off closures (set ``business_hours`` to the usual week);
a shift past midnight is written as two rules (``Fri 22:00-24:00; Sat 00:00-02:00``). The
webhook is fire-and-forget: a handoff whose two attempts fail stays in the console's
handoff queue (the store), which remains the record; it is not retried later.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EXAMPLE = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"
_RULE = re.compile(r"^(?P<days>[A-Za-z]+(?:\s*-\s*[A-Za-z]+)?)\s+(?P<spans>.+)$")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class BusinessHoursError(ValueError):
    """Opening hours or a time zone that cannot be read; the message quotes the bad part."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Amsterdam``, ``UTC``), or BusinessHoursError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise BusinessHoursError(
            f"timezone={name!r} is not an IANA time zone name (for example Europe/Amsterdam, America/New_York, UTC)"
        ) from None


def _day(token: str, text: str) -> int:
    key = token.strip().lower()[:3]
    if key not in DAYS or not (DAY_NAMES[DAYS.index(key)].lower().startswith(token.strip().lower())):
        raise BusinessHoursError(
            f"business_hours={text!r}: {token.strip()!r} is not a day; use {', '.join(d.title() for d in DAYS)}"
        )
    return DAYS.index(key)


def _minutes(hours: str, minutes: str, text: str, span: str) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise BusinessHoursError(f"business_hours={text!r}: {span!r} is not a time span such as 09:00-17:00")
    return value


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours per weekday (0 = Monday): lists of (start, end) in minutes after midnight.

    Build it with :meth:`parse`; ``None`` hours mean always open (see ``Settings.business_hours``).
    """

    spans: tuple[tuple[tuple[int, int], ...], ...]
    tz: ZoneInfo
    text: str = ""

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> BusinessHours:
        """Reads rules separated by ``;`` or ``,``: days (``Mon``, ``Mon-Fri``, ``Sat-Sun``; a
        range may wrap, ``Fri-Mon``) and one or more spans ``HH:MM-HH:MM`` (end after start,
        ``24:00`` allowed). Example: ``"Mon-Fri 09:00-12:30 13:30-17:00; Sat 10:00-14:00"``."""
        tz = zone(timezone)
        if not isinstance(text, str) or not text.strip():
            raise BusinessHoursError(f"business_hours={text!r}: expected rules such as {EXAMPLE!r}")
        week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for rule in re.split(r"[;,]", text):
            rule = rule.strip()
            if not rule:
                continue
            match = _RULE.match(rule)
            if not match:
                raise BusinessHoursError(
                    f"business_hours={text!r}: {rule!r} is not 'DAYS HH:MM-HH:MM', e.g. {EXAMPLE!r}"
                )
            first, _, last = match["days"].partition("-")
            start_day = _day(first, text)
            end_day = _day(last, text) if last else start_day
            days = [(start_day + i) % 7 for i in range((end_day - start_day) % 7 + 1)]
            for span in match["spans"].split():
                parts = _SPAN.match(span)
                if not parts:
                    raise BusinessHoursError(
                        f"business_hours={text!r}: {span!r} is not a time span such as 09:00-17:00"
                    )
                begin = _minutes(parts[1], parts[2], text, span)
                end = _minutes(parts[3], parts[4], text, span)
                if end <= begin:
                    raise BusinessHoursError(
                        f"business_hours={text!r}: {span!r} ends before it starts; "
                        "write a shift past midnight as two rules (Fri 22:00-24:00; Sat 00:00-02:00)"
                    )
                for day in days:
                    week[day].append((begin, end))
        return cls(tuple(tuple(sorted(day)) for day in week), tz, text)

    def is_open(self, now: datetime) -> bool:
        """Whether ``now`` (timezone-aware) falls in the opening hours."""
        local = now.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return any(begin <= minute < end for begin, end in self.spans[local.weekday()])

    def next_opening(self, now: datetime) -> datetime | None:
        """The next time the team is back (local time), or None when open now or never open."""
        if self.is_open(now):
            return None
        local = now.astimezone(self.tz)
        for offset in range(8):
            day: date = local.date() + timedelta(days=offset)
            for begin, _ in self.spans[day.weekday()]:
                if begin >= 24 * 60:
                    continue
                start = datetime.combine(day, clock_time(begin // 60, begin % 60), tzinfo=self.tz)
                if start > local:
                    return start
        return None


class Webhook:
    """POSTs JSON to ``url``: ``timeout`` seconds an attempt, ``retries`` more attempts after
    a network error or a 5xx/429 answer. Never raises; failures are logged.

    Args:
        url: an http:// or https:// URL.
        timeout: seconds per attempt (connect and read).
        retries: further attempts after a failed one.
        retry_delay: seconds between attempts.
    """

    def __init__(self, url: str, timeout: float = 3.0, retries: int = 1, retry_delay: float = 0.5):
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay

    def post(self, payload: dict) -> bool:
        """Sends ``payload`` now (blocking); True when the receiver answered 2xx."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        for attempt in range(1 + self.retries):
            if attempt:
                time.sleep(self.retry_delay)
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "harbor-support-bot/handoff"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                return True
            except urllib.error.HTTPError as exc:
                log.warning("handoff webhook %s answered %s (attempt %d)", self.url, exc.code, attempt + 1)
                if exc.code < 500 and exc.code != 429:
                    return False  # the receiver refuses this request: a retry would be refused too
            except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
                log.warning("handoff webhook %s failed (attempt %d): %s", self.url, attempt + 1, exc)
        return False

    def send(self, payload: dict) -> threading.Thread:
        """Sends ``payload`` in a background (daemon) thread and returns the thread at once."""
        thread = threading.Thread(target=self.post, args=(payload,), name="handoff-webhook", daemon=True)
        thread.start()
        return thread
