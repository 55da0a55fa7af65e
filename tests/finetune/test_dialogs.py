"""Dialog logs: JSONL conversations, CSV turns and the bot's own export load, round trip, and
every bad row is named by file, line or row, and field."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from finetune import (
    Conversation,
    DataError,
    DialogError,
    DialogTurn,
    Example,
    load_dialogs,
    preview_dialogs,
    split_turns,
    write_conversations_jsonl,
)

# The bot's export (route, ts), another tool's keys (channel, predicted_intent), role aliases, an int id.
EXPORT = "\n".join(
    json.dumps(c, ensure_ascii=False)
    for c in [
        {
            "conversation_id": "c1",
            "channel": "web",
            "turns": [
                {
                    "role": "user",
                    "text": "Where is my order?",
                    "intent": "order_status",
                    "ts": 1717000000.5,
                    "route": "ask_slot",
                },
                {"role": "agent", "text": "What is your order number?", "ts": "2024-05-29T16:26:40Z"},
                {"role": "user", "text": "A-12345", "predicted_intent": "order_status"},
            ],
        },
        {
            "conversation_id": 2,
            "turns": [
                {"role": "Customer", "text": "  where is   my ORDER? ", "intent": "order_status"},
                {"role": "bot", "text": "Let me check."},
            ],
        },
        {
            "session_id": "c3",
            "turns": [
                {"role": "user", "text": "Can I pay with PayPal? 💳"},
                {"role": "assistant", "text": "Yes."},
                {"role": "user", "text": "can i pay with paypal? 💳", "intent": ""},
                {"role": "user", "text": "Доставка в Москву?", "intent": "shipping"},
            ],
        },
    ]
)

TURNS_CSV = """conversation_id,role,text,intent,channel
c1,user,"Hi, I want to return a lamp",return_item,web
c2,user,Do you sell gift cards?,,app
c1,agent,"Sure — use the form at ""Returns"".",,web
c2,agent,Yes we do.,,app
c1,user,thanks!,thanks,web
"""


def test_jsonl_export_loads_with_extra_keys_and_aliases(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text(EXPORT + "\n\n", encoding="utf-8")
    conversations = load_dialogs(path)
    assert [c.id for c in conversations] == ["c1", "2", "c3"]
    first = conversations[0].turns
    assert first[0] == DialogTurn("user", "Where is my order?", "order_status", "ask_slot", 1717000000.5)
    assert first[1].ts == "2024-05-29T16:26:40Z" and first[1].intent is None
    assert first[2].intent is None  # the bot's prediction is no label
    assert [t.role for t in conversations[1].turns] == ["user", "agent"]
    assert conversations[2].turns[2].intent is None  # "" means unlabelled


def test_csv_turns_are_grouped_by_conversation_in_file_order(tmp_path):
    path = tmp_path / "turns.csv"
    path.write_text(TURNS_CSV, encoding="utf-8")
    c1, c2 = load_dialogs(path)
    assert c1.id == "c1" and [t.text for t in c1.turns] == [
        "Hi, I want to return a lamp",
        'Sure — use the form at "Returns".',
        "thanks!",
    ]
    assert [t.intent for t in c1.turns] == ["return_item", None, "thanks"]
    assert c2 == Conversation("c2", (DialogTurn("user", "Do you sell gift cards?"), DialogTurn("agent", "Yes we do.")))
    tsv = tmp_path / "turns.tsv"
    tsv.write_text("session_id\trole\ttext\ts1\tuser\thello\n".replace("\ts1", "\ns1"), encoding="utf-16")
    assert load_dialogs(tsv) == [Conversation("s1", (DialogTurn("user", "hello"),))]


@pytest.mark.parametrize("source", ["export.jsonl", "turns.csv"])
def test_round_trip_through_the_export_format(tmp_path, source):
    path = tmp_path / source
    path.write_text(EXPORT if source.endswith(".jsonl") else TURNS_CSV, encoding="utf-8")
    conversations = load_dialogs(path)
    out = tmp_path / "out" / "conversations.jsonl"
    assert write_conversations_jsonl(conversations, out) == len(conversations)
    assert load_dialogs(out) == conversations
    assert write_conversations_jsonl(iter(load_dialogs(out)), out) == len(conversations)  # overwrite, generator
    assert load_dialogs(out) == conversations
    assert [p.name for p in out.parent.iterdir()] == ["conversations.jsonl"]
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"conversation_id", "turns"} and "intent" not in first["turns"][1]


def test_writer_refuses_what_the_importer_would_refuse(tmp_path):
    out = tmp_path / "export.jsonl"
    bad = [
        Conversation("a", (DialogTurn("user", "hi"),)),
        Conversation("a", (DialogTurn("user", "  "), DialogTurn("system", "x"))),
        Conversation("b", ()),
        Conversation("c", (DialogTurn("user", "hi", ts=dt.datetime(2024, 1, 1)),)),
    ]
    with pytest.raises(DialogError) as error:
        write_conversations_jsonl(bad, out)
    text = str(error.value)
    assert "export.jsonl, line 2, column 'conversation_id': duplicate conversation_id 'a' (first on line 1)" in text
    assert "line 2, column 'turns[0].text': the text is empty or not text" in text
    assert "line 2, column 'turns[1].role': unknown role 'system'; allowed: user, agent" in text
    assert "line 3, column 'turns': expected a non-empty list of turns" in text
    assert "line 4, column 'turns[0].ts': expected a time as text or a number, got datetime" in text
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_split_turns_labels_dedups_and_queues(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text(EXPORT, encoding="utf-8")
    examples, unlabelled = split_turns(load_dialogs(path))
    assert examples == [Example("Where is my order?", "order_status"), Example("Доставка в Москву?", "shipping")]
    assert unlabelled == ["A-12345", "Can I pay with PayPal? 💳"]  # agent turns never; duplicates once
    conflicting = [
        Conversation(
            "x", (DialogTurn("user", "cancel it", "cancel_order"), DialogTurn("user", "Cancel  it", "refund"))
        ),
        Conversation("y", (DialogTurn("user", "hi " * 1500, "greet"), DialogTurn("user", "hi " * 1500))),
    ]
    examples, unlabelled = split_turns(conflicting)
    assert unlabelled == ["cancel it"]  # labelled twice, differently: a person decides
    assert [(len(e.text), e.intent) for e in examples] == [(2000, "greet")]  # cut like the bot cuts messages
    assert split_turns([]) == ([], [])


@pytest.mark.parametrize(
    "name, content, expected",
    [
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"role": "user", "text": "hi"}]}\n{oops\n',
            "d.jsonl, line 2: invalid JSON",
        ),
        ("d.jsonl", '["a"]\n', 'line 1: expected a JSON object {"conversation_id": ..., "turns": [...]}, got a list'),
        (
            "d.jsonl",
            '{"turns": [{"role": "user", "text": "hi"}]}\n',
            "line 1, column 'conversation_id': missing or empty",
        ),
        (
            "d.jsonl",
            '{"conversation_id": true, "turns": [{"role": "user", "text": "hi"}]}\n',
            "column 'conversation_id': missing or empty",
        ),
        ("d.jsonl", '{"conversation_id": "a", "turns": {}}\n', "column 'turns': expected a non-empty list of turns"),
        ("d.jsonl", '{"conversation_id": "a", "turns": ["hi"]}\n', "column 'turns[0]': expected an object"),
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"text": "hi"}]}\n',
            "column 'turns[0].role': missing or not text; allowed: user, agent",
        ),
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"role": "user", "text": 3}]}\n',
            "column 'turns[0].text': the text is empty or not text",
        ),
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"role": "user", "text": "hi", "intent": ["x"]}]}\n',
            "column 'turns[0].intent': expected text, got a list",
        ),
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"role": "user", "text": "hi", "ts": true}]}\n',
            "column 'turns[0].ts': expected a time as text or a number",
        ),
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"role": "user", "txt": "hi"}]}\n',
            "column 'turns[0].txt': unknown field; did you mean 'text'?",
        ),
        ("d.jsonl", '{"conversation_id": "a", "turnz": []}\n', "column 'turnz': unknown field; did you mean 'turns'?"),
        (
            "d.jsonl",
            '{"conversation_id": "a", "turns": [{"role": "user", "text": "%s"}]}\n' % ("x" * 10_001),
            "10001 characters; at most 10000",
        ),
        ("d.jsonl", "\n\n", "the file is empty"),
        (
            "d.csv",
            "conversation_id,speaker,message\nc1,user,hi\n",
            "row 1, column 'role': required column is missing; the file has columns: conversation_id, speaker, message; expected: conversation_id, role, text (optional: intent, route, ts)",
        ),
        (
            "d.csv",
            "conversation_id,role,text,intnet\nc1,user,hi,greet\n",
            "column 'intnet': unknown column; did you mean 'intent'?",
        ),
        ("d.csv", "conversation_id,role,text,Role\nc1,user,hi,x\n", "column 'Role': duplicate column"),
        ("d.csv", "conversation_id,role,text\n,user,hi\n", "d.csv, row 2, column 'conversation_id': must not be empty"),
        (
            "d.csv",
            "conversation_id,role,text\nc1,client,hi\n",
            "row 2, column 'role': unknown role 'client'; allowed: user, agent (also customer, bot, assistant)",
        ),
        ("d.csv", "conversation_id,role,text\nc1,user,\n", "row 2, column 'text': the text is empty or not text"),
        ("d.csv", "conversation_id,role,text\nc1,user,hi,extra\n", "row 2: 4 fields, the header has 3"),
        (
            "d.csv",
            'conversation_id,role,text\nc1,user,"hi\nc1,agent,hello\n',
            "row 2: broken CSV: unterminated quote: a quoted field in the row starting on line 2",
        ),
        ("d.csv", "conversation_id,role,text\n", "d.csv: no conversations found"),
        ("d.json", "[]", "unsupported file type '.json'; allowed: .jsonl, .csv, .tsv"),
    ],
)
def test_bad_dialog_logs_name_the_problem(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DialogError) as error:
        load_dialogs(path)
    assert expected in str(error.value)
    assert not preview_dialogs(path).ok


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "d.csv: the content is a PNG image, not CSV text"),
        (
            "conversation_id,role,text\nc1,user,Grüße\n".encode("cp1252"),
            "d.csv, line 2: not UTF-8 text: byte 36 (0xFC)",
        ),
        (b"", "d.csv: the file is empty"),
    ],
)
def test_bad_bytes_and_size(tmp_path, content, expected):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(DialogError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_dialogs(path)
    path.write_text(TURNS_CSV, encoding="utf-8")
    size = len(TURNS_CSV.encode("utf-8"))
    with pytest.raises(DataError, match=f"d.csv: the file is {size} bytes; at most 100 bytes is allowed"):
        load_dialogs(path, max_bytes=100)


def test_preview_of_a_partly_bad_log(tmp_path):
    path = tmp_path / "turns.csv"
    path.write_text(TURNS_CSV + "c3,user,\nc4,robot,hello\nc5,user,fine,ok\n", encoding="utf-8")
    preview = preview_dialogs(path, limit=6)
    assert [r["row"] for r in preview.rows] == [2, 3, 4, 5, 6, 7]
    assert [r["ok"] for r in preview.rows] == [True] * 5 + [False]
    assert preview.rows[0] == {
        "row": 2,
        "conversation_id": "c1",
        "role": "user",
        "text": "Hi, I want to return a lamp",
        "intent": "return_item",
        "ok": True,
    }
    assert [(e.row, e.column) for e in preview.errors] == [(7, "text"), (8, "role")]
    assert (preview.conversations, preview.turns, preview.labelled, preview.unlabelled) == (3, 6, 3, 1)
    assert preview.summary() == (
        "turns.csv: 3 conversations, 6 turns (3 labelled and 1 unlabelled user turns) read, 2 problem(s); nothing is imported"
    )
    with pytest.raises(DialogError) as error:
        load_dialogs(path)
    assert error.value.errors == preview.errors
    png = tmp_path / "log.jsonl"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert preview_dialogs(png).rows == [] and "PNG image" in str(preview_dialogs(png).errors[0])


def test_an_export_with_a_line_separator_in_a_message_loads_again(tmp_path):
    conversations = [Conversation("s1", (DialogTurn("user", "first line\u2028second line"), DialogTurn("agent", "ok")))]
    out = tmp_path / "conversations.jsonl"
    write_conversations_jsonl(conversations, out)
    assert load_dialogs(out) == conversations
