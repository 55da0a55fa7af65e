"""Dialog logs: conversations from JSONL or CSV turns, validated row by row, and the bot's export format.

Formats, by suffix:

- ``.jsonl``: one conversation per line,
  ``{"conversation_id": "c1", "turns": [{"role": "user", "text": "...", "intent": "order_status"}, ...]}``.
  A turn may carry ``route`` and ``ts`` (text or a number), which the bot's own export writes;
  every other key is ignored, so exports from other tools load as they are, except a key
  that looks like a misspelling of a missing known one (``txt`` for ``text``), which is an error.
  Turn numbers in errors count from 0 (``turns[2].role``), as in JSON.
- ``.csv`` / ``.tsv``: one turn per row, columns ``conversation_id``, ``role``, ``text`` and
  optionally ``intent``, ``route``, ``ts``; other columns are ignored (same misspelling rule).
  Rows are in conversation order; rows of different conversations may interleave (they are
  grouped by id, keeping the file order).

``session_id`` is accepted for ``conversation_id``; roles are ``user`` and ``agent``
(``customer`` counts as user, ``bot`` and ``assistant`` as agent).

As with every upload, a file with any bad row is refused whole (:class:`DialogError` lists
every problem with file, line or row, and field); :func:`preview_dialogs` shows the
first turns and every problem without raising. The file checks (type, size, binary
content, encoding), the CSV header check and the CSV and JSONL parsing are the ones every
upload gets (:mod:`retrieval.uploads`).

``intent`` means a confirmed label: :func:`split_turns` turns labelled user turns into
training examples (identical texts once). An exporter must not write the bot's own
prediction as ``intent`` (the model would learn its own mistakes); a key such as
``predicted_intent`` stays out of the labels because unknown keys are ignored. Every turn
needs a non-empty text, so an export skips empty turns. Not done here: PII redaction (the
exporter redacts before calling :func:`write_conversations_jsonl`) and suggesting intents
for unlabelled turns (the classifier does that for the review queue).
"""

from __future__ import annotations

import difflib
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from finetune.data import MAX_TEXT_CHARS, DataError, Example
from retrieval.uploads import (
    DEFAULT_MAX_BYTES,
    Columns,
    RowError,
    RowErrors,
    csv_rows,
    jsonl_records,
    read_text,
    table_records,
)

ROLES = ("user", "agent")
ROLE_ALIASES = {"customer": "user", "bot": "agent", "assistant": "agent"}
ID_ALIASES = ("session_id",)
SUFFIXES = (".jsonl", ".csv", ".tsv")
CSV_REQUIRED = ("conversation_id", "role", "text")
CSV_OPTIONAL = ("intent", "route", "ts")
TURN_KEYS = ("role", "text", "intent", "route", "ts")
TABLE_COLUMNS = Columns(
    (*CSV_REQUIRED, *CSV_OPTIONAL),
    CSV_REQUIRED,
    dict.fromkeys(ID_ALIASES, "conversation_id"),
    others_ignored=True,
    rows_are="turns",
)
MAX_TURN_CHARS = 10_000


class DialogError(DataError):
    """A dialog log that cannot be used; ``errors`` lists every problem found."""

    subject = "the dialog log"


