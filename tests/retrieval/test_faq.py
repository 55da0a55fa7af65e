"""FAQ files: every supported format loads, every kind of bad row is named precisely."""

from __future__ import annotations

import json

import pytest

from retrieval import FaqError, load_faq
from tests.conftest import ASSETS


def test_default_faq_loads_with_alternatives():
    entries = load_faq(ASSETS / "faq.csv")
    assert len(entries) >= 80
    assert len({e.id for e in entries}) == len(entries)
    assert all(e.question and e.answer for e in entries)
    assert sum(len(e.alternatives) for e in entries) >= len(entries)


@pytest.mark.parametrize(
    "name, content",
    [
        (
            "faq.csv",
            'id,question,answer,category,alternatives\nq1,How long is delivery?,"2-5 days, usually",shipping,When will it arrive? | Delivery time\n',
        ),
        (
            "faq.tsv",
            "question\tanswer\talternatives\nHow long is delivery?\t2-5 days, usually\tWhen will it arrive? | Delivery time\n",
        ),
        (
            "faq.json",
            json.dumps(
                [
                    {
                        "id": "q1",
                        "question": "How long is delivery?",
                        "answer": "2-5 days, usually",
                        "alternatives": ["When will it arrive?", "Delivery time"],
                    }
                ]
            ),
        ),
        (
            "faq.jsonl",
            json.dumps(
                {
                    "question": "How long is delivery?",
                    "answer": "2-5 days, usually",
                    "alternatives": "When will it arrive? | Delivery time",
                }
            )
            + "\n",
        ),
    ],
)
def test_formats(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    [entry] = load_faq(path)
    assert entry.question == "How long is delivery?"
    assert entry.answer == "2-5 days, usually"
    assert entry.alternatives == ("When will it arrive?", "Delivery time")
    assert entry.id  # given or generated


@pytest.mark.parametrize(
    "content, expected",
    [
        ("question,answer\nHi,\n", "row 2, column 'answer': must not be empty"),
        ("question,reply\nHi,there\n", "column 'reply': unknown column"),
        ("answer\nthere\n", "column 'question': required column is missing"),
        ("id,question,answer\na,Q1,A1\na,Q2,A2\n", "row 3, column 'id': duplicate id 'a' (first on row 2)"),
        ("question,answer\nSame?,A1\nsame?,A2\n", "row 3, column 'question': duplicate question (first on row 2)"),
        ('question,answer\n"broken,quote\n', "broken CSV"),
        ("question,answer\nQ,A,extra\n", "row 2: 3 fields, the header has 2"),
        ("", "the file is empty"),
    ],
)
def test_bad_csv_names_row_and_column(tmp_path, content, expected):
    path = tmp_path / "faq.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FaqError) as error:
        load_faq(path)
    assert expected in str(error.value)
    assert "faq.csv" in str(error.value)


def test_every_bad_row_is_reported_at_once(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer\nQ1,\n,A2\nQ3,A3\n", encoding="utf-8")
    with pytest.raises(FaqError) as error:
        load_faq(path)
    assert [(e.row, e.column) for e in error.value.errors] == [(2, "answer"), (3, "question")]


def test_wrong_encoding_and_type(tmp_path):
    latin = tmp_path / "faq.csv"
    latin.write_bytes("question,answer\nRückgabe?,Ja\n".encode("latin-1"))
    with pytest.raises(FaqError, match="not UTF-8"):
        load_faq(latin)
    pdf = tmp_path / "faq.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(FaqError, match="unsupported file type '.pdf'"):
        load_faq(pdf)


def test_bad_json(tmp_path):
    path = tmp_path / "faq.json"
    path.write_text('[{"question": "Q", "answer": 3.5}, {"question": "Q2"}]', encoding="utf-8")
    with pytest.raises(FaqError) as error:
        load_faq(path)
    text = str(error.value)
    assert "row 1, column 'answer': expected text, got float" in text
    assert "row 2, column 'answer': must not be empty" in text
