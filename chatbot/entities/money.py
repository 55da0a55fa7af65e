"""The ``money`` kind: an amount with its currency, as ``"1299.50 EUR"``."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from chatbot.entities.base import Entity, EntityConfigError, EntitySpec
from chatbot.entities.text import (
    CJK_CHAR,
    CN_NUMERAL,
    NO_GLUE_AFTER,
    NO_GLUE_BEFORE,
    cn_magnitude,
    glues,
    parse_cn_int,
)

_SYMBOLS = {"US$": "USD", "C$": "CAD", "A$": "AUD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
# currencies written in Chinese, before or after the amount, like symbols; a bot sets 元/块/¥ itself
_CHINESE = {
    "人民币": "CNY", "人民幣": "CNY", "美元": "USD", "美金": "USD", "欧元": "EUR", "歐元": "EUR",
    "英镑": "GBP", "英鎊": "GBP", "日元": "JPY", "日圆": "JPY", "日圓": "JPY", "港币": "HKD",
    "港幣": "HKD", "港元": "HKD",
}  # fmt: skip
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
_MAGNITUDE = r"(?:[十拾百佰千仟][万萬亿億]?|[万萬亿億])"  # 1.2万 = 12000, 3千万 = 30000000
_YUAN = ("元", "块", "塊", "圆", "圓")  # after these, 5块5 and 3元2角 read tenths (角, 毛)
_JIAO = re.compile(r"([0-9一二两兩三四五六七八九])([角毛])?")
_PARTICLES = "钱錢的吧啊呀吗嗎嘛呢哦了"  # 5块5的 is 5.50; 100元2件 is 100.00


class MoneyEntity(EntitySpec):
    kind = "money"

    def __init__(self, name: str, symbols: Mapping[str, str] | None = None, **common):
        super().__init__(name, **common)
        self.symbols = {**_SYMBOLS, **_CHINESE}
        for symbol, code in (symbols or {}).items():
            if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
                raise EntityConfigError(f"entities.{name}.symbols.{symbol}: {code!r} is not an ISO 4217 code like EUR")
            self.symbols[str(symbol)] = code
        symbol = "|".join(re.escape(s) for s in sorted(self.symbols, key=len, reverse=True))
        codes = "|".join(_CODES)
        words = "|".join(sorted(_WORDS, key=len, reverse=True))
        self.pattern = re.compile(
            rf"(?:(?P<cur1>{symbol}|{NO_GLUE_BEFORE}(?:{codes}))\s?(?P<num1>{_NUMBER})(?P<mag1>{_MAGNITUDE})?"
            rf"(?![\d,.]?\d))"
            rf"|(?:(?<![\d,.])(?P<num2>{_NUMBER})(?P<mag2>{_MAGNITUDE})?\s?"
            rf"(?P<cur2>{symbol}|(?:{codes}|{words}){NO_GLUE_AFTER}))"
            rf"|(?:(?<!{CN_NUMERAL})(?P<num3>{CN_NUMERAL}+)\s?(?P<cur3>{symbol}|(?:{codes}){NO_GLUE_AFTER}))",
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
            found = _amount(match, text)
            if found is None:
                continue
            amount, end = found
            code = self._currency(match.group("cur1") or match.group("cur2") or match.group("cur3"))
            places = max(_MINOR_UNITS.get(code, 2), -amount.as_tuple().exponent)
            yield Entity(self.name, f"{amount:.{places}f} {code}", text[match.start() : end], match.start(), end)


def _amount(match: re.Match, text: str) -> tuple[Decimal, int] | None:
    """The amount of a money match and where it ends (after tenths such as the 5 of 5块5)."""
    currency = match.group("cur1") or match.group("cur2") or match.group("cur3")
    tenths, end = _tenths(text, match.end()) if currency in _YUAN and not match.group("cur1") else (None, match.end())
    if match.group("num3"):
        whole = parse_cn_int(match.group("num3"))
        if whole is None or (
            whole < 10 and currency in ("块", "塊") and tenths is None and text[end : end + 1] not in "钱錢"
        ):
            return None  # 一块 is "together", 两块 "two pieces": 一块钱 and 两块五 are money
        amount = Decimal(whole)
    else:
        amount = parse_amount(match.group("num1") or match.group("num2"))
        if amount is None:
            return None
        magnitude = match.group("mag1") or match.group("mag2")
        if magnitude:
            amount = _plain(amount * cn_magnitude(magnitude))
    if tenths is not None:
        if amount != amount.to_integral_value():
            return None
        amount = amount.quantize(Decimal(1)) + tenths
    return amount, end


def _tenths(text: str, at: int) -> tuple[Decimal | None, int]:
    """The tenths after a yuan word at ``text[at]``: ``5`` in 5块5 or 5块5的, ``2角`` in 3元2角."""
    match = _JIAO.match(text, at)
    if not match:
        return None, at
    after = text[match.end() : match.end() + 1]
    if not match.group(2) and after and (glues(after) or (CJK_CHAR.match(after) and after not in _PARTICLES)):
        return None, at
    digit = match.group(1)
    return Decimal(int(digit) if digit.isdigit() else parse_cn_int(digit)) / 10, match.end()


def _plain(amount: Decimal) -> Decimal:
    """``12000.0`` -> ``12000``, ``12345.60`` -> ``12345.6``: no exponent, no trailing zeros."""
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()


def parse_amount(number: str) -> Decimal | None:
    """``"1,299.50"``, ``"1.299,50"``, ``"1'299"`` -> ``Decimal``; None for an ambiguous or malformed number.

    See the package docstring for the separator rules.
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
