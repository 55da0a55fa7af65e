"""The words of the chat page, the widget and the operator console in the bot's language.

The gettext way without a toolchain: the English source text stays in the code, wrapped in a
call of the language's translator, and ``assets/<language>/ui.yaml`` maps each source text to
its translation::

    t = translator(settings.language)
    gr.Button(t("Send"))
    t("**{n}** turns in the last 30 days", n=3)   # or t("...").format(n=3)

English needs no file (the source text is the English); a text missing from a language's file
is shown in English. ``tests/test_i18n.py`` keeps the files complete: every literal passed to
``t(...)`` in the page's code has an entry with the same ``{placeholders}``, and no entry is
unused. Customers' words, intent names and values from files are never passed to ``t``.

A ``ui.yaml`` is read once per process; a malformed one is refused with every problem at once
(:class:`UiTextError`), naming the file and the entry.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from chatbot.schemas import ProblemsError
from chatbot.settings import LANGUAGE_ASSETS, PROJECT_ROOT

UI_FILE = "ui.yaml"
UNSPACED = {"zh"}  # languages whose sentences follow each other without a space

Translate = Callable[..., str]


class UiTextError(ProblemsError):
    """A ``ui.yaml`` that cannot be used; ``problems`` names the file and each entry at fault."""


def ui_file(language: str) -> Path:
    """The translations of ``language``: ``assets/<language>/ui.yaml`` (the product's own
    words, not the domain's, so it does not follow ``assets_dir``)."""
    if language not in LANGUAGE_ASSETS:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGE_ASSETS)}")
    return PROJECT_ROOT / "assets" / LANGUAGE_ASSETS[language] / UI_FILE


def placeholders(text: str) -> list[str]:
    """The ``{fields}`` of a format string as written (``{n}``, ``{rate:.1f}``), sorted:
    a translation must have the same ones, in any order. Raises ValueError on a stray brace."""
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields.append("{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    return sorted(fields)


def load_catalog(path: Path) -> dict[str, str]:
    """``path`` read and checked: a mapping of English text to its translation, both non-empty
    text with the same placeholders. An absent file is an empty catalog (all English)."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UiTextError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UiTextError(f"{path}: expected a mapping of English text to its translation at the top level")
    problems = []
    for source, target in data.items():
        where = f"{path}: {str(source)[:60]!r}"
        if not isinstance(source, str) or not source:
            problems.append(f"{where}: the English text must be non-empty text")
        elif not isinstance(target, str) or not target.strip():
            problems.append(f"{where}: the translation must be non-empty text, not {target!r}")
        else:
            try:
                wanted, given = placeholders(source), placeholders(target)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if wanted != given:
                problems.append(f"{where}: the translation has placeholders {given}, the English text {wanted}")
    if problems:
        raise UiTextError(problems)
    return data


@functools.cache
def _catalog(language: str) -> Mapping[str, str]:
    return load_catalog(ui_file(language))


class Translator:
    """``t(text)``: the translation of ``text``, else ``text``; ``t(text, **values)`` also fills
    its placeholders (without values the text is returned unformatted, for ``.format`` later)."""

    def __init__(self, language: str, catalog: Mapping[str, str]):
        self.language = language
        self.catalog = catalog

    def __call__(self, text: str, /, **values: object) -> str:
        translated = self.catalog.get(text, text)
        return translated.format(**values) if values else translated

    def __repr__(self) -> str:
        return f"Translator({self.language!r}, {len(self.catalog)} texts)"


def then(t: Translate, text: str, sentence: str) -> str:
    """``sentence`` after ``text``: a space between them in English, none after a Chinese 。"""
    gap = "" if getattr(t, "language", "en") in UNSPACED else " "
    return f"{text}{gap}{sentence}" if text else sentence


def translator(language: str) -> Translate:
    """The translator of ``language`` (``en`` or ``zh``); its file is read at the first call
    per process. Raises :class:`UiTextError` when the file is malformed."""
    return Translator(language, _catalog(language))


__all__ = [
    "UI_FILE",
    "Translate",
    "Translator",
    "UiTextError",
    "load_catalog",
    "placeholders",
    "then",
    "translator",
    "ui_file",
]
