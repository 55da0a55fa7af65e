"""Loading and validating FAQ files: CSV, TSV, JSON, JSONL, XLSX and Markdown Q/A.

Validation is row by row and all-or-nothing: a file with any bad row raises
:class:`FaqError` listing every problem (file, row, column, what is wrong, what is allowed),
and nothing is returned, so a bad upload can never replace a good FAQ. :func:`preview_faq`
reads the same way but never raises: it returns the first rows and every problem, for an
admin console to show before the upload is applied.

Fields: ``question`` and ``answer`` (required), ``id`` (default ``faq-<row>``), ``category``,
``alternatives`` (other phrasings: a JSON list, or texts separated by ``|``). Column names
are case-insensitive; ``faq_id``, ``alternative_questions`` and ``paraphrases`` are aliases.
Duplicate ids and duplicate questions (ignoring case and spacing) are errors naming both
rows. An alternative equal to another entry's question is not checked: the console adds
reviewed phrasings to a served FAQ, which must keep loading.

Formats, chosen by the file suffix and checked against the content:

- ``.csv`` / ``.tsv``: a header row naming the columns, then one row per entry. A ``.csv``
  whose header has no comma but has semicolons (a European Excel export) or tabs is read
  with that delimiter. Row numbers are the rows a spreadsheet shows (header = row 1).
- ``.json``: a list of objects, or ``{"faq": [...]}``; ``.jsonl``: one object per line.
- ``.xlsx``: the first sheet only; its first non-empty row is the header. Formulas count
  by their cached value (a workbook never opened in a spreadsheet program has none, so
  such a cell reads as empty). Old ``.xls`` workbooks are refused with a hint to re-save.
- ``.md`` / ``.markdown``: each ``## question`` heading starts an entry; the answer is the
  text up to the next ``#`` or ``##`` heading (``###`` and deeper stay inside the answer,
  as do headings in fenced code blocks). A ``# Category`` heading sets the category of the
  entries below it. Directly under the question, before the answer, optional
  ``id: ...`` and ``alternatives: a | b`` lines set those fields. Text before the first
  question is ignored. Setext (underlined) headings are not recognised. Row numbers are
  the line numbers of the question headings.

Before it is parsed, a file gets the checks every upload gets (:mod:`retrieval.uploads`):
the suffix, a size limit (``max_bytes``), binary content under a text suffix (named: a PNG,
a PDF, a ZIP...), and the encoding (UTF-8 with or without BOM, or UTF-16 with BOM). None of
this repairs a file; it says what to fix. The XLSX, JSON and Markdown readers are in
``retrieval.faq_formats``; this module picks one by suffix and validates what it read.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.faq_formats import SUFFIXES, json_records, json_type, markdown_records, xlsx_records
from retrieval.uploads import (
    DEFAULT_MAX_BYTES,
    Columns,
    RowError,
    RowErrors,
    csv_rows,
    jsonl_records,
    read_bytes,
    read_text,
    table_records,
)

FIELDS = ("id", "question", "answer", "category", "alternatives")
REQUIRED = ("question", "answer")
ALIASES = {"alternative_questions": "alternatives", "paraphrases": "alternatives", "faq_id": "id"}
ALTERNATIVES_SEPARATOR = "|"
MAX_FIELD_CHARS = 10_000
PREVIEW_COLUMNS = ("row", "id", "question", "answer", "category", "alternatives", "ok")
TABLE_COLUMNS = Columns(FIELDS, REQUIRED, ALIASES, rows_are="entries")  # CSV, TSV and XLSX headers


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ answer and every question phrasing that should lead to it."""

    id: str
    question: str
    answer: str
    category: str = ""
    alternatives: tuple[str, ...] = field(default_factory=tuple)

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternatives)

    def to_dict(self) -> dict:
        # spelled out: dataclasses.asdict deep-copies and was most of an index update at 1M entries
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "category": self.category,
            "alternatives": list(self.alternatives),
        }


class FaqError(RowErrors):
    subject = "the FAQ"


@dataclass(frozen=True)
class FaqPreview:
    """What an upload would import: the first rows (bad ones too, ``ok`` false) and every problem.

    ``rows`` are dicts with the keys of :data:`PREVIEW_COLUMNS`; ``alternatives`` is joined
    with ``" | "`` for display. ``total`` counts every record read, not only the shown ones.
    """

    file: str
    rows: list[dict]
    total: int
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.ok:
            return f"{self.file}: {self.total} entries, no problems"
        return f"{self.file}: {self.total} entries read, {len(self.errors)} problem(s); nothing is imported"