@dataclass(frozen=True)
class DialogTurn:
    """One message. ``intent`` is a confirmed label (user turns only become examples)."""

    role: str
    text: str
    intent: str | None = None
    route: str | None = None
    ts: str | int | float | None = None

    def to_dict(self) -> dict:
        out: dict = {"role": self.role, "text": self.text}
        for key in ("intent", "route", "ts"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[DialogTurn, ...]

    def to_dict(self) -> dict:
        return {"conversation_id": self.id, "turns": [t.to_dict() for t in self.turns]}


@dataclass(frozen=True)
class DialogPreview:
    """What an upload would import: the first turns as table rows (bad ones too, ``ok`` false),
    totals over the whole file, and every problem."""

    file: str
    rows: list[dict]  # keys: row, conversation_id, role, text, intent, ok ("row" is the line in JSONL)
    conversations: int
    turns: int
    labelled: int
    unlabelled: int
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        counts = (
            f"{self.conversations} conversations, {self.turns} turns "
            f"({self.labelled} labelled and {self.unlabelled} unlabelled user turns)"
        )
        if self.ok:
            return f"{self.file}: {counts}, no problems"
        return f"{self.file}: {counts} read, {len(self.errors)} problem(s); nothing is imported"


def load_dialogs(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Conversation]:
    """Reads and validates a dialog log; raises :class:`DialogError` listing every problem.

    Args:
        path: a ``.jsonl`` file of conversations or a ``.csv``/``.tsv`` file of turns.
        max_bytes: larger files are refused before they are read (default 20 MiB).
    """
    conversations, _, errors = _read(Path(path), max_bytes)
    if errors:
        raise DialogError(errors)
    return conversations


def preview_dialogs(path: str | os.PathLike, limit: int = 20, *, max_bytes: int = DEFAULT_MAX_BYTES) -> DialogPreview:
    """The first ``limit`` turns of a dialog log, totals, and every problem; never raises :class:`DialogError`."""
    path = Path(path)
    try:
        conversations, rows, errors = _read(path, max_bytes)
    except DialogError as exc:
        return DialogPreview(path.name, [], 0, 0, 0, 0, list(exc.errors))
    user = [t for c in conversations for t in c.turns if t.role == "user"]
    labelled = sum(1 for t in user if t.intent)
    return DialogPreview(
        path.name,
        rows[: max(0, limit)],
        len(conversations),
        sum(len(c.turns) for c in conversations),
        labelled,
        len(user) - labelled,
        errors,
    )


def split_turns(conversations: Iterable[Conversation]) -> tuple[list[Example], list[str]]:
    """Splits user turns into labelled training examples and unlabelled texts (for the review queue).

    Both are deduplicated: texts count as identical after collapsing whitespace and ignoring
    case, and the first spelling is kept. A text labelled with two different intents is no
    example: it goes to the unlabelled texts for a person to decide. Unlabelled texts that
    are labelled elsewhere are dropped. Texts are cut to ``MAX_TEXT_CHARS`` characters, as
    the bot cuts long messages before classifying them. Agent turns are not used.
    """
    labels: dict[str, dict[str, None]] = {}  # key -> its intents, in order
    spelling: dict[str, str] = {}
    for conversation in conversations:
        for turn in conversation.turns:
            if turn.role != "user":
                continue
            text = " ".join(turn.text.split())[:MAX_TEXT_CHARS].strip()
            key = text.casefold()
            if key:
                spelling.setdefault(key, text)
                if turn.intent:
                    labels.setdefault(key, {})[turn.intent] = None
    examples, unlabelled = [], []
    for key, text in spelling.items():
        intents = list(labels.get(key, ()))
        if len(intents) == 1:
            examples.append(Example(text, intents[0]))
        else:
            unlabelled.append(text)
    return examples, unlabelled


def write_conversations_jsonl(conversations: Iterable[Conversation], path: str | os.PathLike) -> int:
    """Writes conversations in the JSONL form :func:`load_dialogs` reads; returns how many.

    Every conversation is checked with the importer's rules first (a problem raises
    :class:`DialogError` and nothing is written), and the file appears whole: it is written
    beside the target and renamed into place. PII must be redacted before this is called.
    """
    path = Path(path)
    lines, errors, seen = [], [], {}
    for number, conversation in enumerate(conversations, start=1):
        record = conversation.to_dict()
        if _check_conversation(record, path.name, number, errors, [], seen):
            lines.append(json.dumps(record, ensure_ascii=False))
    if errors:
        raise DialogError(errors)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(lines)


# --- reading ----------------------------------------------------------------------------


def _read(path: Path, max_bytes: int) -> tuple[list[Conversation], list[dict], list[RowError]]:
    """Returns (valid conversations, display rows, every problem); raises when nothing can be read."""
    name = path.name
    rows: list[dict] = []
    errors: list[RowError] = []
    try:
        text = read_text(path, SUFFIXES, max_bytes)
        if path.suffix.lower() == ".jsonl":
            conversations = _jsonl(text, name, errors, rows)
        else:
            conversations = _csv(text, name, "\t" if path.suffix.lower() == ".tsv" else None, errors, rows)
    except RowErrors as exc:  # the shared readers raise the base type
        raise DialogError(exc.errors) from None
    if not conversations and not errors:
        errors.append(RowError(name, 0, "", "no conversations found"))
    errors.sort(key=lambda e: e.row)
    return conversations, rows, errors


def _jsonl(text: str, name: str, errors: list[RowError], rows: list[dict]) -> list[Conversation]:
    records, json_errors = jsonl_records(text, name)
    errors.extend(json_errors)
    seen: dict[str, int] = {}
    conversations = [_check_conversation(record, name, number, errors, rows, seen) for number, record in records]
    return [conversation for conversation in conversations if conversation]


def _check_conversation(
    record, name: str, number: int, errors: list[RowError], rows: list[dict], seen: dict[str, int]
) -> Conversation | None:
    """One JSON conversation; appends its problems and display rows; None when it has a problem."""

    def error(column: str, message: str) -> None:
        errors.append(RowError(name, number, column, message, "line"))

    if not isinstance(record, dict):
        error("", f'expected a JSON object {{"conversation_id": ..., "turns": [...]}}, got {_kind(record)}')
        return None
    before = len(errors)
    for key, message in _misspelt(record, ("conversation_id", "turns", *ID_ALIASES)):
        error(key, message)
    key = next((k for k in ("conversation_id", *ID_ALIASES) if k in record), "conversation_id")
    conversation_id = _identifier(record.get(key))
    if conversation_id is None:
        error(key, "missing or empty; every conversation needs an id (text or a number)")
    elif conversation_id in seen:
        error(key, f"duplicate conversation_id '{conversation_id}' (first on line {seen[conversation_id]})")
    else:
        seen[conversation_id] = number
    raw_turns = record.get("turns")
    turns = []
    if not isinstance(raw_turns, list) or not raw_turns:
        error(
            "turns",
            f'expected a non-empty list of turns {{"role": "user"|"agent", "text": ...}}, got {_kind(raw_turns)}',
        )
    else:
        for i, raw in enumerate(raw_turns):
            prefix = f"turns[{i}]."
            if not isinstance(raw, dict):
                error(f"turns[{i}]", f'expected an object {{"role": ..., "text": ...}}, got {_kind(raw)}')
                continue
            for key_, message in _misspelt(raw, TURN_KEYS):
                error(prefix + key_, message)
            turn = _check_turn(raw, name, number, prefix, "line", errors)
            rows.append(_display(number, conversation_id, raw, turn is not None))
            if turn:
                turns.append(turn)
    if len(errors) > before or conversation_id is None:
        return None
    return Conversation(conversation_id, tuple(turns))


def _csv(text: str, name: str, delimiter: str | None, errors: list[RowError], rows: list[dict]) -> list[Conversation]:
    table, csv_errors = csv_rows(text, name, delimiter)
    errors.extend(csv_errors)
    turns: dict[str, list[DialogTurn]] = {}
    bad: set[str] = set()
    for number, record in table_records(table, name, TABLE_COLUMNS, errors):
        raw = {k: (v if v.strip() else None) for k, v in record.items()}
        conversation_id = _identifier(raw.get("conversation_id"))
        turn = _check_turn(raw, name, number, "", "row", errors)
        if conversation_id is None:
            errors.append(
                RowError(name, number, "conversation_id", "must not be empty; every turn names its conversation")
            )
        rows.append(_display(number, conversation_id, raw, turn is not None and conversation_id is not None))
        if conversation_id is None:
            continue
        if turn is None:
            bad.add(conversation_id)
        turns.setdefault(conversation_id, [])
        if turn:
            turns[conversation_id].append(turn)
    return [Conversation(cid, tuple(t)) for cid, t in turns.items() if cid not in bad and t]


def _check_turn(raw: dict, name: str, number: int, prefix: str, unit: str, errors: list[RowError]) -> DialogTurn | None:
    before = len(errors)

    def error(key: str, message: str) -> None:
        errors.append(RowError(name, number, prefix + key, message, unit))

    allowed = f"allowed: {', '.join(ROLES)} (also {', '.join(ROLE_ALIASES)})"
    role = raw.get("role")
    if not isinstance(role, str) or not role.strip():
        error("role", f"missing or not text; {allowed}")
    else:
        role = ROLE_ALIASES.get(role.strip().lower(), role.strip().lower())
        if role not in ROLES:
            error("role", f"unknown role '{raw['role']}'; {allowed}")
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        error("text", "the text is empty or not text")
    elif len(text) > MAX_TURN_CHARS:
        error("text", f"{len(text)} characters; at most {MAX_TURN_CHARS}")
    optional = {}
    for key in ("intent", "route"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            error(key, f"expected text, got {_kind(value)}")
        optional[key] = (value.strip() or None) if isinstance(value, str) else None
    ts = raw.get("ts")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, str | int | float)):
        error("ts", f"expected a time as text or a number, got {_kind(ts)}")
        ts = None
    if len(errors) > before:
        return None
    return DialogTurn(role, text.strip(), optional["intent"], optional["route"], ts)


def _misspelt(record: dict, known: tuple[str, ...]) -> list[tuple[str, str]]:
    """Unknown keys that look like a misspelling of a known key the record lacks."""
    missing = [k for k in known if k not in record]
    out = []
    for key in record:
        if isinstance(key, str) and key not in known:
            close = difflib.get_close_matches(key, missing, n=1, cutoff=0.8)
            if close:
                out.append((key, f"unknown field; did you mean '{close[0]}'?"))
    return out


def _identifier(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _display(number: int, conversation_id: str | None, raw: dict, ok: bool) -> dict:
    def text(key: str) -> str:
        value = raw.get(key)
        return "" if value is None else str(value)

    return {
        "row": number,
        "conversation_id": conversation_id or "",
        "role": text("role"),
        "text": text("text"),
        "intent": text("intent"),
        "ok": ok,
    }


def _kind(value) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", float: "a number", int: "a number"}
    if isinstance(value, list) and not value:
        return "an empty list"
    return "nothing" if value is None else names.get(type(value), type(value).__name__)
