"""The detector: a lexicon compiled once, then each message scored in log-odds.

The cue groups, typography and conversation signals each add their weight once (a group's
further distinct cues add ``additional``, at most ``MAX_ADDITIONAL`` times), the sum plus the
lexicon's ``bias`` is squashed to 0..1, and ``reasons`` names what raised it. Reading and checking
the lexicon file is ``chatbot.frustration.lexicon``'s job, matching a term
``chatbot.frustration.matching``'s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.frustration.lexicon import (
    TYPOGRAPHY_WEIGHTS,
    GroupDecl,
    LexiconError,
    LexiconFile,
    base_lexicon,
    read_extended,
    read_lexicon,
)
from chatbot.frustration.matching import (
    UNSPACED,
    UNSPACED_CHAR,
    WORD_CHAR,
    has_unspaced,
    letters_with_case,
    normalise,
    terms_pattern,
)
from chatbot.schemas import validate

MAX_ADDITIONAL = 2  # further distinct cues of one group that add weight
REPEATED_WORD_MAX_WORDS = 15  # "repeated word" only looks at messages this short
# Messages whose repetition says nothing (a second "yes" answers a second question).
ACKNOWLEDGEMENTS = frozenset(
    {"yes", "no", "ok", "okay", "yep", "nope", "sure", "thanks", "thank you", "hi", "y", "n"}
    | {"好", "好的", "好吧", "是", "是的", "对", "对的", "嗯", "嗯嗯", "行", "可以", "不", "不是", "不用", "没有"}
    | {"谢谢", "你好", "您好"}
)
REPEAT_WINDOW = 10  # earlier customer messages compared for repetition

_CLAUSE_END = re.compile(
    r"[.,;:!?()\u3002\u3001\uff0c\uff1b\uff1a\uff08\uff09]|\bbut\b|\bthough\b|\balthough\b|但|可是|不过|然而"
)
_WORD = re.compile(r"[a-z']+")
# a word of cased or caseless letters, not of an unspaced script, not glued to a code such as HG-4471
_ALPHA_WORD = re.compile(f"(?<!-)(?<!{WORD_CHAR})[^\\W\\d_{UNSPACED}]+(?!-)(?!{WORD_CHAR})")
_MANY_BANGS = re.compile(r"!{3,}")
_BANGS = re.compile(r"!!")
_QUESTIONS = re.compile(r"\?{3,}|\?!|!\?")
_NOT_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
# a phrase of 2 to 8 characters of an unspaced script said three times in a row (快点快点快点)
_REPEATED_PHRASE = re.compile(f"([{UNSPACED}]{{2,8}}?)(?:[\\W_]*\\1){{2}}")


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


def _repeat_key(text: str) -> str:
    return _NOT_WORD.sub(" ", normalise(text).lower()).strip()


def count_repeats(message: str, previous: Iterable[str], window: int = REPEAT_WINDOW) -> int:
    """How many of the last ``window`` earlier messages say the same as ``message``.

    Compared without case, punctuation or spacing; acknowledgements ("yes", "ok", 好的) never count.
    """
    key = _repeat_key(message)
    if len(key) < 2 or key in ACKNOWLEDGEMENTS:
        return 0
    recent = list(previous)[-window:]
    return sum(1 for text in recent if _repeat_key(text) == key)


class FrustrationDetector:
    """Scores how upset a customer sounds; ``chatbot.frustration``'s docstring lists the cues.

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

    @staticmethod
    def base_lexicon(assets_dir: str | Path | None = None) -> Path:
        """``frustration.yaml`` of ``assets_dir`` when it has one, else the English default."""
        return base_lexicon(assets_dir)

    @classmethod
    def load(
        cls, *paths: str | Path, assets_dir: str | Path | None = None, threshold: float | None = None
    ) -> FrustrationDetector:
        """The base lexicon, extended by each file in ``paths`` in turn.

        The base is ``<assets_dir>/frustration.yaml`` (``assets/zh/frustration.yaml`` for the
        Chinese bot), or ``assets/frustration.yaml`` when ``assets_dir`` is None or has none.
        A later file adds terms to groups of the same name (or new groups), adds to the lists
        of words (negation words and exceptions, acronyms) and overrides any other key it sets.
        To use one file alone, use ``FrustrationDetector.from_file``.
        """
        base = cls.base_lexicon(assets_dir)
        data = read_extended(base, *paths)
        names = ", ".join(str(p) for p in (base, *paths))
        return cls(data, threshold=threshold, source=names)

    @classmethod
    def from_file(cls, path: str | Path, threshold: float | None = None) -> FrustrationDetector:
        """A detector from this lexicon file alone."""
        return cls(read_lexicon(Path(path)), threshold=threshold, source=str(path))

    # -- parsing the lexicon ----------------------------------------------------------------
    def _parse(self, data: dict) -> None:
        lexicon, problems = validate(LexiconFile, data)
        if lexicon is None:
            raise LexiconError([f"{self.source}: {problem}" for problem in problems])
        self.threshold, self.bias = lexicon.threshold, lexicon.bias
        negation = lexicon.negation
        words = {word.strip().lower() for word in negation.words}
        self.negation_window = int(negation.window)
        self.negation_chars = int(negation.chars)
        self.negators = frozenset(word for word in words if not has_unspaced(word))
        by_chars = sorted({_SPACES.sub("", word) for word in words if has_unspaced(word)}, key=lambda w: (-len(w), w))
        self._char_negators = (
            re.compile("(?:" + "|".join(map(re.escape, by_chars)) + f").{{0,{self.negation_chars}}}$")
            if by_chars
            else None
        )
        self._char_reach = max(map(len, by_chars), default=0) + self.negation_chars
        exceptions = sorted({term.strip().lower() for term in negation.exceptions})
        self._not_negations = re.compile(terms_pattern(exceptions)) if exceptions else None
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
            pattern = re.compile(terms_pattern(sorted({term.strip().lower() for term in group.terms})))
        except re.error as exc:
            raise LexiconError(f"{self.source}: groups.{name}.terms: not a valid pattern together: {exc}") from None
        negatable = group.weight > 0 if group.negatable is None else group.negatable
        return _Group(name, group.weight, group.additional, negatable, pattern)

    # -- scoring ----------------------------------------------------------------------------
    def _negated(self, lowered: str, start: int) -> bool:
        """A negation word before ``start`` in its clause: English words by ``negation.window``
        words, Chinese ones by ``negation.chars`` characters; exceptions (不得不) do not negate."""
        before = lowered[max(0, start - 80) : start]
        if self._not_negations is not None:
            before = self._not_negations.sub(lambda m: "_" * len(m.group()), before)
        clause = _CLAUSE_END.split(before)[-1]
        if self.negation_window:
            words = _WORD.findall(clause)[-self.negation_window :]
            if any(w in self.negators or w.endswith("n't") for w in words):
                return True
        if self._char_negators is not None:
            tail = _SPACES.sub("", clause)[-self._char_reach :]
            return self._char_negators.search(tail) is not None
        return False

    def _typography(self, text: str) -> list[tuple[str, float, str]]:
        found = []
        # only cased letters count: Chinese text glued to a word (用APP下单) is no part of it,
        # and letters without case (Korean) neither shout nor make a word longer
        words = [(w, letters_with_case(w)) for w in _ALPHA_WORD.findall(text) if w.upper() not in self.acronyms]
        words = [(w, n) for w, n in words if n >= 2]
        shouted = [(w, n) for w, n in words if w.isupper()]
        cased_letters = sum(n for _, n in words)
        caps_letters = sum(n for _, n in shouted)
        if caps_letters >= self.min_caps_letters and caps_letters >= self.caps_share * cased_letters:
            found.append(("all caps", self.typography["all caps"], " ".join(w for w, _ in shouted)[:40]))
        else:
            loud = [w for w, n in shouted if n >= 3]
            if loud:
                found.append(("shouted word", self.typography["shouted word"], loud[0]))
        if m := _MANY_BANGS.search(text):
            found.append(("many exclamations", self.typography["many exclamations"], m.group()))
        elif m := _BANGS.search(text):
            found.append(("exclamations", self.typography["exclamations"], m.group()))
        if m := _QUESTIONS.search(text):
            found.append(("question marks", self.typography["question marks"], m.group()))
        if repeated := self._repeated_word(text.lower()):
            found.append(("repeated word", self.typography["repeated word"], repeated))
        return found

    @staticmethod
    def _repeated_word(lowered: str) -> str:
        """A word of 3+ letters said 3 times in a short message, or a Chinese phrase of 2 to 8
        characters said 3 times in a row (快点快点快点, 人工！人工！人工！), not 哈哈哈哈哈哈."""
        tokens = _WORD.findall(lowered)
        if len(tokens) <= REPEATED_WORD_MAX_WORDS:
            counts: dict[str, int] = {}
            for token in tokens:
                if len(token) >= 3:
                    counts[token] = counts.get(token, 0) + 1
            repeated = [token for token, n in counts.items() if n >= 3]
            if repeated:
                return repeated[0]
        if UNSPACED_CHAR.search(lowered):
            for m in _REPEATED_PHRASE.finditer(lowered):
                if len(set(m.group(1))) > 1:
                    return m.group(1)
        return ""

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
        text = normalise(message)
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
