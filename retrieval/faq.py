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

Every upload is checked before it is parsed: the suffix, a size limit (``max_bytes``,
from the file size before it is read), the content (a PNG, PDF, ZIP, old Office file or
other binary data under a text suffix is named as such), and the encoding: UTF-8 with or
without BOM, or UTF-16 with BOM; anything else is refused with the first bad byte's
offset and line. None of this repairs a file; it says what to fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

FIELDS = ("id", "question", "answer", "category", "alternatives")
REQUIRED = ("question", "answer")
ALIASES = {"alternative_questions": "alternatives", "paraphrases": "alternatives", "faq_id": "id"}
ALTERNATIVES_SEPARATOR = "|"
MAX_FIELD_CHARS = 10_000
TEXT_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".md", ".markdown")
SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md", ".markdown")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # 20 MiB, the admin console's default upload limit
MAX_XLSX_ROWS = 100_000
PREVIEW_COLUMNS = ("row", "id", "question", "answer", "category", "alternatives", "ok")

# Leading bytes of files people upload by mistake, and what to call them.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an XLSX workbook, a DOCX document or a ZIP file)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (an XLS workbook, a DOC document or an encrypted file)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "a program (ELF)"),
)
_ENCODINGS_ALLOWED = "allowed: UTF-8 with or without BOM, or UTF-16 with BOM"


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


@dataclass(frozen=True)
class RowError:
    """One problem: ``row`` 0 means the whole file; ``unit`` says what ``row`` counts (row or line)."""

    file: str
    row: int
    column: str
    message: str
    unit: str = "row"

    def __str__(self) -> str:
        where = f"{self.file}, {self.unit} {self.row}" if self.row else self.file
        return f"{where}, column '{self.column}': {self.message}" if self.column else f"{where}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


