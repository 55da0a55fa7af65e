"""Loading and validating FAQ files (CSV, TSV, JSON, JSONL).

Validation is row by row and all-or-nothing: a file with any bad row raises
:class:`FaqError` listing every problem (file, row, column, what is wrong, what is allowed),
and nothing is returned, so a bad upload can never replace a good FAQ.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

FIELDS = ("id", "question", "answer", "category", "alternatives")
REQUIRED = ("question", "answer")
ALIASES = {"alternative_questions": "alternatives", "paraphrases": "alternatives", "faq_id": "id"}
ALTERNATIVES_SEPARATOR = "|"
MAX_FIELD_CHARS = 10_000
SUFFIXES = (".csv", ".tsv", ".json", ".jsonl")


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
        return {**asdict(self), "alternatives": list(self.alternatives)}


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, row {self.row}" if self.row else self.file
        return f"{where}, column '{self.column}': {self.message}" if self.column else f"{where}: {self.message}"


class RowErrors(ValueError):
    """A file that cannot be used; ``errors`` lists every problem found (the first 20 in the message)."""

    subject = "the file"

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = "\n".join(f"  - {e}" for e in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s) in {self.subject}:\n{shown}{more}")

    @classmethod
    def read_text(cls, path: Path, suffixes: tuple[str, ...]) -> str:
        """An uploaded file's text: refuses other file types, non-UTF-8 bytes and empty files."""
        if path.suffix.lower() not in suffixes:
            message = f"unsupported file type '{path.suffix}'; allowed: {', '.join(suffixes)}"
            raise cls([RowError(path.name, 0, "", message)])
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
            raise cls([RowError(path.name, 0, "", message)]) from None
        if not text.strip():
            raise cls([RowError(path.name, 0, "", "the file is empty")])
        return text


class FaqError(RowErrors):
    subject = "the FAQ"


def faq_hash(entries: list[FaqEntry]) -> str:
    """A content hash of the FAQ; saved indexes record it to detect a stale or edited file."""
    payload = json.dumps([e.to_dict() for e in entries], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def load_faq(path: str | os.PathLike) -> list[FaqEntry]:
    """Reads and validates a FAQ file; raises :class:`FaqError` on any bad row."""
    path = Path(path)
    name = path.name
    text = FaqError.read_text(path, SUFFIXES)
    records = _read_records(text, path.suffix.lower(), name)
    return validate_faq(records, name)


def _read_records(text: str, suffix: str, name: str) -> list[tuple[int, dict]]:
    """Returns (row number as a person counts it, raw record) pairs."""
    if suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if suffix == ".tsv" else ",", strict=True)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise FaqError([RowError(name, reader.line_num, "", f"broken CSV: {exc}")]) from None
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        unknown = [h for h in header if ALIASES.get(h, h) not in FIELDS]
        missing = [f for f in REQUIRED if f not in [ALIASES.get(h, h) for h in header]]
        problems = [RowError(name, 1, h, f"unknown column; allowed: {', '.join(FIELDS)}") for h in unknown]
        problems += [RowError(name, 1, f, "required column is missing") for f in missing]
        if problems:
            raise FaqError(problems)
        out = []
        for number, row in enumerate(rows, start=2):
            if None in row:
                problems.append(
                    RowError(name, number, "", f"{len(header) + len(row[None])} fields, the header has {len(header)}")
                )
                continue
            out.append((number, {k.strip().lower(): v for k, v in row.items()}))
        if problems:
            raise FaqError(problems)
        return out
    if suffix == ".jsonl":
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise FaqError([RowError(name, number, "", f"invalid JSON: {exc.msg}")]) from None
        return out
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaqError([RowError(name, exc.lineno, "", f"invalid JSON: {exc.msg}")]) from None
    if isinstance(data, dict) and isinstance(data.get("faq"), list):
        data = data["faq"]
    if not isinstance(data, list):
        raise FaqError([RowError(name, 0, "", 'expected a JSON list of entries (or {"faq": [...]})')])
    return list(enumerate(data, start=1))


def validate_faq(records: list[tuple[int, dict]], name: str = "<faq>") -> list[FaqEntry]:
    """Turns raw records into entries; every problem is collected before raising."""
    errors: list[RowError] = []
    entries: list[FaqEntry] = []
    seen_ids: dict[str, int] = {}
    seen_questions: dict[str, int] = {}
    for number, record in records:
        if not isinstance(record, dict):
            errors.append(RowError(name, number, "", "expected an object with question and answer"))
            continue
        record = {ALIASES.get(str(k).strip().lower(), str(k).strip().lower()): v for k, v in record.items()}
        unknown = [k for k in record if k not in FIELDS]
        for key in unknown:
            errors.append(RowError(name, number, key, f"unknown field; allowed: {', '.join(FIELDS)}"))
        values = {}
        for key in ("id", "question", "answer", "category"):
            value = record.get(key)
            if value is None:
                value = ""
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                errors.append(RowError(name, number, key, f"expected text, got {type(value).__name__}"))
                value = ""
            values[key] = " ".join(str(value).split()) if key != "answer" else str(value).strip()
        for key in REQUIRED:
            if not values[key]:
                errors.append(RowError(name, number, key, "must not be empty"))
        for key, value in values.items():
            if len(value) > MAX_FIELD_CHARS:
                errors.append(RowError(name, number, key, f"{len(value)} characters; at most {MAX_FIELD_CHARS}"))
        alternatives = _alternatives(record.get("alternatives"), name, number, errors)
        entry_id = values["id"] or f"faq-{number}"
        if entry_id in seen_ids:
            errors.append(
                RowError(name, number, "id", f"duplicate id '{entry_id}' (first on row {seen_ids[entry_id]})")
            )
        seen_ids.setdefault(entry_id, number)
        question_key = values["question"].casefold()
        if question_key and question_key in seen_questions:
            errors.append(
                RowError(name, number, "question", f"duplicate question (first on row {seen_questions[question_key]})")
            )
        seen_questions.setdefault(question_key, number)
        entries.append(FaqEntry(entry_id, values["question"], values["answer"], values["category"], alternatives))
    if not entries and not errors:
        errors.append(RowError(name, 0, "", "no FAQ entries found"))
    if errors:
        raise FaqError(errors)
    return entries


def _alternatives(value, name: str, number: int, errors: list[RowError]) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        items = value.split(ALTERNATIVES_SEPARATOR)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        errors.append(RowError(name, number, "alternatives", "expected a list of texts or texts separated by '|'"))
        return ()
    return tuple(dict.fromkeys(" ".join(v.split()) for v in items if v.strip()))


def save_faq(entries: list[FaqEntry], path: str | os.PathLike) -> None:
    """Writes entries as JSON (the format the index folder keeps)."""
    Path(path).write_text(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=1), encoding="utf-8")
