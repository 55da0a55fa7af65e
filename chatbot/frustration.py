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
from typing import Annotated

import yaml
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from chatbot.schemas import ProblemsError, Schema, validate
from chatbot.settings import PROJECT_ROOT

DEFAULT_LEXICON = PROJECT_ROOT / "assets" / "frustration.yaml"
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


class LexiconError(ProblemsError):
    """A frustration lexicon that cannot be used; ``problems`` names the file and the key of each."""


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


# -- the lexicon file's schema ----------------------------------------------------------------
Weight = Annotated[float, Field(ge=-10, le=10)]  # log-odds a cue adds to the score
Ladder = Annotated[list[Weight], Field(min_length=1)]  # weights for 0, 1, ..., this many or more
# Any scalar is a word, as str() writes it: an unquoted `no` is YAML's false, so the word "false".
Word = Annotated[str, BeforeValidator(lambda word: str(word) if isinstance(word, int | float) else word)]


def _term(term: str) -> str:
    if not term.strip():
        raise PydanticCustomError("blank", "{where} must not be empty")
    try:
        re.compile(_terms_pattern([term.strip().lower()]))
    except re.error as exc:
        raise PydanticCustomError(
            "pattern", "{term} is not a valid pattern: {error}", {"term": repr(term), "error": str(exc)}
        ) from None
    return term


class NegationDecl(Schema):
    window: Annotated[float, Field(ge=0, le=20)] = 3  # words before a cue, in its clause, that negate it
    words: list[Word] = []  # besides any word ending in n't


class GroupDecl(Schema):
    weight: Weight
    additional: Weight = 0.0  # added by each further distinct cue of the group
    negatable: bool | None = None  # None: true for a positive weight
    terms: Annotated[list[Annotated[str, AfterValidator(_term)]], Field(min_length=1)]


class TypographyDecl(Schema):
    all_caps: Weight = Field(0.0, alias="all caps")
    shouted_word: Weight = Field(0.0, alias="shouted word")
    exclamations: Weight = 0.0
    many_exclamations: Weight = Field(0.0, alias="many exclamations")
    question_marks: Weight = Field(0.0, alias="question marks")
    repeated_word: Weight = Field(0.0, alias="repeated word")
    min_letters: Annotated[float, Field(ge=1, le=1000)] = 8  # capital letters that make "all caps"
    caps_share: Annotated[float, Field(ge=0, le=1)] = 0.8  # of the cased letters
    acronyms: list[Word] = []  # never shouted


class SignalsDecl(Schema):
    fallbacks: Ladder = [0.0]  # by consecutive turns the bot did not understand
    repeats: Ladder = [0.0]  # by earlier messages equal to this one
    asked_for_person: Weight = 0.0


class LexiconFile(Schema):
    version: int = 1
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    bias: float = -2.0
    negation: NegationDecl = NegationDecl()
    groups: Annotated[dict[str, GroupDecl], Field(min_length=1)]
    typography: TypographyDecl = TypographyDecl()
    signals: SignalsDecl = SignalsDecl()


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
        data, problems = cls._read(DEFAULT_LEXICON), []
        for path in paths:
            extra = cls._read(Path(path))
            # checked on its own, so that a problem names this file and its own list positions;
            # what only the merged lexicon must have (a new group's weight, ...) is checked merged
            _, found = validate(LexiconFile, extra, skip=("missing", "too_short"))
            problems += [f"{path}: {problem}" for problem in found]
            data = _merge(data, extra)
        if problems:
            raise LexiconError(problems)
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
            raise LexiconError(f"{path}: expected a mapping with keys {', '.join(LexiconFile.model_fields)}")
        return data

    # -- parsing the lexicon ----------------------------------------------------------------
    def _parse(self, data: dict) -> None:
        lexicon, problems = validate(LexiconFile, data)
        if lexicon is None:
            raise LexiconError([f"{self.source}: {problem}" for problem in problems])
        self.threshold, self.bias = lexicon.threshold, lexicon.bias
        self.negation_window = int(lexicon.negation.window)
        self.negators = frozenset(word.lower() for word in lexicon.negation.words)
        self.groups = [self._group(name, group) for name, group in lexicon.groups.items()]
        typography = lexicon.typography
        self.typography = {k: v for k, v in typography.model_dump(by_alias=True).items() if k in TYPOGRAPHY_WEIGHTS}
        self.min_caps_letters = int(typography.min_letters)
        self.caps_share = typography.caps_share
        self.acronyms = frozenset(acronym.upper() for acronym in typography.acronyms)
        self.fallback_weights = list(lexicon.signals.fallbacks)
        self.repeat_weights = list(lexicon.signals.repeats)
        self.person_weight = lexicon.signals.asked_for_person

    def _group(self, name: str, group: GroupDecl) -> _Group:
        try:  # each term compiles (the schema checks); together they could still fail
            pattern = re.compile(_terms_pattern(sorted({term.strip().lower() for term in group.terms})))
        except re.error as exc:
            raise LexiconError(f"{self.source}: groups.{name}.terms: not a valid pattern together: {exc}") from None
        negatable = group.weight > 0 if group.negatable is None else group.negatable
        return _Group(name, group.weight, group.additional, negatable, pattern)

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
