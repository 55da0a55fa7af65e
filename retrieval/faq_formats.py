"""The FAQ file formats: XLSX, JSON and Markdown Q/A read into row-numbered records.

Why apart from ``retrieval.faq``: each format has its own ways to fail (a CSV renamed
``.xlsx``, a Markdown file whose questions are ``###`` headings), and those messages are
long; ``retrieval.faq`` chooses the reader by suffix and validates the records, the same
for every format. CSV, TSV and JSONL are read by the shared readers of ``retrieval.uploads``.

Readers return ``(row or line number, record)`` pairs and never validate fields. What makes a
whole file unusable raises :class:`~retrieval.uploads.RowErrors`, which ``retrieval.faq``
re-raises as ``FaqError``. Limits: only the first sheet of a workbook is read, formulas count
by their cached value, and Setext (underlined) Markdown headings are not recognised (see
``retrieval.faq`` for the formats in full).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

from retrieval.uploads import Columns, RowError, RowErrors, binary_kind, format_size, table_records

SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".xlsx", ".md", ".markdown")
MAX_XLSX_ROWS = 100_000


def xlsx_records(
    data: bytes, name: str, max_bytes: int, columns: Columns
) -> tuple[list[tuple[int, dict]], list[RowError]]:
    """(row, record) for each data row of the first sheet, keyed by ``columns``, and the row
    problems that let the other rows through."""
    _check_workbook(data, name, max_bytes)
    errors: list[RowError] = []
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise RowErrors.fail(
            name, f"cannot read the workbook ({type(exc).__name__}: {exc}); re-save it as .xlsx"
        ) from None
    try:
        if not workbook.worksheets:
            raise RowErrors.fail(name, "the workbook has no worksheet")
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
            raise RowErrors.fail(name, f"cannot read the first sheet ({type(exc).__name__}: {exc})") from None
        if not any(any(c.strip() for c in cells) for _, cells in rows):
            others = (
                f"; the other sheets ({', '.join(workbook.sheetnames[1:])}) are not read"
                if len(workbook.sheetnames) > 1
                else ""
            )
            raise RowErrors.fail(
                name, f"the first sheet '{sheet.title}' is empty; the FAQ must be on the first sheet{others}"
            )
        return table_records(rows, name, columns, errors), errors
    finally:
        workbook.close()


def _check_workbook(data: bytes, name: str, max_bytes: int) -> None:
    """Refuses, before openpyxl sees it, what is not an XLSX workbook (saying what it is
    instead) and a workbook that unpacks to more than ten times ``max_bytes``."""
    what = binary_kind(data)
    if not data.startswith(b"PK\x03\x04"):
        if what and "old Office" in what:
            message = "an old Excel 97-2003 (.xls) or password-protected workbook; save it as an unprotected .xlsx"
        elif what:
            message = f"not an XLSX workbook: the content is {what}"
        else:
            message = "not an XLSX workbook: the content is text or unknown data (is it a CSV file named .xlsx?)"
        raise RowErrors.fail(name, f"{message}; allowed: {', '.join(SUFFIXES)}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RowErrors.fail(name, f"not an XLSX workbook: a damaged ZIP archive ({exc})") from None
    if "xl/workbook.xml" not in names:
        message = "not an XLSX workbook: a ZIP archive without a workbook (a DOCX document or another ZIP file?)"
        raise RowErrors.fail(name, message)
    if unpacked > 10 * max_bytes:
        raise RowErrors.fail(
            name, f"the workbook unpacks to {format_size(unpacked)}; at most {format_size(10 * max_bytes)}"
        )


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


def json_records(text: str, name: str) -> list[tuple[int, dict]]:
    """(position from 1, item) for each item of a JSON list, or of ``{"faq": [...]}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RowErrors.fail(name, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise RowErrors.fail(name, "invalid JSON: nested too deeply") from None
    if isinstance(data, dict) and isinstance(data.get("faq"), list):
        data = data["faq"]
    if not isinstance(data, list):
        raise RowErrors.fail(name, f'expected a JSON list of entries (or {{"faq": [...]}}), got {json_type(data)}')
    return list(enumerate(data, start=1))


_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_META = re.compile(r"^(id|alternatives)[ \t]*:(.*)$", re.IGNORECASE)
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_records(text: str, name: str) -> list[tuple[int, dict]]:
    """(line of the ``## question`` heading, record) for each question (the format is described
    in ``retrieval.faq``); a file without any raises, with a hint when its headings are deeper."""
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
        raise RowErrors.fail(name, f"no '## question' headings found{hint}")
    return records


def json_type(value) -> str:
    """What a JSON value is, in words for a message ("an object", "a list", "null", ...)."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", float: "a number", int: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
