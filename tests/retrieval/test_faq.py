"""FAQ files: every supported format loads, every kind of bad row is named precisely."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import zipfile

import openpyxl
import pytest

from retrieval import FaqEntry, FaqError, RowErrors, load_faq, preview_faq
from retrieval.faq import PREVIEW_COLUMNS, SUFFIXES
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


# --- every format round trips ---------------------------------------------------------------

ENTRIES = [
    FaqEntry(
        "ship-1",
        "How long does delivery take?",
        'Usually 2-5 days, "express" next day.',
        "Shipping",
        ("When will it arrive?", "Delivery time"),
    ),
    FaqEntry("ret-1", "How do I return an item?", "Use the form.\n\nThen post it — free of charge ✓.", "Returns", ()),
    FaqEntry("ru-1", "Доставка в Россию?", "Нет, пока нет. 配送はありません 📦", "", ("Доставка",)),
]


def _rows(entries):
    return [[e.id, e.question, e.answer, e.category, " | ".join(e.alternatives)] for e in entries]


def _write_csv(path, entries, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["id", "question", "answer", "category", "alternatives"])
    writer.writerows(_rows(entries))
    path.write_bytes(buffer.getvalue().encode(encoding))


def _write_xlsx(path, entries, header=("id", "question", "answer", "category", "alternatives"), sheets=()):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in _rows(entries):
        sheet.append(row)
    for title in sheets:
        workbook.create_sheet(title)
    workbook.save(path)


def _write_markdown(path, entries):
    lines = []
    for category in dict.fromkeys(e.category for e in entries):
        lines += [f"# {category}", ""]
        for e in (e for e in entries if e.category == category):
            lines += [f"## {e.question}", f"id: {e.id}"]
            if e.alternatives:
                lines.append(f"alternatives: {' | '.join(e.alternatives)}")
            lines += ["", e.answer, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


WRITERS = {
    "faq.csv": _write_csv,
    "faq.tsv": lambda p, e: _write_csv(p, e, delimiter="\t"),
    "semicolons.csv": lambda p, e: _write_csv(p, e, delimiter=";"),
    "bom.csv": lambda p, e: _write_csv(p, e, encoding="utf-8-sig"),
    "utf16.csv": lambda p, e: _write_csv(p, e, encoding="utf-16"),
    "utf16.tsv": lambda p, e: _write_csv(p, e, delimiter="\t", encoding="utf-16-be"),
    "faq.json": lambda p, e: p.write_text(json.dumps({"faq": [x.to_dict() for x in e]}, ensure_ascii=False)),
    "faq.jsonl": lambda p, e: p.write_text("".join(json.dumps(x.to_dict()) + "\n" for x in e)),
    "faq.xlsx": _write_xlsx,
    "faq.md": _write_markdown,
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_round_trips(tmp_path, name):
    path = tmp_path / name
    if name == "utf16.tsv":  # UTF-16 big-endian, with its BOM written by hand
        WRITERS[name](path, ENTRIES)
        path.write_bytes(b"\xfe\xff" + path.read_bytes())
    else:
        WRITERS[name](path, ENTRIES)
    assert load_faq(path) == ENTRIES
    preview = preview_faq(path)
    assert preview.ok and preview.total == 3 and preview.errors == []
    assert [r["question"] for r in preview.rows] == [e.question for e in ENTRIES]


MARKDOWN = """# Shipping

Everything about delivery. (Text before the first question is ignored.)

## How long does delivery take?
id: ship-1
alternatives: When will my order arrive? | Delivery time

Usually 2-5 working days.

### Express

Next day if you order before 14:00.

## Do you ship abroad? ##

Yes, to the EU and the UK.

# Returns

## How do I return an item?
ID: ret-1

Use the returns form:

```
## this heading is inside a code block
```

## Can I return sale items?
alternatives: Sale returns

