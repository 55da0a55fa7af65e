"""Reading uploaded files: the checks every upload gets, and the row-numbered table and JSONL
readers the FAQ, training-data and dialog-log importers share.

Every upload is checked before it is parsed (:func:`read_text`, :func:`read_bytes`): the
suffix, a size limit (``max_bytes``, from the file size before it is read), the content (a
PNG, PDF, ZIP, old Office file or other binary data under a text suffix is named as such),
and the encoding (:func:`decode`): UTF-8 with or without BOM, or UTF-16 with BOM; anything
else is refused with the first bad byte's offset and line. None of this repairs a file; it
says what to fix.

Problems are :class:`RowError` values (file, row or line, column, message). The readers of
rows (:func:`csv_rows`, :func:`table_records`, :func:`jsonl_records`) live in
``retrieval.rows`` and are re-exported here, so that an importer takes everything it reads a
file with from this module. They return the problems beside the rows that could be read, so
that an importer reports every bad row at once; what makes the whole file unusable (its type,
size, encoding, a header without a required column) raises :class:`RowErrors`. An importer
re-raises that as its own subclass (``FaqError``, ``DataError``, ...), which only changes the
subject its message names.

Limits: the whole file is held in memory (hence the size limit); CSV delimiters other than
comma, semicolon and tab are not detected; this module knows no FAQ, intent or dialog
fields: the importers say which columns they need (:class:`Columns`).
"""

from __future__ import annotations

import os
from pathlib import Path

from retrieval.rows import Columns, RowError, RowErrors, csv_rows, jsonl_records, table_records

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Columns",
    "RowError",
    "RowErrors",
    "binary_kind",
    "csv_rows",
    "decode",
    "format_size",
    "jsonl_records",
    "read_bytes",
    "read_text",
    "table_records",
]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # 20 MiB, the admin console's default upload limit
_ENCODINGS_ALLOWED = "allowed: UTF-8 with or without BOM, or UTF-16 with BOM"

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
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def read_bytes(
    path: str | os.PathLike, suffixes: tuple[str, ...], max_bytes: int = DEFAULT_MAX_BYTES, *, text: bool = True
) -> bytes:
    """An uploaded file's bytes, refusing other suffixes, missing, empty and oversized files.

    Args:
        path: the file.
        suffixes: the allowed suffixes (lower case, with the dot).
        max_bytes: the size limit, checked from the file size before anything is read (and
            again while reading, for a file that grows meanwhile).
        text: when true, content that is recognisably binary (an image, an archive) is
            refused; pass false for binary formats such as XLSX.
    """
    path = Path(path)
    name = path.name
    if path.suffix.lower() not in suffixes:
        found = f"'{path.suffix}'" if path.suffix else "none"
        raise RowErrors.fail(name, f"unsupported file type {found}; allowed: {', '.join(suffixes)}")
    try:
        if not path.is_file():
            raise RowErrors.fail(name, "no such file" if not path.exists() else "not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise RowErrors.fail(name, f"the file is {format_size(size)}; at most {format_size(max_bytes)} is allowed")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise RowErrors.fail(name, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise RowErrors.fail(name, f"the file is larger than {format_size(max_bytes)}, the most allowed")
    bom = next((b for b in _BOMS if data.startswith(b)), b"")
    if not data[len(bom) :].strip(b" \t\r\n\x00"):
        raise RowErrors.fail(name, "the file is empty")
    if text:
        what = binary_kind(data)
        if what:
            kind = path.suffix.lower().lstrip(".").upper()
            hint = (
                "; if it is an Excel workbook, name it .xlsx"
                if what.startswith("a ZIP") and ".xlsx" in suffixes
                else "; save it as a text file"
            )
            message = f"the content is {what}, not {kind} text{hint} (allowed: {', '.join(suffixes)})"
            raise RowErrors.fail(name, message)
    return data


def decode(data: bytes, name: str) -> str:
    """Text from UTF-8 (BOM optional) or UTF-16 (with BOM) bytes; anything else is refused
    with the offset and line of the first bad byte and a hint to save as UTF-8.

    Why not guess: a Windows-1252 file decoded as Latin-1 "works" and stores wrong
    characters in the FAQ; the person who exported it can fix it in one step.
    """
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise RowErrors.fail(name, f"UTF-32 text is not supported; save the file as UTF-8 ({_ENCODINGS_ALLOWED})")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            message = f"not valid UTF-16 text (byte {exc.start}); save the file as UTF-8 ({_ENCODINGS_ALLOWED})"
            raise RowErrors.fail(name, message) from None
        if "\x00" in text:
            raise RowErrors.fail(name, "the content is binary data (NUL characters), not text")
        return text
    body, skipped = (data[3:], 3) if data.startswith(b"\xef\xbb\xbf") else (data, 0)
    nul = body.find(b"\x00")
    if nul != -1:
        if _looks_like_utf16(body):
            message = f"UTF-16 text without a byte-order mark; save the file as UTF-8 ({_ENCODINGS_ALLOWED})"
            raise RowErrors.fail(name, message)
        raise RowErrors.fail(name, f"the content is binary data (a NUL byte at offset {nul + skipped}), not text")
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
        raise RowErrors.fail(name, message, row=line, unit="line") from None


def read_text(path: str | os.PathLike, suffixes: tuple[str, ...], max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """An uploaded text file's content (:func:`read_bytes`, then :func:`decode`); also refuses
    a file of only whitespace and an HTML page (a login page saved instead of the export)."""
    path = Path(path)
    text = decode(read_bytes(path, suffixes, max_bytes), path.name)
    if not text.strip():
        raise RowErrors.fail(path.name, "the file is empty")
    if text.lstrip()[:100].lower().startswith(("<!doctype html", "<html")):
        raise RowErrors.fail(path.name, f"the content is an HTML page, not {path.suffix.lstrip('.').upper()} text")
    return text


def binary_kind(data: bytes) -> str:
    """What a known binary file is, by its first bytes ("a PNG image"); '' for anything else."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            return what
    return ""


def format_size(n: int) -> str:
    """A byte count for messages: ``246 bytes``, ``20.0 MB``."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


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