def faq_hash(entries: list[FaqEntry]) -> str:
    """A content hash of the FAQ; saved indexes record it to detect a stale or edited file."""
    payload = json.dumps([e.to_dict() for e in entries], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def load_faq(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[FaqEntry]:
    """Reads and validates a FAQ file; raises :class:`FaqError` listing every problem.

    Args:
        path: a ``.csv``, ``.tsv``, ``.json``, ``.jsonl``, ``.xlsx``, ``.md`` or ``.markdown`` file.
        max_bytes: larger files are refused before they are read (default 20 MiB).
    """
    records, errors, unit, name = _read(Path(path), max_bytes)
    _, entries, row_errors = _check(records, name, unit)
    errors = sorted(errors + row_errors, key=lambda e: e.row)
    if errors:
        raise FaqError(errors)
    return entries


def preview_faq(path: str | os.PathLike, limit: int = 20, *, max_bytes: int = DEFAULT_MAX_BYTES) -> FaqPreview:
    """The first ``limit`` rows of a FAQ file and every problem in it; never raises :class:`FaqError`.

    A file that cannot be read at all (wrong type, encoding, missing columns) gives no rows
    and that one problem; a file with bad rows gives its rows, marked, and the row errors.
    """
    path = Path(path)
    try:
        records, errors, unit, name = _read(path, max_bytes)
    except FaqError as exc:
        return FaqPreview(path.name, [], 0, list(exc.errors))
    rows, _, row_errors = _check(records, name, unit)
    errors = sorted(errors + row_errors, key=lambda e: e.row)
    return FaqPreview(name, rows[: max(0, limit)], len(records), errors)


def validate_faq(records: list[tuple[int, dict]], name: str = "<faq>") -> list[FaqEntry]:
    """Turns raw ``(row, record)`` pairs into entries; every problem is collected before raising."""
    _, entries, errors = _check(records, name)
    if errors:
        raise FaqError(errors)
    return entries


def save_faq(entries: list[FaqEntry], path: str | os.PathLike) -> None:
    """Writes entries as JSON (the format the index folder keeps)."""
    Path(path).write_text(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=1), encoding="utf-8")


# --- reading ----------------------------------------------------------------------------


def _read(path: Path, max_bytes: int) -> tuple[list[tuple[int, dict]], list[RowError], str, str]:
    """Returns (records, parse errors that still let other rows through, row unit, file name);
    raises :class:`FaqError` when nothing can be read."""
    name = path.name
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            data = read_bytes(path, SUFFIXES, max_bytes, text=False)
            records, errors = xlsx_records(data, name, max_bytes, TABLE_COLUMNS)
            return records, errors, "row", name
        text = read_text(path, SUFFIXES, max_bytes)
        if suffix in (".csv", ".tsv"):
            rows, errors = csv_rows(text, name, "\t" if suffix == ".tsv" else None)
            return table_records(rows, name, TABLE_COLUMNS, errors), errors, "row", name
        if suffix == ".jsonl":
            records, errors = jsonl_records(text, name, unit="row")
            return records, errors, "row", name
        if suffix == ".json":
            return json_records(text, name), [], "row", name
        return markdown_records(text, name), [], "line", name
    except RowErrors as exc:  # the readers (shared, and retrieval.faq_formats) raise the base type
        raise FaqError(exc.errors) from None


# --- validation -------------------------------------------------------------------------


def _check(records: list[tuple[int, object]], name: str, unit: str = "row"):
    """Returns (display rows, entries, errors) for every record; nothing raises here."""
    errors: list[RowError] = []
    entries: list[FaqEntry] = []
    rows: list[dict] = []
    seen_ids: dict[str, int] = {}
    seen_questions: dict[str, int] = {}  # casefolded question -> first row

    def error(number: int, column: str, message: str) -> None:
        errors.append(RowError(name, number, column, message, unit))

    for number, record in records:
        before = len(errors)
        if not isinstance(record, dict):
            error(number, "", f"expected an object with question and answer, got {json_type(record)}")
            rows.append({"row": number, **dict.fromkeys(PREVIEW_COLUMNS[1:-1], ""), "ok": False})
            continue
        record = {ALIASES.get(str(k).strip().lower(), str(k).strip().lower()): v for k, v in record.items()}
        for key in record:
            if key not in FIELDS:
                error(number, key, f"unknown field; allowed: {', '.join(FIELDS)}")
        values = {}
        for key in ("id", "question", "answer", "category"):
            value = record.get(key)
            if value is None:
                value = ""
            if not isinstance(value, str | int) or isinstance(value, bool):
                error(number, key, f"expected text, got {type(value).__name__}")
                value = ""
            values[key] = " ".join(str(value).split()) if key != "answer" else str(value).strip()
        for key in REQUIRED:
            if not values[key]:
                error(number, key, "must not be empty")
        for key, value in values.items():
            if len(value) > MAX_FIELD_CHARS:
                error(number, key, f"{len(value)} characters; at most {MAX_FIELD_CHARS}")
        alternatives = _alternatives(record.get("alternatives"), name, number, errors, unit)
        entry_id = values["id"] or f"faq-{number}"
        if entry_id in seen_ids:
            error(number, "id", f"duplicate id '{entry_id}' (first on {unit} {seen_ids[entry_id]})")
        seen_ids.setdefault(entry_id, number)
        question_key = values["question"].casefold()
        if question_key:
            first = seen_questions.setdefault(question_key, number)
            if first != number:
                message = f"duplicate question (first on {unit} {first}); each question may lead to one answer only"
                error(number, "question", message)
        rows.append({"row": number, **values, "alternatives": " | ".join(alternatives), "ok": len(errors) == before})
        entries.append(FaqEntry(entry_id, values["question"], values["answer"], values["category"], alternatives))
    if not records and not errors:
        errors.append(RowError(name, 0, "", "no FAQ entries found"))
    return rows, entries, errors


def _alternatives(value, name: str, number: int, errors: list[RowError], unit: str = "row") -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        items = value.split(ALTERNATIVES_SEPARATOR)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        message = "expected a list of texts or texts separated by '|'"
        errors.append(RowError(name, number, "alternatives", message, unit))
        return ()
    return tuple(dict.fromkeys(" ".join(v.split()) for v in items if v.strip()))
