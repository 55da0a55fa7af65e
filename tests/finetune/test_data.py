"""Training data import: YAML, CSV with configurable columns, JSONL; bad rows named precisely."""

from __future__ import annotations

import json

import pytest

from finetune import DataError, data_hash, load_examples
from tests.conftest import ASSETS, BANKING77


def test_default_intents_yaml():
    examples = load_examples(ASSETS / "intents.yaml")
    per_intent = {}
    for e in examples:
        per_intent[e.intent] = per_intent.get(e.intent, 0) + 1
    assert len(per_intent) >= 25
    assert min(per_intent.values()) >= 20


def test_banking77_csv_with_its_own_column_names(banking_rows):
    examples = load_examples(BANKING77, text_col="text", label_col="category")
    assert len(examples) == len(banking_rows)
    assert len({e.intent for e in examples}) == 77
    # the default --label-col intent falls back to the single 'category' column
    assert load_examples(BANKING77)[:5] == examples[:5]


def test_jsonl_and_rasa_style_yaml(tmp_path):
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": t, "intent": i}) for t, i in [("hi", "greet"), ("bye", "goodbye")]))
    assert [(e.text, e.intent) for e in load_examples(jsonl)] == [("hi", "greet"), ("bye", "goodbye")]
    rasa = tmp_path / "nlu.yml"
    rasa.write_text(
        "intents:\n  - intent: greet\n    examples: [hi, hello]\n  - intent: goodbye\n    examples: [bye]\n"
    )
    assert len(load_examples(rasa)) == 3


def test_hash_ignores_order(tmp_path):
    a = load_examples(ASSETS / "intents.yaml")
    assert data_hash(a) == data_hash(list(reversed(a)))
    assert data_hash(a) != data_hash(a[1:])


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("d.csv", "text,intent\nhello,\n", "row 2, column 'intent': the intent label is empty"),
        ("d.csv", "text,intent\n,greet\n", "row 2, column 'text': the text is empty"),
        ("d.csv", "utterance,intent\nhi,greet\n", "column 'text': no such column; the file has: utterance, intent"),
        ("d.csv", "text,label,category\nhi,a,b\n", "column 'intent': no such column"),
        ("d.csv", 'text,intent\n"hi,greet\n', "broken CSV"),
        ("d.jsonl", '{"text": "hi", "intent": "greet"}\n{"text": oops}\n', "row 2: invalid JSON"),
        ("d.yaml", "intents: [unclosed\n", "invalid YAML"),
        ("d.yaml", "something: else\n", "column 'intents': expected a mapping"),
        ("d.txt", "hi\n", "unsupported file type '.txt'"),
        ("d.csv", "", "the file is empty"),
        (
            "d.csv",
            'text,intent\n\n"two\nlines",greet\n\nhi,\n',
            "row 5, column 'intent'",  # a spreadsheet's row: a blank line counts, a two-line cell is one row
        ),
    ],
)
def test_bad_data_names_the_problem(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_examples(path)
    assert expected in str(error.value)
