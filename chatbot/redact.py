"""PII redaction for everything that is stored or exported: logs, exports, training data.

``redact(text)`` replaces e-mail addresses with ``[EMAIL]``, phone numbers with ``[PHONE]``,
payment card numbers with ``[CARD]``, IBANs with ``[IBAN]``, Chinese resident ID numbers with
``[ID]`` and operator patterns with ``[<NAME>]``. Order numbers (``A-12345``), dates and amounts
stay: the log must still say what was asked about.

Redaction errs towards removing too much, while extraction (``chatbot.entities``) errs towards
precision:

- cards: every run of digits separated by single spaces or dashes is cut at its separators,
  and every window of 13-19 digits that passes the Luhn check (``stdnum.luhn``) is removed
  (so digits glued to a card do not hide it; 1 in 10 random 13-19 digit sequences is
  Luhn-valid and goes too). A digit sequence that fails the Luhn check is not a card, nor is
  a valid phone number written with ``+`` or ``00`` (``+86 138 1234 5678``, ``0086 13812345678``
  are ``[PHONE]``).
- IBANs: two letters, two check digits and 11-30 letters or digits, with or without spaces,
  upper or lower case. A prefix that is a valid IBAN for python-stdnum (``stdnum.iban``: a
  known country, that country's length and format, the mod-97 check, national check digits
  where stdnum knows them) is removed up to its end, so the words after it stay. Failing
  that, the longest prefix that passes the ISO 13616 mod-97 check alone is still removed,
  although stdnum would call it no IBAN (a length wrong for its country, a country missing
  from stdnum's registry, a failing national check): it may be a real account number of a
  country that adopted IBANs or changed its format after stdnum's release, and an account
  number must not reach storage. The cost is the one the mod-97 rule always had: about 1 in
  97 IBAN-shaped codes goes too, and so may a word right after an IBAN stdnum does not know.
- Chinese resident ID numbers (居民身份证号, ``stdnum.cn.ric``): 17 digits and a digit or ``X``,
  compact or grouped 6-8-4 by single spaces or dashes, not inside a longer digit run, whose
  ISO 7064 MOD 11-2 check character holds and whose digits 7-14 are a valid date. The place
  of birth is not checked against stdnum's list of county codes (a code newer than the
  release must not keep a number in storage). An 18-digit number with a wrong check character
  is no ID; it is still a ``[CARD]`` if it passes the Luhn check, else it stays. The old
  15-digit numbers (no check character) stay.
- e-mails: anything shaped ``local@domain.tld`` (Unicode letters and RFC 5322 local-part
  characters included, CJK characters excepted: ``邮箱abc@qq.com谢谢`` becomes
  ``邮箱[EMAIL]谢谢``, so a CJK address such as ``用户@例子.中国`` stays).
- phone numbers: numbers valid in one of ``regions`` (default NL, BE, DE, FR, GB, US, CN) or
  written with ``+``/``00`` and a country code (``phonenumbers``, leniency VALID); digits glued
  to an identifier (``A-0612345678``, ``ORD13812345678``) are not a phone number, digits glued
  to Chinese text are (``手机号13812345678``).
- full-width digits, letters and punctuation count as their ASCII forms (``１３８１２３４５６７８``).
- overlapping findings are merged into one placeholder (the first type in ``LABELS`` wins).

Limits: a phone number that is valid in none of the regions and has no country code stays
(``555-1234``); names, street addresses and free-text secrets are not detected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

import phonenumbers
from stdnum import iban, luhn
from stdnum.cn import ric
from stdnum.iso7064 import mod_97_10

from chatbot.entities.text import fold_width, glued_to_identifier, space_cjk

LABELS = ("EMAIL", "IBAN", "ID", "CARD", "PHONE")  # built-in placeholders, by precedence when findings overlap
DEFAULT_REGIONS = ("NL", "BE", "DE", "FR", "GB", "US", "CN")
CACHED_TEXTS = 4096  # recent texts and their redactions (a few MB at most)

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W_](?:[\w-]*[^\W_])?"
)
_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_DIGITS13 = re.compile(r"[0-9](?:[ -]?[0-9]){12}")
# a lookahead, so that candidates may overlap: in "AB12 DE89 3704 ..." the one from "AB12"
# fails the check and the IBAN from "DE89" must still be tried
_IBAN = re.compile(r"(?<![A-Za-z0-9])(?=([A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,32}))")
_RIC = re.compile(r"(?<![0-9])[0-9]{6}[ -]?[0-9]{8}[ -]?[0-9]{3}[0-9Xx](?![0-9])")
_DIGITS7 = re.compile(r"[0-9](?:[^0-9]{0,4}[0-9]){6}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Redactor:
    """Redaction with its patterns compiled once; ``redact(text)`` is safe to call on every turn.

    Args:
        extra_patterns: operator patterns, name -> regular expression (text or compiled);
            a match is replaced by ``[NAME]`` (the name upper-cased).
        regions: countries whose national phone numbers (written without ``+``) are recognised.
    """

    def __init__(
        self,
        extra_patterns: Mapping[str, str | re.Pattern] | None = None,
        regions: Iterable[str] = DEFAULT_REGIONS,
    ):
        self.extra: list[tuple[str, re.Pattern]] = []
        for name, pattern in (extra_patterns or {}).items():
            if not _NAME.fullmatch(str(name)):
                raise ValueError(f"redaction pattern name {name!r} must be letters, digits and _ (it becomes [NAME])")
            try:
                compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
            except (TypeError, re.error) as exc:
                raise ValueError(f"redaction pattern {name!r} is not a valid regular expression: {exc}") from None
            self.extra.append((f"[{str(name).upper()}]", compiled))
        self._cached = lru_cache(maxsize=CACHED_TEXTS)(self._redact)
        self.regions = tuple(str(r).upper() for r in regions)
        unknown = [r for r in self.regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone regions {unknown}; use country codes such as NL, DE, US")

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """The (start, end, placeholder) of every finding, merged where they overlap, in text order."""
        found: list[tuple[int, int, int, str]] = []  # start, end, precedence, placeholder
        text = fold_width(text)  # one character for one: its spans are the original's
        if "@" in text:
            found += [(m.start(), m.end(), 0, "[EMAIL]") for m in _EMAIL.finditer(space_cjk(text))]
        found += [(start, end, 1, "[IBAN]") for start, end in _ibans(text)]
        if _DIGITS13.search(text):
            found += [(m.start(), m.end(), 2, "[ID]") for m in _RIC.finditer(text) if _is_ric(m.group(0))]
            for start, end in _cards(text):  # +86 138 1234 5678 passes the Luhn check too: a phone number
                phone_at = _international(text, start, end)
                found.append((start, end, 3, "[CARD]") if phone_at is None else (phone_at, end, 4, "[PHONE]"))
        masked = _mask(text, found)  # phone search is the slow part: skip what is already found
        if _DIGITS7.search(masked):
            found += [(start, end, 4, "[PHONE]") for start, end in self._phones(masked)]  # not the masked ones
        for rank, (placeholder, pattern) in enumerate(self.extra, start=len(LABELS)):
            found += [(m.start(), m.end(), rank, placeholder) for m in pattern.finditer(text) if m.end() > m.start()]
        found.sort()
        merged: list[list] = []
        for start, end, rank, placeholder in found:
            if merged and start < merged[-1][1]:
                last = merged[-1]
                last[1] = max(last[1], end)
                if rank < last[2]:
                    last[2], last[3] = rank, placeholder
            else:
                merged.append([start, end, rank, placeholder])
        return [(start, end, placeholder) for start, end, _, placeholder in merged]

    def redact(self, text: str) -> str:
        """``text`` with every finding replaced by its placeholder. Cached: a handoff
        transcript redacts again the lines already redacted when each turn was logged."""
        return self._cached(text)

    def _redact(self, text: str) -> str:
        if not text:
            return text
        parts, at = [], 0
        for start, end, placeholder in self.spans(text):
            parts += [text[at:start], placeholder]
            at = end
        parts.append(text[at:])
        return "".join(parts)

    def _phones(self, text: str):
        seen = set()
        for region in self.regions:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                span = (match.start, match.end)
                if span not in seen and not glued_to_identifier(text, *span):
                    seen.add(span)
                    yield span


def _mask(text: str, spans: list[tuple[int, int, int, str]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end, _, _ in spans:
        chars[start:end] = "x" * (end - start)
    return "".join(chars)


def _international(text: str, start: int, end: int) -> int | None:
    """Where the phone number starts if ``text[start:end]`` is a valid one written with ``+``
    before it or ``00`` at its start (``+86 138 1234 5678``, ``0086 13812345678``), else None."""
    written = text[start:end]
    if text[start - 1 : start] == "+":
        number, phone_at = "+" + written, start - 1
    elif written.startswith("00"):
        number, phone_at = "+" + written[2:], start
    else:
        return None
    try:
        return phone_at if phonenumbers.is_valid_number(phonenumbers.parse(number)) else None
    except phonenumbers.NumberParseException:
        return None


def _is_ric(number: str) -> bool:
    """Whether ``number`` has a resident ID's check character and a valid date of birth."""
    compact = re.sub(r"[ -]", "", number).upper()
    try:
        return ric.calc_check_digit(compact) == compact[-1] and bool(ric.get_birth_date(compact))
    except ValueError:  # stdnum's InvalidComponent for an impossible date
        return False


