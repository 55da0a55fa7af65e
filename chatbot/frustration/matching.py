"""How the lexicon's terms are found in a message, in scripts written with or without spaces.

A term of a spaced script (Latin letters, digits) is matched on whole words; a term of a script
written without spaces (Han, kana, Thai, ...) matches inside a run of text, which has no word
boundaries to find. :func:`normalise` is the one reading of a message that both the lexicon's
terms and the detector's typography cues see.

Limits: no word segmentation, so a Chinese term also matches inside a longer word that holds it.
"""

from __future__ import annotations

import re
import unicodedata

# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer, ...):
# a term in them matches inside a run of text, a negation word in them is found by characters.
UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3005-\u3007\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
WORD_CHAR = f"[^\\W{UNSPACED}]"  # a word character of a spaced script: a Latin letter, a digit, _
SPACED_CHAR = re.compile(WORD_CHAR)
UNSPACED_CHAR = re.compile(f"[{UNSPACED}]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\uff01": "!", "\uff1f": "?"})


def normalise(text: str) -> str:
    """The message as the detector reads it: NFKC (full-width ＡＢＣ！？，become ABC!?,), curly quotes straight."""
    text = text or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_QUOTES)


def letters_with_case(word: str) -> int:
    """How many letters of ``word`` have case (all of an ASCII word's); Chinese or Korean ones have none."""
    return len(word) if word.isascii() else sum(1 for char in word if char.isupper() or char.islower())


def has_unspaced(text: str) -> bool:
    """Whether ``text`` holds a character of a script written without spaces."""
    return bool(UNSPACED_CHAR.search(text))


_SPACE, _STEM, _END = " ", "*", ""


def terms_pattern(terms: list[str]) -> str:
    """One regular expression for a group's terms, shaped as a trie so a scan stays fast.

    A plain term's spaces match any whitespace, a trailing ``*`` any word ending. It is matched
    on whole words where it starts (ends) with a Latin letter or a digit: no such character may
    stand right before (after) it; a term starting or ending with a Chinese character, an emoji
    or punctuation has no boundary there (垃圾 in 你们真垃圾啊, sb in 你是sb吗). ``re:`` terms
    are added as they are.
    """
    trie: dict = {}
    raw = []
    for term in terms:
        if term.startswith("re:"):
            raw.append(f"(?:{term[3:]})")
            continue
        node = trie
        words = term.split()
        for i, word in enumerate(words):
            if i:
                node = node.setdefault(_SPACE, {})
            stem = word.endswith("*") and len(word) > 1
            for char in word[:-1] if stem else word:
                node = node.setdefault(char, {})
            if stem:
                node = node.setdefault(_STEM, {})
        node[_END] = {}

    def build(node: dict, bounded: bool) -> str:
        """The pattern below ``node``; ``bounded``: a term ending here needs a word boundary."""
        branches = []
        for key in sorted(k for k in node if k != _END):
            if key == _SPACE:
                piece, ends_word = r"\s+", False
            elif key == _STEM:
                piece, ends_word = WORD_CHAR + "*", True
            else:
                piece, ends_word = re.escape(key), bool(SPACED_CHAR.match(key))
            branches.append(piece + build(node[key], ends_word))
        if _END in node:
            branches.append(f"(?!{WORD_CHAR})" if bounded else "")  # last: longer terms are tried first
        if len(branches) == 1:
            return branches[0]
        if len(branches) == 2 and not branches[1] and len(branches[0]) == 1:
            return branches[0] + "?"
        return "(?:" + "|".join(branches) + ")"

    spaced = [re.escape(k) + build(trie[k], True) for k in sorted(trie) if SPACED_CHAR.match(k)]
    unspaced = [re.escape(k) + build(trie[k], False) for k in sorted(trie) if not SPACED_CHAR.match(k)]
    plain = [f"(?<!{WORD_CHAR})(?:" + "|".join(spaced) + ")"] if spaced else []  # one look-behind for all: fast
    return "|".join(plain + unspaced + raw)
