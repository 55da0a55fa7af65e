"""Is this customer upset? A fast, deterministic score for one message in its conversation.

``FrustrationDetector.score(message, fallbacks=..., previous=..., asked_for_person=...)``
adds up evidence in log-odds and squashes it to a score in 0..1:

- wording from a lexicon (``frustration.yaml`` of the bot's assets folder, else
  ``assets/frustration.yaml``; operators extend it): angry words, profanity, "you don't
  understand", sarcasm ("thanks for nothing"), asking for a manager, and calming words that
  count against ("no rush", "just curious"). Multi-word phrases, word stems (``frustrat*``) and
  raw regular expressions. A term is matched on whole words where it starts or ends with a
  Latin letter or a digit; a Chinese term (Japanese, Thai, ...: scripts written without
  spaces) matches inside a run of text, so 垃圾 is found in 你们真垃圾啊. A cue right after a
  negation in the same clause is ignored: up to ``negation.window`` English words before it
  ("I'm not angry, just asking"), or a Chinese negation word with at most ``negation.chars``
  characters between it and the cue (我不生气, 不是很失望), unless it is part of one of
  ``negation.exceptions`` (不得不, 是不是); clauses end at ``.,;:!?()``, ，。；：、！？ and 但/可是/不过;
- typography: ALL CAPS, shouted words (not acronyms or product codes; only cased letters
  count, so Chinese text around them neither shouts nor dilutes), ``!!``, ``???`` (full-width
  ！？ too), a word or a Chinese phrase said three times (``agent agent agent``, 快点快点快点);
- the conversation: consecutive turns the bot did not understand, the same message sent
  again, the classifier hearing "talk to a person".

Messages are read after NFKC normalisation (full-width letters and punctuation become
ASCII). Each group of cues counts once, so the score explains itself: ``reasons`` names the
groups that pushed it up. It costs tens of microseconds a message (it runs on every turn).

Limits: wording only in the languages of the lexicon (English in ``assets/``, Chinese in
``assets/zh/``); traditional characters only where the lexicon lists them; sarcasm without a
marker phrase ("wow. so helpful.") and politely worded anger are missed; one strong word
decides alone, so "this price is insane (in a good way)" is a false alarm. Measured on a
held-out set in ``benchmarks/frustration.py``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from chatbot.schemas import ProblemsError, Schema, validate
from chatbot.settings import PROJECT_ROOT

DEFAULT_LEXICON = PROJECT_ROOT / "assets" / "frustration.yaml"
LEXICON_NAME = "frustration.yaml"  # the base lexicon in an assets folder
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
ACKNOWLEDGEMENTS = frozenset(
    {"yes", "no", "ok", "okay", "yep", "nope", "sure", "thanks", "thank you", "hi", "y", "n"}
    | {"好", "好的", "好吧", "是", "是的", "对", "对的", "嗯", "嗯嗯", "行", "可以", "不", "不是", "不用", "没有"}
    | {"谢谢", "你好", "您好"}
)
REPEAT_WINDOW = 10  # earlier customer messages compared for repetition

# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer, ...):
# a term in them matches inside a run of text, a negation word in them is found by characters.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3005-\u3007\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_W = f"[^\\W{_UNSPACED}]"  # a word character of a spaced script: a Latin letter, a digit, _
_SPACED_CHAR = re.compile(_W)
_UNSPACED_CHAR = re.compile(f"[{_UNSPACED}]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\uff01": "!", "\uff1f": "?"})
_CLAUSE_END = re.compile(
    r"[.,;:!?()\u3002\u3001\uff0c\uff1b\uff1a\uff08\uff09]|\bbut\b|\bthough\b|\balthough\b|但|可是|不过|然而"
)
_WORD = re.compile(r"[a-z']+")
# a word of cased or caseless letters, not of an unspaced script, not glued to a code such as HG-4471
_ALPHA_WORD = re.compile(f"(?<!-)(?<!{_W})[^\\W\\d_{_UNSPACED}]+(?!-)(?!{_W})")
_MANY_BANGS = re.compile(r"!{3,}")
_BANGS = re.compile(r"!!")
_QUESTIONS = re.compile(r"\?{3,}|\?!|!\?")
_NOT_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
# a phrase of 2 to 8 characters of an unspaced script said three times in a row (快点快点快点)
_REPEATED_PHRASE = re.compile(f"([{_UNSPACED}]{{2,8}}?)(?:[\\W_]*\\1){{2}}")


def normalise(text: str) -> str:
    """The message as the detector reads it: NFKC (full-width ＡＢＣ！？，become ABC!?,), curly quotes straight."""
    text = text or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text.translate(_QUOTES)


def _cased_letters(word: str) -> int:
    return len(word) if word.isascii() else sum(1 for char in word if char.isupper() or char.islower())


def _unspaced(text: str) -> bool:
    return bool(_UNSPACED_CHAR.search(text))


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
                piece, ends_word = _W + "*", True
            else:
                piece, ends_word = re.escape(key), bool(_SPACED_CHAR.match(key))
            branches.append(piece + build(node[key], ends_word))
        if _END in node:
            branches.append(f"(?!{_W})" if bounded else "")  # last: longer terms are tried first
        if len(branches) == 1:
            return branches[0]
        if len(branches) == 2 and not branches[1] and len(branches[0]) == 1:
            return branches[0] + "?"
        return "(?:" + "|".join(branches) + ")"

    spaced = [re.escape(k) + build(trie[k], True) for k in sorted(trie) if _SPACED_CHAR.match(k)]
    unspaced = [re.escape(k) + build(trie[k], False) for k in sorted(trie) if not _SPACED_CHAR.match(k)]
    plain = [f"(?<!{_W})(?:" + "|".join(spaced) + ")"] if spaced else []  # one look-behind for all: fast
    return "|".join(plain + unspaced + raw)


# -- the lexicon file's schema ----------------------------------------------------------------
Weight = Annotated[float, Field(ge=-10, le=10)]  # log-odds a cue adds to the score
Ladder = Annotated[list[Weight], Field(min_length=1)]  # weights for 0, 1, ..., this many or more


def _word(word: Any) -> Any:
    """A word must be written as text: YAML reads an unquoted no/yes/on/off as true or false."""
    if isinstance(word, bool):
        raise PydanticCustomError(
            "word_not_text",
            "{where} is {value}, not a word: YAML reads an unquoted no, yes, on, off, true or false as "
            'true or false; put the word in quotes ("no")',
            {"value": repr(word)},
        )
    if not isinstance(word, str):
        raise PydanticCustomError(
            "word_not_text",
            "{where} is {value}, not a word; write it as text in quotes",
            {"value": repr(word)},
        )
    if not word.strip():
        raise PydanticCustomError("blank", "{where} must not be empty")
    return word


Word = Annotated[str, BeforeValidator(_word)]


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


Term = Annotated[str, AfterValidator(_term)]


class NegationDecl(Schema):
    window: Annotated[float, Field(ge=0, le=20)] = 3  # English words before a cue, in its clause, that negate it
    chars: Annotated[float, Field(ge=0, le=20)] = 1  # characters between a Chinese negation word and its cue
    words: list[Word] = []  # besides any word ending in n't; Chinese ones (不, 没有) are found by characters
    exceptions: list[Term] = []  # phrases with a negation word that do not negate (不得不, 不错)


class GroupDecl(Schema):
    weight: Weight
    additional: Weight = 0.0  # added by each further distinct cue of the group
    negatable: bool | None = None  # None: true for a positive weight
    terms: Annotated[list[Term], Field(min_length=1)]


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


_LISTS_THAT_ADD = {"negation": ("words", "exceptions"), "typography": ("acronyms",)}


def _merge(base: dict, extra: dict) -> dict:
    """Later lexicon files add terms to groups of the same name, add to the lists of words
    (``negation.words``, ``negation.exceptions``, ``typography.acronyms``) and override scalar
    settings."""
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
            old = base.get(key) if isinstance(base.get(key), dict) else {}
            section = {**old, **value}
            for name in _LISTS_THAT_ADD.get(key, ()):
                if isinstance(old.get(name), list) and isinstance(value.get(name), list):
                    section[name] = old[name] + [word for word in value[name] if word not in old[name]]
            merged[key] = section
        else:
            merged[key] = value
    return merged


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

    @staticmethod
    def base_lexicon(assets_dir: str | Path | None = None) -> Path:
        """``frustration.yaml`` of ``assets_dir`` when it has one, else the English default."""
        if assets_dir is not None and (Path(assets_dir) / LEXICON_NAME).is_file():
            return Path(assets_dir) / LEXICON_NAME
        return DEFAULT_LEXICON

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
        data, problems = None, []
        for path in (base, *paths):
            part = cls._read(Path(path))
            # checked on its own, so that a problem names this file and its own list positions;
            # what only the merged lexicon must have (a new group's weight, ...) is checked merged
            _, found = validate(LexiconFile, part, skip=("missing", "too_short"))
            problems += [f"{path}: {problem}" for problem in found]
            data = part if data is None else _merge(data, part)
        if problems:
            raise LexiconError(problems)
        names = ", ".join(str(p) for p in (base, *paths))
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
        negation = lexicon.negation
        words = {word.strip().lower() for word in negation.words}
        self.negation_window = int(negation.window)
        self.negation_chars = int(negation.chars)
        self.negators = frozenset(word for word in words if not _unspaced(word))
        by_chars = sorted({_SPACES.sub("", word) for word in words if _unspaced(word)}, key=lambda w: (-len(w), w))
        self._char_negators = (
            re.compile("(?:" + "|".join(map(re.escape, by_chars)) + f").{{0,{self.negation_chars}}}$")
            if by_chars
            else None
        )
        self._char_reach = max(map(len, by_chars), default=0) + self.negation_chars
        exceptions = sorted({term.strip().lower() for term in negation.exceptions})
        self._not_negations = re.compile(_terms_pattern(exceptions)) if exceptions else None
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
        words = [(w, _cased_letters(w)) for w in _ALPHA_WORD.findall(text) if w.upper() not in self.acronyms]
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
        if _UNSPACED_CHAR.search(lowered):
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
