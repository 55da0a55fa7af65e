"""Intent examples from YAML, CSV/TSV and JSONL files, validated row by row.

Like FAQ files, a file with any bad row is refused whole (:class:`DataError` lists every
problem) so that a broken upload never becomes training data. The file checks (type, size,
binary content, encoding) and the CSV and JSONL parsing are the ones every upload gets
(:mod:`retrieval.uploads`); CSV rows are numbered as a spreadsheet shows them (header = row 1).
Column names are matched exactly (``--text-col``/``--label-col`` name them); other columns
are ignored.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from retrieval.uploads import RowError, RowErrors, csv_rows, jsonl_records, read_text

OUT_OF_SCOPE = "oos"
LABEL_FALLBACKS = ("intent", "label", "category")
SUFFIXES = (".yaml", ".yml", ".csv", ".tsv", ".jsonl")
MAX_TEXT_CHARS = 2_000


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


class DataError(RowErrors):
    """Training data that cannot be used; ``errors`` lists every problem found."""

    subject = "the training data"


def data_hash(examples: list[Example]) -> str:
    """Order-independent content hash: the same examples in any order give the same hash."""
    digest = hashlib.sha256()
    for text, intent in sorted((e.text, e.intent) for e in examples):
        digest.update(f"{intent}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def load_examples(path: str | os.PathLike, text_col: str = "text", label_col: str = "intent") -> list[Example]:
    """Reads labelled examples.

    Args:
        path: a ``.yaml``/``.yml`` intents file (``intents: {name: {examples: [...]}}``, the
            shape of ``assets/intents.yaml``), a ``.csv``/``.tsv`` file or a ``.jsonl`` file.
        text_col: the column (or JSON key) holding the utterance.
        label_col: the column holding the intent. When the default ``intent`` is absent, a
            single ``label`` or ``category`` column is used instead (BANKING77's is ``category``).
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    try:
        text = read_text(path, SUFFIXES)
    except RowErrors as exc:  # the shared reader raises the base type
        raise DataError(exc.errors) from None
    if suffix in (".yaml", ".yml"):
        records = _yaml_records(text, name)
    elif suffix == ".jsonl":
        records = _jsonl_records(text, name, text_col, label_col)
    else:
        records = _csv_records(text, name, "\t" if suffix == ".tsv" else ",", text_col, label_col)
    return validate_examples(records, name)


def _yaml_records(text: str, name: str) -> list[tuple[int, str, object, object]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise DataError([RowError(name, line, "", f"invalid YAML: {getattr(exc, 'problem', exc)}")]) from None
    intents = data.get("intents") if isinstance(data, dict) else None
    if isinstance(intents, list):  # Rasa-style: [{intent: x, examples: [...]}, ...]
        intents = {item.get("intent"): item for item in intents if isinstance(item, dict)}
    if not isinstance(intents, dict):
        raise DataError([RowError(name, 0, "intents", "expected a mapping 'intents: {name: {examples: [...]}}'")])
    records = []
    for intent, spec in intents.items():
        examples = spec.get("examples") if isinstance(spec, dict) else spec
        if not isinstance(examples, list):
            records.append((0, f"intents.{intent}", intent, None))
            continue
        for i, example in enumerate(examples, start=1):
            records.append((i, f"intents.{intent}.examples", example, intent))
    return records


def _resolve_columns(header: list[str], row: int, text_col: str, label_col: str, name: str) -> str:
    """Checks that the header names ``text_col``; returns the label column (``label_col``, or
    for the default ``intent`` the one of :data:`LABEL_FALLBACKS` the header has)."""
    found = f"no such column; the file has: {', '.join(header) or 'none'}"
    if text_col not in header:
        raise DataError([RowError(name, row, text_col, found)])
    if label_col in header:
        return label_col
    if label_col == "intent":
        fallbacks = [c for c in LABEL_FALLBACKS if c in header]
        if len(fallbacks) == 1:
            return fallbacks[0]
    raise DataError([RowError(name, row, label_col, found)])


def _csv_records(text: str, name: str, delimiter: str, text_col: str, label_col: str):
    rows, errors = csv_rows(text, name, delimiter)
    if errors:
        raise DataError(errors)
    rows = [(number, cells) for number, cells in rows if cells]  # blank lines
    header_row, cells = rows[0] if rows else (1, [])
    header = [h.strip() for h in cells]
    label_col = _resolve_columns(header, header_row, text_col, label_col, name)
    records = []
    for number, cells in rows[1:]:
        row = dict(zip(header, cells))
        records.append((number, text_col, row.get(text_col), row.get(label_col)))
    return records


def _jsonl_records(text: str, name: str, text_col: str, label_col: str):
    lines, errors = jsonl_records(text, name, unit="row")
    records = []
    for number, item in lines:
        if not isinstance(item, dict):
            errors.append(RowError(name, number, "", "expected a JSON object per line"))
            continue
        column = (
            label_col
            if label_col in item or label_col != "intent"
            else next((c for c in LABEL_FALLBACKS if c in item), label_col)
        )
        records.append((number, text_col, item.get(text_col), item.get(column)))
    if errors:
        raise DataError(sorted(errors, key=lambda e: e.row))
    return records


def validate_examples(records, name: str) -> list[Example]:
    """Records are (row, column, text, intent); returns examples or raises with every problem."""
    errors: list[RowError] = []
    examples: list[Example] = []
    for row, column, text, intent in records:
        if intent is None and text is None:
            errors.append(RowError(name, row, column, "expected a list of example texts"))
            continue
        if not isinstance(text, str) or not text.strip():
            errors.append(RowError(name, row, column, "the text is empty or not text"))
            continue
        if not isinstance(intent, str) or not intent.strip():
            errors.append(RowError(name, row, "intent", "the intent label is empty"))
            continue
        if len(text) > MAX_TEXT_CHARS:
            errors.append(RowError(name, row, column, f"{len(text)} characters; at most {MAX_TEXT_CHARS}"))
            continue
        examples.append(Example(" ".join(text.split()), intent.strip()))
    if not examples and not errors:
        errors.append(RowError(name, 0, "", "no examples found"))
    if errors:
        raise DataError(errors)
    return examples


def stratified_split(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Holds out ``fraction`` of each intent (none of intents with fewer than 3 examples)."""
    rng = np.random.default_rng(seed)
    by_intent: dict[str, list[Example]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example)
    train, val = [], []
    for intent in sorted(by_intent):
        items = by_intent[intent]
        order = rng.permutation(len(items))
        n_val = 0 if len(items) < 3 or fraction == 0 else max(1, round(len(items) * fraction))
        val += [items[i] for i in order[:n_val]]
        train += [items[i] for i in order[n_val:]]
    return train, val