def _cards(text: str):
    """Spans of Luhn-valid windows of 13-19 digits inside runs of digit groups."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start(), m.end()) for m in re.finditer(r"[0-9]+", run.group(0))]
        if sum(end - start for start, end in groups) < 13:
            continue
        offset, value = run.start(), run.group(0)
        for i in range(len(groups)):
            digits = ""
            for j in range(i, len(groups)):
                digits += value[groups[j][0] : groups[j][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and luhn.is_valid(digits):
                    yield offset + groups[i][0], offset + groups[j][1]


def _ibans(text: str):
    """The span of each IBAN-shaped candidate that starts after the last one found: its
    prefix that is a valid IBAN (``stdnum.iban``), else its longest mod-97-valid prefix."""
    covered = 0
    for match in _IBAN.finditer(text):
        start, candidate = match.start(), match.group(1)
        if start < covered:
            continue
        prefixes = [(end, candidate[:end].replace(" ", "").upper()) for end in range(len(candidate), 0, -1)]
        checked = [
            (end, compact)
            for end, compact in prefixes
            if candidate[end - 1] != " " and 15 <= len(compact) <= 34 and mod_97_10.is_valid(compact[4:] + compact[:4])
        ]
        if checked:  # longest first; an IBAN stdnum knows ends where its country says
            covered = start + next((end for end, compact in checked if iban.is_valid(compact)), checked[0][0])
            yield start, covered


@lru_cache(maxsize=64)
def _redactor(extra: tuple[tuple[str, str | re.Pattern], ...]) -> Redactor:
    return Redactor(dict(extra))


def redact(text: str, extra_patterns: Mapping[str, str | re.Pattern] | None = None) -> str:
    """``text`` with e-mails, phone numbers, card numbers, IBANs and ``extra_patterns`` replaced.

    Args:
        text: any text; ``""`` and text without findings come back unchanged.
        extra_patterns: operator patterns, name -> regular expression; a match becomes ``[NAME]``.
            Compiled once per distinct set (cached); build a ``Redactor`` for other phone regions.
    """
    return _redactor(tuple((extra_patterns or {}).items())).redact(text)