Yes — within 14 days. Ça marche ✓.
"""


def test_markdown_sections_categories_and_metadata(tmp_path):
    path = tmp_path / "faq.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    entries = load_faq(path)
    assert [(e.id, e.question, e.category) for e in entries] == [
        ("ship-1", "How long does delivery take?", "Shipping"),
        ("faq-15", "Do you ship abroad?", "Shipping"),  # generated ids name the heading's line
        ("ret-1", "How do I return an item?", "Returns"),
        ("faq-30", "Can I return sale items?", "Returns"),
    ]
    assert entries[0].alternatives == ("When will my order arrive?", "Delivery time")
    assert entries[0].answer == "Usually 2-5 working days.\n\n### Express\n\nNext day if you order before 14:00."
    assert "## this heading is inside a code block" in entries[2].answer
    assert entries[3].alternatives == ("Sale returns",) and entries[3].answer.endswith("Ça marche ✓.")


def test_xlsx_cells_numbers_blank_rows_and_first_sheet(tmp_path):
    path = tmp_path / "faq.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([None])  # a blank row before the header
    sheet.append(["Question", "Answer", "FAQ_ID", None])
    sheet.append(["How much is shipping?", 4.5, 12, None])
    sheet.append([None, None, None])
    sheet.append(["When?", dt.date(2024, 5, 1), 13.0, None])
    workbook.create_sheet("Notes")["A1"] = "ignored"
    workbook.save(path)
    entries = load_faq(path)
    assert [(e.id, e.question, e.answer) for e in entries] == [
        ("12", "How much is shipping?", "4.5"),
        ("13", "When?", "2024-05-01"),
    ]
    assert [r["row"] for r in preview_faq(path).rows] == [3, 5]


def test_the_default_faq_round_trips_through_xlsx_and_markdown(tmp_path):
    entries = load_faq(ASSETS / "faq.csv")
    for name, writer in [("faq.xlsx", _write_xlsx), ("faq.md", _write_markdown)]:
        writer(tmp_path / name, entries)
        assert sorted(load_faq(tmp_path / name), key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)


# --- upload-grade errors: each names the file, the place, what is wrong and what is allowed ----


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("faq.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "faq.csv: the content is a PNG image, not CSV text"),
        ("faq.json", b"%PDF-1.7\n...", "the content is a PDF document, not JSON text"),
        (
            "faq.csv",
            b"PK\x03\x04" + b"\x00" * 30,
            "a ZIP archive (an XLSX workbook, a DOCX document or a ZIP file), not CSV text; if it is an Excel workbook, name it .xlsx",
        ),
        ("faq.md", b"{\\rtf1\\ansi Hello}", "the content is an RTF document, not MD text"),
        (
            "faq.csv",
            b"question,answer\nQ\x00\x01\x02,A\n",
            "the content is binary data (a NUL byte at offset 17), not text",
        ),
        (
            "faq.csv",
            "question,answer\nQ,A\n".encode("utf-16-le"),
            "UTF-16 text without a byte-order mark; save the file as UTF-8",
        ),
        ("faq.csv", "question,answer\n".encode("utf-32"), "UTF-32 text is not supported"),
        ("faq.csv", b"<!DOCTYPE html><html><body>Login</body></html>", "the content is an HTML page, not CSV text"),
        ("faq.csv", b"", "faq.csv: the file is empty"),
        ("faq.csv", b"\xef\xbb\xbf \r\n\r\n", "faq.csv: the file is empty"),
        ("faq.json", b"\xff\xfe", "the file is empty"),
        (
            "faq.csv",
            "question,answer\nRückgabe?,Ja\n".encode("cp1252"),
            "faq.csv, line 2: not UTF-8 text: byte 17 (0xFC) is not valid UTF-8; it looks like Windows-1252/Latin-1 text ('ü')",
        ),
        (
            "faq.csv",
            b"\xef\xbb\xbfquestion,answer\nQ,A\nCaf\xe9?,Oui\nNa\xefve?,Oui\n",
            "faq.csv, line 3: not UTF-8 text: byte 26 (0xE9)",
        ),
        (
            "faq.csv",
            "question,answer\nRückgabe?,Ja\n".encode("cp1252"),
            "Save the file as UTF-8 (in Excel: 'CSV UTF-8'); allowed: UTF-8 with or without BOM, or UTF-16 with BOM",
        ),
        ("faq.csv", b"\xff\xfeq\x00\x00\xd8", "not valid UTF-16 text"),
        (
            "faq.csv",
            b'question,answer\nQ1,A1\nQ2,"never closed\nQ3,A3\n',
            "faq.csv, row 3: broken CSV: unterminated quote: a quoted field in the row starting on line 3 has no closing quote",
        ),
        ("faq.csv", b'question,answer\nQ1,"A1" and more\n', "broken CSV: text after a closing quote on line 2"),
        (
            "faq.csv",
            b"reply,answer\nQ,A\n",
            "row 1, column 'question': required column is missing; the file has columns: reply, answer; "
            "expected: question, answer (optional: id, category, alternatives)",
        ),
        ("faq.csv", b"How long?,Two days\n", "the file has columns: How long?, Two days; expected: question, answer"),
        (
            "faq.csv",
            b"questoin,answer\nQ,A\n",
            "column 'questoin': unknown column; did you mean 'question'? allowed: id, question",
        ),
        ("faq.csv", b"question,answer,Answer\nQ,A,B\n", "column 'Answer': duplicate column (also column B)"),
        ("faq.csv", b"question,answer,\nQ,A,oops\n", "row 2: a value in column C, which has no name in the header row"),
        (
            "faq.csv",
            b"question,answer\n\n\nQ,A\nq,B\n",
            "row 5, column 'question': duplicate question (first on row 4)",
        ),
        ("faq.csv", b"question,answer\n", "no FAQ entries found"),
        ("faq.json", b'{"entries": []}', 'expected a JSON list of entries (or {"faq": [...]}), got an object'),
        ("faq.json", b"[" * 100_000, "invalid JSON: nested too deeply"),
        (
            "faq.json",
            b'[{"question": "Q", "answer": "A"},]',
            "faq.json: invalid JSON: Expecting value (line 1, column 35)",
        ),
        (
            "faq.json",
            b'[{"question": "Q", "answer": "A", "tags": []}, "text"]',
            "row 2: expected an object with question and answer, got text",
        ),
        (
            "faq.jsonl",
            b'{"question": "Q", "answer": "A"}\n{"question": "Q2", answer: 1}\n',
            "faq.jsonl, row 2: invalid JSON",
        ),
        (
            "faq.md",
            b"# FAQ\n\n### How?\n\nLike this.\n",
            "no '## question' headings found; questions must be level-2 headings",
        ),
        ("faq.md", b"Just some notes\n", "a Markdown FAQ is '## question' headings, each followed by its answer"),
        ("faq.md", b"## Q1\n\n## Q2\nA2\n\n## q2\nA\n", "faq.md, line 1, column 'answer': must not be empty"),
        (
            "faq.md",
            b"## Q1\n\n## Q2\nA2\n\n## q2\nA\n",
            "faq.md, line 6, column 'question': duplicate question (first on line 3)",
        ),
        (
            "faq.xlsx",
            b"question,answer\nQ,A\n",
            "not an XLSX workbook: the content is text or unknown data (is it a CSV file named .xlsx?)",
        ),
        (
            "faq.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            "an old Excel 97-2003 (.xls) or password-protected workbook; save it as an unprotected .xlsx",
        ),
        ("faq.xlsx", b"\x89PNG\r\n\x1a\n\x00", "not an XLSX workbook: the content is a PNG image"),
        ("faq.xlsx", _zip_without_workbook(), "a ZIP archive without a workbook"),
        ("faq.xlsx", b"PK\x03\x04garbage" * 10, "not an XLSX workbook: a damaged ZIP archive"),
        (
            "faq.pdf",
            b"%PDF-1.4",
            "unsupported file type '.pdf'; allowed: .csv, .tsv, .json, .jsonl, .xlsx, .md, .markdown",
        ),
        ("faq", b"question,answer\n", "unsupported file type none"),
    ],
)
def test_bad_uploads_name_the_problem(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FaqError) as error:
        load_faq(path)
    assert expected in str(error.value)
    assert name in str(error.value)
    preview = preview_faq(path)  # the preview never raises, and shows the same problem
    assert not preview.ok and any(expected in f"{name}: {e}" or expected in str(e) for e in preview.errors)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda s: s.append(["Q1", "A2"]), "row 3, column 'question': duplicate question (first on row 2)"),
        (lambda s: s.append(["Q2", None]), "row 3, column 'answer': must not be empty"),
        (lambda s: s.append(["Q2", "A2", "extra"]), "row 3: 3 fields, the header has 2"),
    ],
)
def test_bad_xlsx_rows(tmp_path, mutate, expected):
    path = tmp_path / "faq.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["question", "answer"])
    workbook.active.append(["Q1", "A1"])
    mutate(workbook.active)
    workbook.save(path)
    with pytest.raises(FaqError, match=re.escape(expected)):
        load_faq(path)


def test_xlsx_header_problems_and_empty_first_sheet(tmp_path):
    path = tmp_path / "faq.xlsx"
    _write_xlsx(path, ENTRIES, header=("id", "Frage", "answer"))
    with pytest.raises(FaqError) as error:
        load_faq(path)
    assert "faq.xlsx, row 1, column 'Frage': unknown column" in str(error.value)
    assert "column 'question': required column is missing; the file has columns: id, Frage, answer" in str(error.value)
    workbook = openpyxl.Workbook()
    workbook.create_sheet("FAQ").append(["question", "answer"])
    workbook.save(path)
    with pytest.raises(
        FaqError, match="the first sheet 'Sheet' is empty; the FAQ must be on the first sheet; the other sheets"
    ):
        load_faq(path)


def test_size_limit_is_checked_before_reading(tmp_path):
    small = tmp_path / "faq.csv"
    small.write_bytes(b"question,answer\n" + b"".join(b"Q%d,A\n" % i for i in range(40)))
    assert small.stat().st_size == 246
    with pytest.raises(FaqError, match=r"faq\.csv: the file is 246 bytes; at most 100 bytes is allowed"):
        load_faq(small, max_bytes=100)
    huge = tmp_path / "huge.csv"  # a sparse 50 MB file: refused from its size, never read into memory
    with open(huge, "wb") as f:
        f.truncate(50 * 1024 * 1024)
    with pytest.raises(FaqError, match=r"huge\.csv: the file is 50\.0 MB; at most 20\.0 MB is allowed"):
        load_faq(huge)
    assert "50.0 MB" in str(preview_faq(huge).errors[0])
    assert load_faq(small, max_bytes=246)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FaqError, match="nope.csv: no such file"):
        load_faq(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(FaqError, match="dir.csv: not a file"):
        load_faq(tmp_path / "dir.csv")


def test_garbage_never_raises_anything_but_faq_error(tmp_path):
    rng = random.Random(0)
    good = tmp_path / "good.xlsx"
    _write_xlsx(good, ENTRIES)
    blobs = [bytes(rng.randrange(256) for _ in range(300)) for _ in range(5)]
    blobs += [good.read_bytes()[: len(good.read_bytes()) // 2], good.read_bytes()[:-20]]
    blobs += [b'"' * 10, b"\r\r\r", b"## \n", b"[1, 2]", b"null", b'{"faq": "x"}', b"\xe2\x80"]
    for suffix in SUFFIXES:
        for i, blob in enumerate(blobs):
            path = tmp_path / f"g{i}{suffix}"
            path.write_bytes(blob)
            with pytest.raises(FaqError):
                load_faq(path)
            assert not preview_faq(path).ok


def test_preview_shows_good_and_bad_rows_of_a_partly_bad_file(tmp_path):
    path = tmp_path / "faq.csv"
    rows = ["id,question,answer"] + [f"q{i},Question {i}?,Answer {i}" for i in range(1, 30)]
    rows[3] = "q3,Question 3?,"  # row 4: no answer
    rows[5] = "q2,Question 5?,Answer 5"  # row 6: duplicate id
    path.write_text("\n".join(rows) + '\nq99,"Broken,quote\n', encoding="utf-8")
    preview = preview_faq(path, limit=10)
    assert not preview.ok
    assert preview.total == 29 and len(preview.rows) == 10
    assert set(preview.rows[0]) == set(PREVIEW_COLUMNS)
    assert [r["row"] for r in preview.rows if not r["ok"]] == [4, 6]
    assert preview.rows[0] == {
        "row": 2,
        "id": "q1",
        "question": "Question 1?",
        "answer": "Answer 1",
        "category": "",
        "alternatives": "",
        "ok": True,
    }
    assert [str(e) for e in preview.errors] == [
        "faq.csv, row 4, column 'answer': must not be empty",
        "faq.csv, row 6, column 'id': duplicate id 'q2' (first on row 3)",
        "faq.csv, row 31: broken CSV: unterminated quote: a quoted field in the row starting on line 31 has no "
        "closing quote, so the rest of the file was read into it; allowed: a field in double quotes, with a quote "
        'inside it written as ""',
    ]
    assert "29 entries read, 3 problem(s); nothing is imported" in preview.summary()
    assert [e.to_dict()["row"] for e in preview.errors] == [4, 6, 31]
    with pytest.raises(FaqError) as error:
        load_faq(path)
    assert error.value.errors == preview.errors


def test_preview_of_a_good_file_and_of_an_unreadable_one(tmp_path):
    preview = preview_faq(ASSETS / "faq.csv", limit=5)
    assert preview.ok and preview.total == len(load_faq(ASSETS / "faq.csv")) and len(preview.rows) == 5
    assert preview.summary().endswith("entries, no problems")
    bad = tmp_path / "faq.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert preview_faq(bad).rows == [] and preview_faq(bad).total == 0


def test_every_upload_error_is_a_row_errors_value_error(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_bytes(b"")
    with pytest.raises(RowErrors):
        load_faq(path)
    with pytest.raises(ValueError):
        load_faq(path)
