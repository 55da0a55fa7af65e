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
this repairs a file; it says what to fix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.uploads import (
    DEFAULT_MAX_BYTES,
    Columns,
    RowError,
    RowErrors,
    binary_kind,
    csv_rows,
    format_size,
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
SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md", ".markdown")
MAX_XLSX_ROWS = 100_000
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
            records, errors = _xlsx_records(read_bytes(path, SUFFIXES, max_bytes, text=False), name, max_bytes)
            return records, errors, "row", name
        text = read_text(path, SUFFIXES, max_bytes)
        if suffix in (".csv", ".tsv"):
            rows, errors = csv_rows(text, name, "\t" if suffix == ".tsv" else None)
            return table_records(rows, name, TABLE_COLUMNS, errors), errors, "row", name
        if suffix == ".jsonl":
            records, errors = jsonl_records(text, name, unit="row")
            return records, errors, "row", name
        if suffix == ".json":
            return _json_records(text, name), [], "row", name
        return _markdown_records(text, name), [], "line", name
    except RowErrors as exc:  # the shared readers raise the base type
        raise FaqError(exc.errors) from None


def _xlsx_records(data: bytes, name: str, max_bytes: int) -> tuple[list[tuple[int, dict]], list[RowError]]:
    what = binary_kind(data)
    if not data.startswith(b"PK\x03\x04"):
        if what and "old Office" in what:
            message = "an old Excel 97-2003 (.xls) or password-protected workbook; save it as an unprotected .xlsx"
        elif what:
            message = f"not an XLSX workbook: the content is {what}"
        else:
            message = "not an XLSX workbook: the content is text or unknown data (is it a CSV file named .xlsx?)"
        raise FaqError.fail(name, f"{message}; allowed: {', '.join(SUFFIXES)}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FaqError.fail(name, f"not an XLSX workbook: a damaged ZIP archive ({exc})") from None
    if "xl/workbook.xml" not in names:
        message = "not an XLSX workbook: a ZIP archive without a workbook (a DOCX document or another ZIP file?)"
        raise FaqError.fail(name, message)
    if unpacked > 10 * max_bytes:
        raise FaqError.fail(
            name, f"the workbook unpacks to {format_size(unpacked)}; at most {format_size(10 * max_bytes)}"
        )
    errors: list[RowError] = []
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise FaqError.fail(
            name, f"cannot read the workbook ({type(exc).__name__}: {exc}); re-save it as .xlsx"
        ) from None
    try:
        if not workbook.worksheets:
            raise FaqError.fail(name, "the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions; read every row
        rows = []
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number > MAX_XLSX_ROWS + 1:
                    errors.append(RowError(name, number, "", f"more than {MAX_XLSX_ROWS} rows; split the FAQ"))
                    break
                rows.append((number, [_cell_text(v) for v in values]))
        except Exception as exc:  # a damaged sheet part
            raise FaqError.fail(name, f"cannot read the first sheet ({type(exc).__name__}: {exc})") from None
        if not any(any(c.strip() for c in cells) for _, cells in rows):
            others = (
                f"; the other sheets ({', '.join(workbook.sheetnames[1:])}) are not read"
                if len(workbook.sheetnames) > 1
                else ""
            )
            raise FaqError.fail(
                name, f"the first sheet '{sheet.title}' is empty; the FAQ must be on the first sheet{others}"
            )
        return table_records(rows, name, TABLE_COLUMNS, errors), errors
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()  # spreadsheets store dates as midnight datetimes
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _json_records(text: str, name: str) -> list[tuple[int, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaqError.fail(name, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise FaqError.fail(name, "invalid JSON: nested too deeply") from None
    if isinstance(data, dict) and isinstance(data.get("faq"), list):
        data = data["faq"]
    if not isinstance(data, list):
        raise FaqError.fail(name, f'expected a JSON list of entries (or {{"faq": [...]}}), got {_json_type(data)}')
    return list(enumerate(data, start=1))


_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_META = re.compile(r"^(id|alternatives)[ \t]*:(.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _markdown_records(text: str, name: str) -> list[tuple[int, dict]]:
    records: list[tuple[int, dict]] = []
    category = ""
    current: dict | None = None
    body: list[str] = []
    in_meta = False
    fence = ""
    deeper = 0  # the first ### (or deeper) heading outside a question, for the error hint

    def close() -> None:
        if current is not None:
            current["answer"] = "\n".join(body).strip()
            records.append((current.pop("_line"), current))

    for number, line in enumerate(text.splitlines(), start=1):
        fenced = _FENCE.match(line)
        if fence:
            fence = "" if fenced and fenced.group(1) == fence else fence
        elif fenced:
            fence = fenced.group(1)
        else:
            heading = _HEADING.match(line)
            if heading and len(heading.group(1)) <= 2:
                close()
                body, title = [], (heading.group(2) or "").strip()
                if len(heading.group(1)) == 1:
                    category, current = title, None
                else:
                    current, in_meta = {"_line": number, "question": title, "category": category}, True
                continue
            if heading and current is None and not deeper:
                deeper = number
        if current is None:
            continue
        if in_meta and not fence:
            if not line.strip() and not body:
                continue
            meta = _META.match(line.strip())
            if meta:
                current[meta.group(1).lower()] = meta.group(2).strip()
                continue
            in_meta = False
        body.append(line)
    close()
    if not records:
        hint = (
            f"; questions must be level-2 headings ('## How do I ...?'), line {deeper} has a deeper one"
            if deeper
            else "; a Markdown FAQ is '## question' headings, each followed by its answer"
        )
        raise FaqError.fail(name, f"no '## question' headings found{hint}")
    return records


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
            error(number, "", f"expected an object with question and answer, got {_json_type(record)}")
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


def _json_type(value) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", float: "a number", int: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
