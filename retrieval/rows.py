"""Row-numbered readers shared by the FAQ, training-data and dialog-log importers, and the
problems they report: :class:`RowError` (one problem) and :class:`RowErrors` (a file that
cannot be used).

The readers (:func:`csv_rows`, :func:`table_records`, :func:`jsonl_records`) return the
problems beside the rows that could be read, so that an importer reports every bad row at
once; only what makes the whole file unusable (a header without a required column, a column
named twice) raises :class:`RowErrors`. Rows are numbered as the person who made the file
sees them: a spreadsheet's row (header = row 1), a JSONL line.

Limits: these readers take text already checked and decoded (``retrieval.uploads``); CSV
delimiters other than comma, semicolon and tab are not detected; no FAQ, intent or dialog
field is known here: the importers say which columns they need (:class:`Columns`).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

# JSON escapes CR and LF inside strings, so a JSONL record never spans these; other line
# breaks that str.splitlines() knows (U+2028, U+0085, ...) may stand raw inside a JSON string
_JSONL_LINES = re.compile(r"\r\n|\r|\n")


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


@dataclass(frozen=True)
class Columns:
    """What the header row of a table upload (CSV, TSV, a sheet) may and must name.

    Header cells are matched case-insensitively, after ``aliases`` (other name -> column).
    ``names`` are every known column, in the order messages list them; ``required`` are among
    them. With ``others_ignored`` a column of another name is read past (an export from
    another tool carries extra columns) unless it looks like a misspelling of a missing known
    one; without it, every other column is an error. ``rows_are`` names the data rows in the
    message for a file without any (``"entries"``, ``"turns"``).
    """

    names: tuple[str, ...]
    required: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    others_ignored: bool = False
    rows_are: str = "rows"


def csv_rows(text: str, name: str, delimiter: str | None = None) -> tuple[list[tuple[int, list[str]]], list[RowError]]:
    """Parses CSV text into (row as a spreadsheet counts it, cells) pairs and the quoting errors.

    ``delimiter`` None means ',' unless the first line has no comma but has ';' (a European
    Excel export) or a tab. Rows are counted as a spreadsheet shows them (the header is row 1,
    a blank line is a row, a quoted field over several lines is one row). A broken record (an
    unterminated quote, text after a closing quote) ends the rows: the error says on which
    line the bad record starts, and the rows before it are kept.
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


def table_records(
    rows: Iterable[tuple[int, list[str]]], name: str, columns: Columns, errors: list[RowError]
) -> list[tuple[int, dict[str, str]]]:
    """(row, {column: cell}) for each data row of a table (CSV rows or a sheet's), keyed by the
    known columns the header names; blank rows are skipped.

    The header is the first row with a non-blank cell. A row with values beyond the header's
    width, or (unless ``columns.others_ignored``) a value under a header cell without a name,
    is a problem appended to ``errors`` and left out. Raises :class:`RowErrors` with every
    header problem (a required column missing, a column named twice, an unknown one), or
    with ``errors`` (else "no header row") when no row has a value.
    """
    rows = iter(rows)
    header, header_row = None, 0
    for number, cells in rows:
        if any(c.strip() for c in cells):
            header, header_row = [c.strip() for c in cells], number
            break
    if header is None:
        raise RowErrors(errors or [RowError(name, 0, "", f"the file has no header row and no {columns.rows_are}")])
    named = _header_columns(header, columns, name, header_row)
    records = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if any(c.strip() for c in cells[len(header) :]):
            message = (
                f"{len(cells)} fields, the header has {len(header)}; "
                "allowed: one value per column (put a value containing the delimiter in double quotes)"
            )
            errors.append(RowError(name, number, "", message))
            continue
        unnamed = [i for i, c in enumerate(cells[: len(named)]) if c.strip() and not named[i]]
        if unnamed and not columns.others_ignored:
            message = f"a value in column {_column_letter(unnamed[0])}, which has no name in the header row"
            errors.append(RowError(name, number, "", message))
            continue
        records.append((number, {c: v for c, v in zip(named, cells) if c in columns.names}))
    return records


def _header_columns(header: list[str], columns: Columns, name: str, row: int = 1) -> list[str]:
    """The known column of each header cell ('' for an unnamed cell; other names stay, lower
    case); raises :class:`RowErrors` listing every problem: a required column missing,
    a column named twice, an unknown column (with the closest known name as a hint)."""
    named = [columns.aliases.get(h.lower(), h.lower()) for h in header]
    missing = [c for c in columns.names if c not in named]
    problems = []
    seen: dict[str, int] = {}
    for i, column in enumerate(named):
        if not column:
            continue
        if column not in columns.names:
            if columns.others_ignored:  # only a likely misspelling of a missing column is reported
                close = difflib.get_close_matches(column, missing, n=1, cutoff=0.8)
                if close:
                    message = f"unknown column; did you mean '{close[0]}'? known columns: {', '.join(columns.names)}"
                    problems.append(RowError(name, row, header[i], message))
            else:
                close = difflib.get_close_matches(column, [*columns.names, *columns.aliases], n=1, cutoff=0.75)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(
                    RowError(name, row, header[i], f"unknown column; {hint}allowed: {', '.join(columns.names)}")
                )
                continue
        if column in seen:
            message = f"duplicate column (also column {_column_letter(seen[column])}); each column may appear once"
            problems.append(RowError(name, row, header[i], message))
        seen.setdefault(column, i)
    found = ", ".join(h for h in header if h) or "none"
    optional = ", ".join(c for c in columns.names if c not in columns.required)
    for column in columns.required:
        if column not in named:
            message = (
                f"required column is missing; the file has columns: {found}; expected: {', '.join(columns.required)} "
                f"(optional: {optional}); the first row must name the columns"
            )
            problems.append(RowError(name, row, column, message))
    if problems:
        raise RowErrors(problems)
    return named


def jsonl_records(text: str, name: str, unit: str = "line") -> tuple[list[tuple[int, object]], list[RowError]]:
    """(line number, parsed value) for each non-blank line of JSONL text, and a problem for
    each line that is not JSON. Any JSON value is returned: the caller says what it expects.

    Lines end at CR, LF or CRLF only (a raw U+2028 inside a JSON string stays in its record).
    ``unit`` is what the problems call a line (the FAQ and training-data importers say "row").
    """
    records, errors = [], []
    for number, line in enumerate(_JSONL_LINES.split(text), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(RowError(name, number, "", f"invalid JSON: {exc.msg} (column {exc.colno})", unit))
        except RecursionError:
            errors.append(RowError(name, number, "", "invalid JSON: nested too deeply", unit))
    return records, errors


def _column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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
