"""The frustration lexicon on disk: its schema, reading a file, and extending the base with more.

A lexicon is YAML in the shape of ``assets/frustration.yaml``: the cue groups with their terms
and weights, the negation words, the typography and conversation weights. Every file is checked
against :class:`LexiconFile` before it is used, and every problem is reported at once, naming
the file and the key (``groups.calm.terms[2]``). What the detector makes of a lexicon is
``chatbot.frustration.detector``'s job; how a term matches is ``chatbot.frustration.matching``'s.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from chatbot.frustration.matching import terms_pattern
from chatbot.schemas import ProblemsError, Schema, validate
from chatbot.settings import PROJECT_ROOT

DEFAULT_LEXICON = PROJECT_ROOT / "assets" / "frustration.yaml"
LEXICON_NAME = "frustration.yaml"  # the base lexicon in an assets folder
TYPOGRAPHY_WEIGHTS = (
    "all caps",
    "shouted word",
    "exclamations",
    "many exclamations",
    "question marks",
    "repeated word",
)


class LexiconError(ProblemsError):
    """A frustration lexicon that cannot be used; ``problems`` names the file and the key of each."""


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
        re.compile(terms_pattern([term.strip().lower()]))
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


# -- reading and extending ----------------------------------------------------------------------
def base_lexicon(assets_dir: str | Path | None = None) -> Path:
    """``frustration.yaml`` of ``assets_dir`` when it has one, else the English default."""
    if assets_dir is not None and (Path(assets_dir) / LEXICON_NAME).is_file():
        return Path(assets_dir) / LEXICON_NAME
    return DEFAULT_LEXICON


def read_lexicon(path: Path) -> dict:
    """The parsed file, checked only for being a YAML mapping (the schema is checked by the caller)."""
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


def read_extended(base: str | Path, *paths: str | Path) -> dict:
    """The lexicon ``base`` extended by each file of ``paths`` in turn (see :func:`merge`).

    Each file is checked on its own, so that a problem names that file and its own list
    positions; what only the merged lexicon must have (a new group's weight, ...) is left to
    whoever checks the result. Raises one :class:`LexiconError` with the problems of every file.
    """
    data, problems = None, []
    for path in (base, *paths):
        part = read_lexicon(Path(path))
        _, found = validate(LexiconFile, part, skip=("missing", "too_short"))
        problems += [f"{path}: {problem}" for problem in found]
        data = part if data is None else merge(data, part)
    if problems:
        raise LexiconError(problems)
    return data


_LISTS_THAT_ADD = {"negation": ("words", "exceptions"), "typography": ("acronyms",)}


def merge(base: dict, extra: dict) -> dict:
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
