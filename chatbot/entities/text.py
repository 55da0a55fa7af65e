"""Text helpers shared by the entity kinds and by ``chatbot.redact``: width folding, CJK-aware
word edges, and Chinese numerals.

Chinese and Japanese have no spaces, and Python's ``\\w`` counts their characters as word
characters, so ``\\b`` and ``(?<!\\w)`` see no edge in ``订单A-12345`` or ``邮箱abc@qq.com``. Here a
*glue* character is a word character (``\\w``) of a script written with spaces (Latin digits and
letters, Cyrillic, ...): something joins an entity only where glue touches glue. CJK
characters (Han, kana, Hangul, CJK punctuation) never glue, so entities may touch them.
"""

from __future__ import annotations

import re

# Han (with extensions and compatibility ideographs), CJK radicals and punctuation, kana,
# bopomofo, Hangul jamo and syllables, half-width katakana
CJK = (
    "\u1100-\u11ff\u2e80-\u2fff\u3000-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff"
)
CJK_CHAR = re.compile(f"[{CJK}]")
GLUE = rf"[^\W{CJK}]"  # a word character that is not CJK
NO_GLUE_BEFORE = rf"(?<!{GLUE})"  # \b before a word, where a CJK neighbour is an edge too
NO_GLUE_AFTER = rf"(?!{GLUE})"

# full-width ASCII (U+FF01-U+FF5E) and the ideographic space, as NFKC maps them, except the
# full-width comma: in Chinese text "，" separates clauses, never digit groups (3，50元 is 50 CNY)
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if code != 0xFF0C} | {0x3000: 0x20}


def fold_width(text: str) -> str:
    """``text`` with full-width letters, digits and punctuation as ASCII (``Ａ－１２３４５`` ->
    ``A-12345``): one character for one, so spans found in the result are spans of ``text``."""
    return text.translate(_WIDTH)


def space_cjk(text: str) -> str:
    """``text`` with every CJK character replaced by a space (spans unchanged), for patterns
    written for space-separated text: ``邮箱abc@qq.com谢谢`` -> ``  abc@qq.com  ``."""
    return CJK_CHAR.sub(" ", text) if CJK_CHAR.search(text) else text


def glues(char: str) -> bool:
    """Whether ``char`` (one character or ``""``) is a letter or digit that joins its neighbours
    into one token: true for ``A``, ``7``, ``é``; false for ``号``, ``-``, ``🙂``."""
    return char.isalnum() and not CJK_CHAR.match(char)


def glued_to_identifier(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is part of a longer code such as ``A-0612345678``,
    ``0612345678-B`` or ``ORD13812345678``; Chinese text around it is not a code
    (``手机号13812345678谢谢``)."""
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if glues(before[-1:]) or glues(after[:1]):
        return True
    return (before[-1:] in ("-", "_") and glues(before[:1])) or (after[:1] in ("-", "_") and glues(after[1:2]))


# -- Chinese numerals ---------------------------------------------------------------------------
_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "叁": 3,
    "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7, "八": 8,
    "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_MYRIADS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
CN_NUMERAL = "[" + "".join([*_CN_DIGITS, *_CN_UNITS, *_CN_MYRIADS]) + "]"
CN_MAGNITUDE = "[" + "".join([*_CN_UNITS, *_CN_MYRIADS]) + "]"


def cn_magnitude(suffix: str) -> int:
    """``"万"`` -> 10000, ``"千万"`` -> 10000000, ``""`` -> 1."""
    factor = 1
    for char in suffix:
        factor *= _CN_UNITS.get(char) or _CN_MYRIADS[char]
    return factor


def parse_cn_int(text: str) -> int | None:
    """A Chinese numeral as an integer, or None where it is not one.

    ``十五`` 15, ``两百`` 200, ``一百零五`` 105, ``二十一`` 21, ``一万二千`` 12000, financial forms
    (``贰佰``); a last digit right after a unit counts in the next lower unit (``三千五`` 3500,
    ``一万二`` 12000). Digit strings (``二〇二四``) and units out of order (``百千``) are no numeral.
    """
    total = section = 0
    digit: int | None = None
    last_unit = last_myriad = last = 0  # the smallest unit in this section, myriad so far, latest one
    zero = False  # a 零 since the latest unit: a last digit is then a plain unit digit
    for char in text:
        if char in "零〇":
            if digit is not None:
                return None
            zero = True
        elif char in _CN_DIGITS:
            if digit is not None:
                return None
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            unit = _CN_UNITS[char]
            if (last_unit and unit >= last_unit) or (digit is None and section):
                return None
            section += (1 if digit is None else digit) * unit
            digit, last_unit, last, zero = None, unit, unit, False
        else:
            myriad = _CN_MYRIADS[char]
            group = section + (digit or 0)
            if (last_myriad and myriad >= last_myriad) or not group:
                return None
            total += group * myriad
            section, digit, last_unit, last_myriad, last, zero = 0, None, 0, myriad, myriad, False
    if digit is not None:
        section += digit if zero or not last else digit * last // 10
    return total + section if text else None
