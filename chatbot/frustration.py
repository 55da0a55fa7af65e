"""Is this customer upset? A fast, deterministic score for one message in its conversation.

``FrustrationDetector.score(message, fallbacks=..., previous=..., asked_for_person=...)``
adds up evidence in log-odds and squashes it to a score in 0..1:

- wording from a lexicon (``assets/frustration.yaml``, operators extend it): angry words,
  profanity, "you don't understand", sarcasm ("thanks for nothing"), asking for a manager,
  and calming words that count against ("no rush", "just curious"). Multi-word phrases,
  word stems (``frustrat*``) and raw regular expressions; a cue right after a negation in the
  same clause ("I'm not angry, just asking") is ignored;
- typography: ALL CAPS, shouted words (not acronyms or product codes), ``!!``, ``???``;
- the conversation: consecutive turns the bot did not understand, the same message sent
  again, the classifier hearing "talk to a person".

Each group of cues counts once, so the score explains itself: ``reasons`` names the groups
that pushed it up. It costs tens of microseconds a message (it runs on every turn).

Limits: English only (other scripts get typography and conversation signals, no wording);
sarcasm without a marker phrase ("wow. so helpful.") and politely worded anger are missed;
one strong word decides alone, so "this price is insane (in a good way)" is a false alarm.
Measured on a held-out set in ``benchmarks/frustration.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from chatbot.settings import PROJECT_ROOT

DEFAULT_LEXICON = PROJECT_ROOT / "assets" / "frustration.yaml"
GROUP_KEYS = ("weight", "additional", "negatable", "terms")
MAX_ADDITIONAL = 2  # further distinct cues of one group that add weight
TYPOGRAPHY_WEIGHTS = (
    "all caps",
    "shouted word",
    "exclamations",
    "many exclamations",
    "question marks",
    "repeated word",
)
REPEATED_WORD_MAX_WORDS = 15  # "repeated word" only looks at messages this short
TYPOGRAPHY_KEYS = (*TYPOGRAPHY_WEIGHTS, "min_letters", "caps_share", "acronyms")
TOP_KEYS = ("version", "threshold", "bias", "negation", "groups", "typography", "signals")
# Messages whose repetition says nothing (a second "yes" answers a second question).
ACKNOWLEDGEMENTS = frozenset({"yes", "no", "ok", "okay", "yep", "nope", "sure", "thanks", "thank you", "hi", "y", "n"})
REPEAT_WINDOW = 10  # earlier customer messages compared for repetition

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\uff01": "!", "\uff1f": "?"})
_CLAUSE_END = re.compile(r"[.,;:!?()]|\bbut\b|\bthough\b|\balthough\b")
_WORD = re.compile(r"[a-z']+")
_ALPHA_WORD = re.compile(r"(?<![\w-])[^\W\d_]+(?![\w-])")  # a word not glued to a code such as HG-4471
_MANY_BANGS = re.compile(r"!{3,}")
_BANGS = re.compile(r"!!")
_QUESTIONS = re.compile(r"\?{3,}|\?!|!\?")
_NOT_WORD = re.compile(r"[\W_]+")


class LexiconError(ValueError):
    """A frustration lexicon that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class FrustrationResult:
    """``score`` in 0..1; ``reasons`` are the cue groups that raised it, strongest first."""

    score: float
    frustrated: bool
    reasons: list[str] = field(default_factory=list)
    matches: dict[str, str] = field(default_factory=dict)  # reason -> the text that triggered it

    def to_dict(self) -> dict:
        """For the turn's trace."""
        return {"score": round(self.score, 3), "frustrated": self.frustrated, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class _Group:
    name: str
    weight: float
    additional: float  # added by each further distinct cue of the group
    negatable: bool
    pattern: re.Pattern


_SPACE, _STEM, _END = " ", "*", ""


def _terms_pattern(terms: list[str]) -> str:
    """One regular expression for a group's terms, shaped as a trie so a scan stays fast.

    A plain term is matched on whole words: its spaces match any whitespace, a trailing ``*``
    any word ending. ``re:`` terms are added as they are.
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

    def build(node: dict) -> str:
        branches = []
        for key in sorted(k for k in node if k != _END):
            piece = {_SPACE: r"\s+", _STEM: r"\w*"}.get(key) or re.escape(key)
            branches.append(piece + build(node[key]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if _END in node:
            return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
        return body

    plain = [r"(?<!\w)" + build(trie) + r"(?!\w)"] if trie else []
    return "|".join(plain + raw)


def _compiles(term: str) -> bool:
    try:
        re.compile(_terms_pattern([term]))
    except re.error:
        return False
    return True


def _merge(base: dict, extra: dict) -> dict:
    """Later lexicon files add terms to groups of the same name and override scalar settings."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "groups" and isinstance(value, dict) and isinstance(base.get("groups"), dict):
            groups = {name: dict(group) for name, group in base["groups"].items()}
            for name, group in value.items():
                if name in groups and isinstance(group, dict):
                    old_terms = list(groups[name].get("terms") or [])
                    groups[name].update(group)
                    groups[name]["terms"] = old_terms + list(group.get("terms") or [])
                else:
                    groups[name] = group
            merged["groups"] = groups
        elif key in ("typography", "signals", "negation") and isinstance(value, dict):
            merged[key] = {**(base.get(key) or {}), **value}
        else:
            merged[key] = value
    return merged


def count_repeats(message: str, previous: Iterable[str], window: int = REPEAT_WINDOW) -> int:
    """How many of the last ``window`` earlier messages say the same as ``message``.

    Compared without case, punctuation or spacing; acknowledgements ("yes", "ok") never count.
    """
    key = _NOT_WORD.sub(" ", message.translate(_QUOTES).lower()).strip()
    if len(key) < 2 or key in ACKNOWLEDGEMENTS:
        return 0
    recent = list(previous)[-window:]
    return sum(1 for text in recent if _NOT_WORD.sub(" ", text.translate(_QUOTES).lower()).strip() == key)


class FrustrationDetector:
    """Scores how upset a customer sounds; see the module docstring for the cues.

    Args:
        lexicon: the parsed lexicon (the shape of ``assets/frustration.yaml``).
        threshold: the score from which a message counts as frustrated; None = the lexicon's.
        source: where the lexicon came from, for error messages.
    """

    def __init__(self, lexicon: dict, threshold: float | None = None, source: str = "lexicon"):
        self.source = source
        self._parse(lexicon)
        if threshold is not None:
            if not 0.0 < threshold < 1.0:
                raise LexiconError(f"threshold={threshold!r}: must be between 0 and 1 (exclusive)")
            self.threshold = float(threshold)

    @classmethod
    def load(cls, *paths: str | Path, threshold: float | None = None) -> FrustrationDetector:
        """The default lexicon, extended by each file in ``paths`` in turn.

        A later file adds terms to groups of the same name (or new groups) and overrides any
        other key it sets; pass ``DEFAULT_LEXICON`` nowhere: it is always the base. To replace
        the default wholly, use ``FrustrationDetector.from_file``.
        """
        data = cls._read(DEFAULT_LEXICON)
        for path in paths:
            data = _merge(data, cls._read(Path(path)))
        names = ", ".join(str(p) for p in (DEFAULT_LEXICON, *paths))
        return cls(data, threshold=threshold, source=names)

    @classmethod
    def from_file(cls, path: str | Path, threshold: float | None = None) -> FrustrationDetector:
        """A detector from this lexicon file alone."""
        return cls(cls._read(Path(path)), threshold=threshold, source=str(path))

    @staticmethod
    def _read(path: Path) -> dict:
        try:
            with open(path, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        except FileNotFoundError:
            raise LexiconError(f"{path}: no such frustration lexicon") from None
        except yaml.YAMLError as exc:
            raise LexiconError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise LexiconError(f"{path}: expected a mapping with keys {', '.join(TOP_KEYS)}")
        return data

    # -- parsing the lexicon ----------------------------------------------------------------
    def _error(self, where: str, problem: str) -> LexiconError:
        return LexiconError(f"{self.source}: {where}: {problem}")

    def _number(self, value, where: str, low: float = -math.inf, high: float = math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self._error(where, f"{value!r} is not a number from {low} to {high}")
        return float(value)

    def _parse(self, data: dict) -> None:
        unknown = sorted(set(data) - set(TOP_KEYS))
        if unknown:
            raise self._error(", ".join(unknown), f"unknown key; allowed: {', '.join(TOP_KEYS)}")
        self.threshold = self._number(data.get("threshold", 0.5), "threshold", 0.0, 1.0)
        self.bias = self._number(data.get("bias", -2.0), "bias")

        negation = data.get("negation") or {}
        self.negation_window = int(self._number(negation.get("window", 3), "negation.window", 0, 20))
        self.negators = frozenset(str(w).lower() for w in negation.get("words") or ())

        groups = data.get("groups")
        if not isinstance(groups, dict) or not groups:
            raise self._error("groups", "expected a mapping of group name -> {weight, negatable, terms}")
        self.groups: list[_Group] = []
        for name, group in groups.items():
            where = f"groups.{name}"
            if not isinstance(group, dict):
                raise self._error(where, f"expected a mapping with keys {', '.join(GROUP_KEYS)}")
            unknown = sorted(set(group) - set(GROUP_KEYS))
            if unknown:
                raise self._error(f"{where}.{unknown[0]}", f"unknown key; allowed: {', '.join(GROUP_KEYS)}")
            terms = group.get("terms")
            if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
                raise self._error(f"{where}.terms", "expected a non-empty list of strings")
            try:
                pattern = re.compile(_terms_pattern(sorted({t.strip().lower() for t in terms})))
            except re.error as exc:
                bad = [t for t in terms if not _compiles(t.strip().lower())]
                raise self._error(f"{where}.terms", f"{bad[:1]!r} is not a valid pattern: {exc}") from None
            weight = self._number(group.get("weight"), f"{where}.weight", -10.0, 10.0)
            additional = self._number(group.get("additional", 0.0), f"{where}.additional", -10.0, 10.0)
            negatable = group.get("negatable", weight > 0)
            if not isinstance(negatable, bool):
                raise self._error(f"{where}.negatable", f"{negatable!r} is not true or false")
            self.groups.append(_Group(str(name), weight, additional, negatable, pattern))

        typography = data.get("typography") or {}
        unknown = sorted(set(typography) - set(TYPOGRAPHY_KEYS))
        if unknown:
            raise self._error(f"typography.{unknown[0]}", f"unknown key; allowed: {', '.join(TYPOGRAPHY_KEYS)}")
        self.typography = {
            k: self._number(typography.get(k, 0.0), f"typography.{k}", -10, 10) for k in TYPOGRAPHY_WEIGHTS
        }
        self.min_caps_letters = int(self._number(typography.get("min_letters", 8), "typography.min_letters", 1, 1000))
        self.caps_share = self._number(typography.get("caps_share", 0.8), "typography.caps_share", 0.0, 1.0)
        self.acronyms = frozenset(str(a).upper() for a in typography.get("acronyms") or ())

        signals = data.get("signals") or {}
        unknown = sorted(set(signals) - {"fallbacks", "repeats", "asked_for_person"})
        if unknown:
            raise self._error(f"signals.{unknown[0]}", "unknown key; allowed: asked_for_person, fallbacks, repeats")
        self.fallback_weights = self._ladder(signals.get("fallbacks", [0.0]), "signals.fallbacks")
        self.repeat_weights = self._ladder(signals.get("repeats", [0.0]), "signals.repeats")
        self.person_weight = self._number(signals.get("asked_for_person", 0.0), "signals.asked_for_person", -10, 10)

    def _ladder(self, values, where: str) -> list[float]:
        if not isinstance(values, list) or not values:
            raise self._error(where, "expected a list of weights: [for 0, for 1, ..., for this many or more]")
        return [self._number(v, f"{where}[{i}]", -10, 10) for i, v in enumerate(values)]

    # -- scoring ----------------------------------------------------------------------------
    def _negated(self, lowered: str, start: int) -> bool:
        if not self.negation_window:
            return False
        before = lowered[max(0, start - 80) : start]
        clause = _CLAUSE_END.split(before)[-1]
        words = _WORD.findall(clause)[-self.negation_window :]
        return any(w in self.negators or w.endswith("n't") for w in words)

    def _typography(self, text: str) -> list[tuple[str, float, str]]:
        found = []
        words = [w for w in _ALPHA_WORD.findall(text) if w.upper() != w.lower() and w.upper() not in self.acronyms]
        shouted = [w for w in words if len(w) >= 2 and w.isupper()]
        cased_letters = sum(len(w) for w in words if len(w) >= 2)
        caps_letters = sum(len(w) for w in shouted)
        if caps_letters >= self.min_caps_letters and caps_letters >= self.caps_share * cased_letters:
            found.append(("all caps", self.typography["all caps"], " ".join(shouted)[:40]))
        else:
            loud = [w for w in shouted if len(w) >= 3]
            if loud:
                found.append(("shouted word", self.typography["shouted word"], loud[0]))
        if m := _MANY_BANGS.search(text):
            found.append(("many exclamations", self.typography["many exclamations"], m.group()))
        elif m := _BANGS.search(text):
            found.append(("exclamations", self.typography["exclamations"], m.group()))
        if m := _QUESTIONS.search(text):
            found.append(("question marks", self.typography["question marks"], m.group()))
        tokens = _WORD.findall(text.lower())
        if len(tokens) <= REPEATED_WORD_MAX_WORDS:
            counts: dict[str, int] = {}
            for token in tokens:
                if len(token) >= 3:
                    counts[token] = counts.get(token, 0) + 1
            repeated = [token for token, n in counts.items() if n >= 3]
            if repeated:
                found.append(("repeated word", self.typography["repeated word"], repeated[0]))
        return found

    def score(
        self,
        message: str,
        *,
        fallbacks: int = 0,
        repeats: int | None = None,
        previous: Sequence[str] = (),
        asked_for_person: bool = False,
    ) -> FrustrationResult:
        """Scores one customer message in its conversation.

        Args:
            message: the customer's message (cleaned text).
            fallbacks: consecutive turns before this one that the bot did not understand,
                slot questions it had to repeat included.
            repeats: how many earlier customer messages equal this one; None = count them
                in ``previous``.
            previous: the customer's earlier messages in this conversation, oldest first.
            asked_for_person: the classifier understood a request for a person.
        """
        text = (message or "").translate(_QUOTES)
        lowered = text.lower()
        evidence: dict[str, tuple[float, str]] = {}  # reason -> (weight, what matched)
        for group in self.groups:
            found: list[str] = []
            for m in group.pattern.finditer(lowered):
                if group.negatable and group.weight > 0 and self._negated(lowered, m.start()):
                    continue
                if m.group() not in found:
                    found.append(m.group())
                if not group.additional or len(found) > MAX_ADDITIONAL:
                    break
            if found:
                weight = group.weight + group.additional * (len(found) - 1)
                evidence[group.name] = (weight, ", ".join(found))
        for name, weight, matched in self._typography(text):
            evidence[name] = (weight, matched)

        if fallbacks > 0:
            weight = self.fallback_weights[min(fallbacks, len(self.fallback_weights) - 1)]
            evidence["repeated failures"] = (weight, f"{fallbacks} misunderstood turns")
        repeats = count_repeats(text, previous) if repeats is None else repeats
        if repeats > 0:
            weight = self.repeat_weights[min(repeats, len(self.repeat_weights) - 1)]
            evidence["repeated message"] = (weight, f"sent {repeats + 1} times")
        if asked_for_person:
            # the same evidence as asking in words: count the stronger once
            worded = evidence.pop("asks for a person", (0.0, ""))
            evidence["asks for a person"] = max(worded, (self.person_weight, "intent"), key=lambda e: e[0])

        logit = self.bias + sum(weight for weight, _ in evidence.values())
        score = 1.0 / (1.0 + math.exp(-logit))
        raised = sorted((r for r in evidence.items() if r[1][0] > 0), key=lambda r: (-r[1][0], r[0]))
        return FrustrationResult(
            score=score,
            frustrated=score >= self.threshold,
            reasons=[name for name, _ in raised],
            matches={name: matched for name, (_, matched) in evidence.items()},
        )