class RowErrors(ValueError):
    """A file that cannot be used; ``errors`` lists every problem found (the first 20 in the message)."""

    subject = "the file"

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = "\n".join(f"  - {e}" for e in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in {self.subject}:\n{shown}{more}")

    @classmethod
    def fail(cls, name: str, message: str, row: int = 0, column: str = "", unit: str = "row") -> RowErrors:
        """One problem as an exception, for ``raise cls.fail(...)``."""
        return cls([RowError(name, row, column, message, unit)])

    @classmethod
    def read_bytes(
        cls,
        path: str | os.PathLike,
        suffixes: tuple[str, ...],
        max_bytes: int = DEFAULT_MAX_BYTES,
        text: bool = True,
    ) -> bytes:
        """An uploaded file's bytes, refusing other suffixes, missing, empty and oversized files.

        Args:
            path: the file.
            suffixes: the allowed suffixes (lower case, with the dot).
            max_bytes: the size limit, checked from the file size before anything is read.
            text: when true, content that is recognisably binary (an image, an archive, NUL
                bytes) is refused; pass false for binary formats such as XLSX.
        """
        path = Path(path)
        name = path.name
        if path.suffix.lower() not in suffixes:
            found = f"'{path.suffix}'" if path.suffix else "none"
            raise cls.fail(name, f"unsupported file type {found}; allowed: {', '.join(suffixes)}")
        try:
            if not path.is_file():
                raise cls.fail(name, "no such file" if not path.exists() else "not a file")
            size = path.stat().st_size
            if size > max_bytes:
                raise cls.fail(name, f"the file is {_size(size)}; at most {_size(max_bytes)} is allowed")
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as exc:
            raise cls.fail(name, f"cannot read the file: {exc.strerror or exc}") from None
        if len(data) > max_bytes:
            raise cls.fail(name, f"the file is larger than {_size(max_bytes)}, the most allowed")
        bom = next((b for b in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff") if data.startswith(b)), b"")
        if not data[len(bom) :].strip(b" \t\r\n\x00"):
            raise cls.fail(name, "the file is empty")
        if text:
            what = _binary_kind(data)
            if what:
                kind = path.suffix.lower().lstrip(".").upper()
                hint = (
                    "; if it is an Excel workbook, name it .xlsx"
                    if what.startswith("a ZIP") and ".xlsx" in suffixes
                    else "; save it as a text file"
                )
                raise cls.fail(name, f"the content is {what}, not {kind} text{hint} (allowed: {', '.join(suffixes)})")
        return data

    @classmethod
    def decode(cls, data: bytes, name: str) -> str:
        """Text from UTF-8 (BOM optional) or UTF-16 (with BOM) bytes; anything else is refused
        with the offset and line of the first bad byte and a hint to save as UTF-8."""
        if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
            raise cls.fail(name, f"UTF-32 text is not supported; save the file as UTF-8 ({_ENCODINGS_ALLOWED})")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError as exc:
                message = f"not valid UTF-16 text (byte {exc.start}); save the file as UTF-8 ({_ENCODINGS_ALLOWED})"
                raise cls.fail(name, message) from None
            if "\x00" in text:
                raise cls.fail(name, "the content is binary data (NUL characters), not text")
            return text
        body, skipped = (data[3:], 3) if data.startswith(b"\xef\xbb\xbf") else (data, 0)
        nul = body.find(b"\x00")
        if nul != -1:
            if _looks_like_utf16(body):
                raise cls.fail(
                    name, f"UTF-16 text without a byte-order mark; save the file as UTF-8 ({_ENCODINGS_ALLOWED})"
                )
            raise cls.fail(name, f"the content is binary data (a NUL byte at offset {nul + skipped}), not text")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = exc.start + skipped
            line = data.count(b"\n", 0, offset) + 1
            bad = data[offset : offset + max(1, exc.end - exc.start)]
            try:
                guess = f"; it looks like Windows-1252/Latin-1 text ('{bad.decode('cp1252')}')"
            except UnicodeDecodeError:
                guess = ""
            bad_lines = sum(1 for chunk in data.split(b"\n") if not _is_utf8(chunk))
            others = f"; {bad_lines} lines in all have such bytes" if bad_lines > 1 else ""
            message = (
                f"not UTF-8 text: byte {offset} (0x{bad.hex().upper()}) is not valid UTF-8{guess}{others}. "
                f"Save the file as UTF-8 (in Excel: 'CSV UTF-8'); {_ENCODINGS_ALLOWED}"
            )
            raise cls.fail(name, message, row=line, unit="line") from None

    @classmethod
    def read_csv(
        cls, text: str, name: str, delimiter: str | None = None
    ) -> tuple[list[tuple[int, list[str]]], list[RowError]]:
        """Parses CSV text into (row as a spreadsheet counts it, cells) pairs and the quoting errors.

        ``delimiter`` None means ',' unless the first line has no comma but has ';' or a tab.
        A broken record (an unterminated quote, text after a closing quote) ends the rows:
        the error says on which line the bad record starts, and the rows before it are kept.
        """
        if delimiter is None:
            header = text.lstrip("\r\n").split("\n", 1)[0]
            delimiter = "," if "," in header else ";" if ";" in header else "\t" if "\t" in header else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        rows: list[tuple[int, list[str]]] = []
        while True:
            first_line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return rows, []
            except csv.Error as exc:
                return rows, [_csv_error(name, str(exc), len(rows) + 1, first_line, reader.line_num)]
            rows.append((len(rows) + 1, cells))

    @classmethod
    def read_text(cls, path: str | os.PathLike, suffixes: tuple[str, ...], max_bytes: int = DEFAULT_MAX_BYTES) -> str:
        """An uploaded file's text: refuses other file types, oversized, binary, non-UTF-8 and empty files."""
        path = Path(path)
        text = cls.decode(cls.read_bytes(path, suffixes, max_bytes), path.name)
        if not text.strip():
            raise cls.fail(path.name, "the file is empty")
        start = text.lstrip()[:100].lower()
        if start.startswith(("<!doctype html", "<html")):
            raise cls.fail(path.name, f"the content is an HTML page, not {path.suffix.lstrip('.').upper()} text")
        return text


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
    if suffix == ".xlsx":
        data = FaqError.read_bytes(path, SUFFIXES, max_bytes, text=False)
        records, errors = _xlsx_records(data, name, max_bytes)
        return records, errors, "row", name
    text = FaqError.read_text(path, SUFFIXES, max_bytes)
    if suffix in (".csv", ".tsv"):
        rows, errors = FaqError.read_csv(text, name, "\t" if suffix == ".tsv" else None)
        return _table_records(rows, name, errors), errors, "row", name
    if suffix == ".jsonl":
        records, errors = _jsonl_records(text, name)
        return records, errors, "row", name
    if suffix == ".json":
        return _json_records(text, name), [], "row", name
    return _markdown_records(text, name), [], "line", name


def _csv_error(name: str, problem: str, row: int, first_line: int, line: int) -> RowError:
    quoting = 'allowed: a field in double quotes, with a quote inside it written as ""'
    if "end of data" in problem or "EOF" in problem:
        message = (
            f"broken CSV: unterminated quote: a quoted field in the row starting on line {first_line} "
            f"has no closing quote, so the rest of the file was read into it; {quoting}"
        )
    elif "expected after" in problem:
        message = f"broken CSV: text after a closing quote on line {line}; {quoting}"
    elif "field limit" in problem:
        message = (
            f"broken CSV: a field starting on line {first_line} is longer than {csv.field_size_limit()} "
            f"characters, usually an unterminated quote; {quoting}"
        )
    else:
        message = f"broken CSV on line {line}: {problem}"
    return RowError(name, row, "", message)


def _table_records(rows: Iterable[tuple[int, list[str]]], name: str, errors: list[RowError]) -> list[tuple[int, dict]]:
    """Records from a header row and data rows (CSV or a sheet); raises when the header is unusable."""
    rows = iter(rows)
    header: list[str] = []
    header_row = 0
    for number, cells in rows:
        if any(c.strip() for c in cells):
            header, header_row = [c.strip() for c in cells], number
            break
    if not header:
        raise FaqError(errors or [RowError(name, 0, "", "the file has no header row and no entries")])
    columns = _check_header(header, header_row, name)
    records = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        used = max((i + 1 for i, c in enumerate(cells) if c.strip()), default=0)
        if used > len(header):
            message = (
                f"{len(cells)} fields, the header has {len(header)}; "
                "allowed: one value per column (put a value containing the delimiter in double quotes)"
            )
            errors.append(RowError(name, number, "", message))
            continue
        unnamed = [i for i, c in enumerate(cells[: len(columns)]) if c.strip() and not columns[i]]
        if unnamed:
            message = f"a value in column {_column_letter(unnamed[0])}, which has no name in the header row"
            errors.append(RowError(name, number, "", message))
            continue
        records.append((number, {c: v for c, v in zip(columns, cells) if c}))
    return records


def _check_header(header: list[str], row: int, name: str) -> list[str]:
    """Canonical field per header cell ('' for an unnamed one); raises with every header problem."""
    columns = [ALIASES.get(h.lower(), h.lower()) for h in header]
    problems = []
    seen: dict[str, int] = {}
    for i, column in enumerate(columns):
        if not column:
            continue
        if column not in FIELDS:
            close = difflib.get_close_matches(column, [*FIELDS, *ALIASES], n=1, cutoff=0.75)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(RowError(name, row, header[i], f"unknown column; {hint}allowed: {', '.join(FIELDS)}"))
        elif column in seen:
            message = f"duplicate column (also column {_column_letter(seen[column])}); each column may appear once"
            problems.append(RowError(name, row, header[i], message))
        seen.setdefault(column, i)
    found = ", ".join(h for h in header if h) or "none"
    for column in REQUIRED:
        if column not in columns:
            message = (
                f"required column is missing; the file has columns: {found}; expected: {', '.join(REQUIRED)} "
                f"(optional: {', '.join(f for f in FIELDS if f not in REQUIRED)}); the first row must name the columns"
            )
            problems.append(RowError(name, row, column, message))
    if problems:
        raise FaqError(problems)
    return columns


def _xlsx_records(data: bytes, name: str, max_bytes: int) -> tuple[list[tuple[int, dict]], list[RowError]]:
    what = _binary_kind(data)
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
        raise FaqError.fail(name, f"the workbook unpacks to {_size(unpacked)}; at most {_size(10 * max_bytes)}")
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
        if hasattr(sheet, "reset_dimensions"):
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
        return _table_records(rows, name, errors), errors
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


def _jsonl_records(text: str, name: str) -> tuple[list[tuple[int, dict]], list[RowError]]:
    records, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(RowError(name, number, "", f"invalid JSON: {exc.msg} (column {exc.colno})"))
        except RecursionError:
            errors.append(RowError(name, number, "", "invalid JSON: nested too deeply"))
    return records, errors


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


# --- small helpers ----------------------------------------------------------------------


def _binary_kind(data: bytes) -> str:
    """What a known binary file is, by its first bytes; '' for anything else."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            return what
    return ""


def _looks_like_utf16(data: bytes) -> bool:
    sample = data[:2000]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return even.count(0) > 0.4 * len(even) or odd.count(0) > 0.4 * len(odd)


def _is_utf8(chunk: bytes) -> bool:
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _json_type(value) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", float: "a number", int: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
