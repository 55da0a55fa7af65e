"""Help-centre documents: every format reads into passages with the right sections and
anchors, passages respect the size bound, and every kind of bad file is named precisely.

The files are made here with the libraries that read them (fpdf2, pypdf, python-docx)."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib

import docx
import fpdf
import pypdf
import pytest

from retrieval.documents import (
    MAX_PASSAGE_TOKENS,
    SUFFIXES,
    Block,
    Cancelled,
    DocumentError,
    count_tokens_estimate,
    document_id,
    read_document,
    read_documents,
    sentences,
    split_passages,
)

EMPTY = "empty document: no text to answer from"
LONG_1 = (
    "You can return most items within thirty days of delivery for a full refund. The item must be unused "
    "and in its original packaging, with every label still attached. Sale items can be returned too, but "
    "personalised items cannot, because we made them for you alone. Start a return from your order page."
)
LONG_2 = (
    "Refunds to a credit card take three to five working days after the parcel arrives at our warehouse in "
    "Leeds. Your bank may need a few more days to show the refund on your statement. If nothing has arrived "
    "after ten working days, write to us with your order number and we will trace the payment."
)
LONG_3 = (
    "Items paid with a gift card are refunded to a new gift card, sent by email within one working day. "
    "Gift cards themselves cannot be returned or exchanged for cash, except where the law requires it."
)


# --- files made for the tests --------------------------------------------------------------


def make_pdf(path, pages, title="Returns policy"):
    """A PDF with one page per (heading, paragraphs) pair; a paragraph of '- ' lines is a list."""
    pdf = fpdf.FPDF()
    if title:
        pdf.set_title(title)
    for heading, paragraphs in pages:
        pdf.add_page()
        pdf.set_font("helvetica", "B", 16)
        pdf.multi_cell(0, 10, heading)
        pdf.ln(4)
        pdf.set_font("helvetica", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    path.write_bytes(bytes(pdf.output()))
    return path


THREE_PAGES = [
    ("Returns", [LONG_1, "- Keep your receipt.\n- Use the prepaid label."]),
    ("Card payments", [LONG_2]),
    ("Gift cards", [LONG_3]),
]


def make_docx(path, core_title=""):
    document = docx.Document()
    document.core_properties.title = core_title
    document.add_heading("Help with orders", level=0)  # the Title style
    document.add_heading("Refunds", level=1)
    document.add_paragraph("Refunds go back to the card you paid with.")
    document.add_heading("Card payments", level=2)
    document.add_paragraph("Card refunds take three to five working days.")
    document.add_paragraph("Keep your receipt", style="List Bullet")
    document.add_paragraph("Use the prepaid label", style="List Bullet")
    document.add_heading("Delivery", level=1)
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Delivery options"  # a merged cell is read once
    for r, cells in enumerate([("Option", "Days"), ("Standard", "2 to 5")], start=1):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


HTML = """<!doctype html>
<html><head><title>Returns policy | Example Shop</title>
<style>body { color: red }</style><script>alert(1)</script></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/shop">Shop all products</a></li></ul></nav>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience. Accept all cookies</div>
<article>
<h1>Returns policy</h1>
<p>You can return most items within 30 days of delivery for a full refund. The item must be unused and in its
original packaging.</p>
<h2>Card payments</h2>
<p>Refunds to a credit or debit card take three to five working days after we receive the parcel. Your bank may
need a few more days to show it.</p>
<ul><li>Keep your receipt.</li><li>Use the prepaid label in the box.</li></ul>
<h2>Gift&nbsp;cards</h2>
<p>Items paid with a gift card are refunded to a new gift card, which we send by email within one working day.</p>
<p>Gift cards themselves cannot be returned or exchanged for cash, except where the law requires it.</p>
<script>trackVisitor("secret-tracking-id")</script>
</article>
<footer>Copyright 2024 Example Shop. Careers and press.</footer>
<img src="https://track.example.com/pixel.gif" width="1" height="1">
</body></html>
"""

MARKDOWN = """Help centre
===========

Welcome to the **help centre**. See [our form](https://example.com/form) for anything else.

Shipping
--------

We ship to every country in the EU.

### Express

- Next day, if you order before 2 pm.
- Not on public holidays.

```
curl https://api.example.com/track/123
```

## Returns

Returns are free for 30 days.
"""


def png_bytes():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


def problem_messages(exc_info):
    return [(p.file, p.message) for p in exc_info.value.problems]


# --- formats -------------------------------------------------------------------------------


def test_pdf_pages_anchor_passages(tmp_path):
    path = make_pdf(tmp_path / "Returns Policy.pdf", THREE_PAGES)
    document = read_document(path, max_tokens=80, url="https://example.com/returns.pdf")
    assert (document.id, document.title, document.source) == ("returns-policy", "Returns policy", "Returns Policy.pdf")
    assert document.url == "https://example.com/returns.pdf"
    assert document.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [p.id for p in document.passages] == [f"returns-policy#{n}" for n in range(1, len(document.passages) + 1)]
    assert all(re.fullmatch(r"page [123]", p.anchor) and p.section == "" for p in document.passages)
    assert [p.anchor for p in document.passages] == ["page 1", "page 1", "page 2", "page 3"]
    (bank,) = [p for p in document.passages if "refund on your statement" in p.text]  # wrapped lines joined
    assert bank.anchor == "page 2"
    # packing goes on across a page break: page 2 starts inside a passage that began on page 1
    (leeds,) = [p for p in document.passages if "warehouse in Leeds" in p.text]
    assert leeds.anchor == "page 1" and leeds.text.startswith("- Use the prepaid label.")
    assert "- Keep your receipt.\n- Use the prepaid label." in "\n".join(p.text for p in document.passages)
    assert all(count_tokens_estimate(p.text) <= 80 for p in document.passages)


def test_pdf_title_falls_back_to_the_stem(tmp_path):
    path = make_pdf(tmp_path / "gift-cards.pdf", THREE_PAGES[2:], title="")
    assert read_document(path).title == "gift-cards"


def test_pdf_line_joining_and_dehyphenation():
    from retrieval.document_formats import _pdf_page_blocks

    text = "Delivery\nWe deliver to every ad-\ndress in the EU. Parcels\nare tracked.\nReturns are free.\n\u2022 Keep the box\n2. Print the label"
    blocks = _pdf_page_blocks(text, 4)
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "Delivery"),
        ("paragraph", "We deliver to every address in the EU. Parcels are tracked."),
        ("paragraph", "Returns are free."),
        ("item", "Keep the box"),
        ("item", "Print the label"),
    ]
    assert {b.page for b in blocks} == {4}


def test_encrypted_pdf_is_refused(tmp_path):
    writer = pypdf.PdfWriter(clone_from=make_pdf(tmp_path / "plain.pdf", THREE_PAGES))
    writer.encrypt("secret")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    with pytest.raises(DocumentError) as exc_info:
        read_document(path)
    assert problem_messages(exc_info) == [("locked.pdf", "encrypted PDF: remove its password and upload it again")]


def test_pdf_with_an_empty_user_password_is_read(tmp_path):
    writer = pypdf.PdfWriter(clone_from=make_pdf(tmp_path / "plain.pdf", THREE_PAGES))
    writer.encrypt("", owner_password="owner")
    path = tmp_path / "open.pdf"
    writer.write(path)
    assert "warehouse in Leeds" in " ".join(p.text for p in read_document(path).passages)


def test_pdf_without_text_is_refused_as_scanned(tmp_path):
    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_blank_page(595, 842)
    path = tmp_path / "scan.pdf"
    writer.write(path)
    with pytest.raises(DocumentError, match="no text in this PDF: a scanned document"):
        read_document(path)


def test_pdf_over_max_pages_is_refused(tmp_path):
    path = make_pdf(tmp_path / "manual.pdf", THREE_PAGES)
    with pytest.raises(DocumentError) as exc_info:
        read_document(path, max_pages=2)
    ((file, message),) = problem_messages(exc_info)
    assert file == "manual.pdf" and "3 pages" in message and "at most 2" in message


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"%PDF-1.7\n1 0 obj <<>> endobj\ngarbage", "not a readable PDF"),
        (b"Just some text saved as .pdf", "not a PDF document"),
        (b"PK\x03\x04" + b"\x00" * 40, "not a PDF document: the content is a ZIP archive"),
    ],
)
def test_broken_pdf_is_refused_with_the_reason(tmp_path, content, expected):
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=expected):
        read_document(path)


def test_docx_headings_lists_and_tables(tmp_path):
    document = read_document(make_docx(tmp_path / "orders.docx"))
    assert document.title == "Help with orders"  # the Title-style paragraph, not a passage
    got = [(p.section, p.anchor, p.text) for p in document.passages]
    assert got == [
        ("Refunds", "#refunds", "Refunds go back to the card you paid with."),
        (
            "Refunds > Card payments",
            "#card-payments",
            "Card refunds take three to five working days.\n\n- Keep your receipt\n- Use the prepaid label",
        ),
        ("Delivery", "#delivery", "Delivery options\n\nOption | Days\n\nStandard | 2 to 5"),
    ]


def test_docx_core_title_wins(tmp_path):
    assert read_document(make_docx(tmp_path / "orders.docx", core_title="Orders FAQ")).title == "Orders FAQ"


def test_not_a_docx_is_refused(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(DocumentError, match="fake.docx: not a readable DOCX document"):
        read_document(path)


def test_html_keeps_the_article_and_drops_the_rest(tmp_path):
    path = tmp_path / "returns.html"
    path.write_text(HTML, encoding="utf-8")
    document = read_document(path)
    assert document.title == "Returns policy"
    everything = "\n".join(p.text + p.section for p in document.passages)
    for absent in ("alert", "trackVisitor", "secret-tracking-id", "color: red", "Shop all products", "cookies"):
        assert absent not in everything
    assert "Copyright" not in everything and "pixel" not in everything and "<" not in everything
    sections = {p.section: p for p in document.passages}
    assert set(sections) == {"", "Card payments", "Gift cards"}  # the H1 is the title, not a section
    assert sections["Card payments"].anchor == "#card-payments"
    assert "- Keep your receipt.\n- Use the prepaid label in the box." in sections["Card payments"].text
    assert sections["Gift cards"].text.startswith("Items paid with a gift card")  # NBSP in the heading normalised


def test_html_without_content_is_refused(tmp_path):
    path = tmp_path / "blank.htm"
    path.write_text("<html><head><script>alert(1)</script></head><body><nav>Home</nav></body></html>", "utf-8")
    with pytest.raises(DocumentError, match="blank.htm: no readable text in this page"):
        read_document(path)


def test_markdown_headings_code_and_links(tmp_path):
    path = tmp_path / "help.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    document = read_document(path)
    assert document.title == "Help centre"
    got = [(p.section, p.anchor, p.text) for p in document.passages]
    assert got == [
        ("", "", "Welcome to the help centre. See our form for anything else."),
        ("Shipping", "#shipping", "We ship to every country in the EU."),
        (
            "Shipping > Express",
            "#express",
            "- Next day, if you order before 2 pm.\n- Not on public holidays.\n\ncurl https://api.example.com/track/123",
        ),
        ("Returns", "#returns", "Returns are free for 30 days."),
    ]


def test_markdown_with_several_h1_keeps_them_in_the_sections(tmp_path):
    path = tmp_path / "two.markdown"
    path.write_text("# Refunds\n\nTen days.\n\n# Delivery\n\nTwo days.\n", encoding="utf-8")
    document = read_document(path)
    assert document.title == "Refunds"
    assert [(p.section, p.text) for p in document.passages] == [("Refunds", "Ten days."), ("Delivery", "Two days.")]


def test_plain_text_paragraphs(tmp_path):
    path = tmp_path / "Opening hours.txt"
    path.write_text("We are open\u00a0from  9 to 5.\nClosed on Sundays.\n\n\n\n门店周日休息。\n", encoding="utf-8")
    document = read_document(path)
    assert (document.id, document.title) == ("opening-hours", "Opening hours")
    assert [(p.section, p.anchor, p.text) for p in document.passages] == [
        ("", "", "We are open from 9 to 5. Closed on Sundays.\n\n门店周日休息。")
    ]


# --- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.txt", b""),
        ("blank.md", b"  \n\n \t\n"),
        ("headings.md", b"# Title\n\n## Nothing under it\n"),
        ("empty.html", b"<html><body><p>   </p></body></html>"),
    ],
)
def test_empty_documents_are_refused(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as exc_info:
        read_document(path)
    ((file, message),) = problem_messages(exc_info)
    assert file == name
    assert message in (EMPTY, "no readable text in this page")


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("page.md", b"<!DOCTYPE html><html><body>Hi</body></html>", "the content is an HTML page; name it page.html"),
        ("latin1.html", "<p>Caf\u00e9 cr\u00e8me</p>".encode("latin-1"), "not UTF-8 text"),
        ("utf16.txt", "Returns are free.".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
    ],
)
def test_wrong_content_or_encoding_is_refused(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=expected):
        read_document(path)


def test_utf16_with_bom_is_read(tmp_path):
    path = tmp_path / "utf16.txt"
    path.write_bytes("Returns are free.".encode("utf-16"))
    assert read_document(path).passages[0].text == "Returns are free."


def test_png_named_txt_is_refused(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(png_bytes())
    with pytest.raises(DocumentError, match="photo.txt: the content is a PNG image"):
        read_document(path)


def test_unsupported_suffix_and_size_limit(tmp_path):
    (tmp_path / "a.rtf").write_text("hello", encoding="utf-8")
    (tmp_path / "big.txt").write_text("word " * 100, encoding="utf-8")
    with pytest.raises(DocumentError, match="unsupported file type '.rtf'"):
        read_document(tmp_path / "a.rtf")
    with pytest.raises(DocumentError, match="at most 100 bytes"):
        read_document(tmp_path / "big.txt", max_bytes=100)


def test_read_documents_is_all_or_nothing(tmp_path):
    folder = tmp_path / "help"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.md").write_text("# Good\n\nFine text.\n", encoding="utf-8")
    (folder / "sub" / "photo.txt").write_bytes(png_bytes())
    (folder / "broken.pdf").write_bytes(b"not a pdf at all")
    (folder / "notes.csv").write_text("skipped,because,unknown\n", encoding="utf-8")
    (folder / ".hidden.md").write_text("# Hidden\n\nSkipped.\n", encoding="utf-8")
    with pytest.raises(DocumentError) as exc_info:
        read_documents([folder])
    files = [p.file for p in exc_info.value.problems]
    assert files == ["broken.pdf", "sub/photo.txt"]
    assert "broken.pdf" in str(exc_info.value) and "sub/photo.txt" in str(exc_info.value)


def test_read_documents_reads_folders_and_files_sorted(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.txt").write_text("Bee text.", encoding="utf-8")
    (tmp_path / "docs" / "a.md").write_text("Ay text.", encoding="utf-8")
    (tmp_path / "c.txt").write_text("Sea text.", encoding="utf-8")
    progress = []
    documents = read_documents(
        [tmp_path / "docs", tmp_path / "c.txt", tmp_path / "docs" / "a.md"],
        progress=lambda f, m: progress.append(f),
    )
    assert [(d.id, d.source) for d in documents] == [("a", "a.md"), ("b", "b.txt"), ("c", "c.txt")]
    assert [d.id for d in read_documents(str(tmp_path / "c.txt"))] == ["c"]  # one path, not a list
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_duplicate_ids_name_both_files(tmp_path):
    (tmp_path / "Returns Policy.md").write_text("Returns are free.", encoding="utf-8")
    (tmp_path / "returns-policy.txt").write_text("Returns are free.", encoding="utf-8")
    with pytest.raises(DocumentError) as exc_info:
        read_documents([tmp_path])
    ((file, message),) = problem_messages(exc_info)
    assert file == "returns-policy.txt" and "'returns-policy'" in message and "Returns Policy.md" in message


def test_folder_without_documents_and_missing_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DocumentError) as exc_info:
        read_documents([tmp_path / "empty", tmp_path / "missing.pdf"])
    assert [(p.file, p.message.split(";")[0]) for p in exc_info.value.problems] == [
        ("empty", "no documents in this folder"),
        ("missing.pdf", "no such file or folder"),
    ]


def test_cancellation(tmp_path):
    path = make_pdf(tmp_path / "manual.pdf", THREE_PAGES)
    with pytest.raises(Cancelled):
        read_document(path, cancelled=lambda: True)
    asked = []

    def cancel_on_page_two():
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(Cancelled):
        read_documents([path], cancelled=cancel_on_page_two)


# --- splitting -----------------------------------------------------------------------------

PARAGRAPHS = [LONG_1, LONG_2, LONG_3, "Short one.", "退货需要在收到商品后七天内申请。" * 6]


@pytest.mark.parametrize("max_tokens", [8, 20, 45, 80, MAX_PASSAGE_TOKENS])
@pytest.mark.parametrize(
    "count",
    [None, len, lambda text: len(text.encode("utf-8")) // 3 + 1],
    ids=["estimate", "characters", "bytes"],
)
def test_passages_respect_the_size_bound(max_tokens, count):
    blocks = [Block("heading", "Returns", 1)] + [Block("paragraph", p) for p in PARAGRAPHS] + [Block("item", LONG_3)]
    passages = split_passages("d", "Doc", blocks, count, max_tokens)
    measure = count or count_tokens_estimate
    for passage in passages:
        assert measure(passage.text) <= max_tokens or len(passage.text.lstrip("- ").split()) == 1
    words = " ".join(p.text for p in passages).split()
    assert "Leeds." in words and "Short" in words  # nothing lost


def test_unsplittable_word_stays_whole():
    url = "https://example.com/" + "a" * 80
    passages = split_passages("d", "Doc", [Block("paragraph", f"See {url} for details.")], len, 20)
    assert url in [p.text for p in passages]


@pytest.mark.parametrize(
    "blocks, expected",
    [
        (
            [Block("heading", "A", 1), Block("paragraph", "a."), Block("heading", "B", 2), Block("paragraph", "b.")],
            [("A", "#a", "a."), ("A > B", "#b", "b.")],
        ),
        (
            [Block("heading", "A", 1), Block("heading", "B", 2), Block("heading", "C", 3), Block("paragraph", "c.")],
            [("A > B > C", "#c", "c.")],  # headings without text give no passage
        ),
        (
            [Block("heading", "A", 2), Block("paragraph", "a."), Block("heading", "B", 1), Block("paragraph", "b.")],
            [("A", "#a", "a."), ("B", "#b", "b.")],  # a higher heading replaces deeper ones
        ),
        (
            [Block("paragraph", "intro."), Block("heading", "Q & A: 退货", 2), Block("item", "x"), Block("item", "y")],
            [("", "", "intro."), ("Q & A: 退货", "#q-a-退货", "- x\n- y")],
        ),
        (
            [Block("paragraph", "p1.", page=1), Block("paragraph", "p2.", page=2), Block("paragraph", "p3.", page=3)],
            [("", "page 1", "p1.\n\np2.\n\np3.")],  # a page break alone does not start a passage
        ),
    ],
)
def test_headings_start_passages(blocks, expected):
    passages = split_passages("d", "Doc", blocks, None, 50)
    assert [(p.section, p.anchor, p.text) for p in passages] == expected
    assert all(p.title == "Doc" and p.doc_id == "d" for p in passages)


def test_long_paragraph_is_cut_at_sentence_ends():
    passages = split_passages("d", "Doc", [Block("paragraph", LONG_1 + " " + LONG_2)], None, 40)
    assert len(passages) > 2
    assert all(p.text.endswith(".") for p in passages)
    assert " ".join(p.text for p in passages) == LONG_1 + " " + LONG_2


def test_chinese_is_cut_at_full_stops():
    text = "退货需要在收到商品后七天内申请。请保留好原包装和发票！退款会在三到五个工作日内退回原支付账户。" * 3
    passages = split_passages("d", "Doc", [Block("paragraph", text)], None, 30)
    assert len(passages) > 1
    assert all(p.text[-1] in "。！" and count_tokens_estimate(p.text) <= 30 for p in passages)
    assert "".join(p.text for p in passages) == text


def test_chinese_without_punctuation_is_cut_by_characters():
    text = "退货政策说明" * 20
    passages = split_passages("d", "Doc", [Block("paragraph", text)], None, 25)
    assert all(len(p.text) <= 25 for p in passages) and "".join(p.text for p in passages) == text


def test_max_tokens_must_be_positive():
    with pytest.raises(ValueError, match="max_tokens must be at least 1, got 0"):
        split_passages("d", "Doc", [Block("paragraph", "x")], None, 0)


# --- sentences, ids, tokens ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", []),
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Bring ID, e.g. a passport. Then wait.", ["Bring ID, e.g. a passport.", "Then wait."]),
        ("Ask Mr. Smith or Dr. Jones. They know.", ["Ask Mr. Smith or Dr. Jones.", "They know."]),
        ("It costs 2.5 euros. Pay at 3.30 pm.", ["It costs 2.5 euros.", "Pay at 3.30 pm."]),
        ("1. Open the app. 2. Tap refund.", ["1. Open the app.", "2. Tap refund."]),
        ("Steps: 1. Open it. The total is 25. Done.", ["Steps: 1. Open it.", "The total is 25.", "Done."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("Written by J. Smith. Read it.", ["Written by J. Smith.", "Read it."]),
        ("Wait... Really?! Yes.", ["Wait...", "Really?!", "Yes."]),
        ("退货需要七天。请保留收据！可以吗？好；谢谢", ["退货需要七天。", "请保留收据！", "可以吗？", "好；", "谢谢"]),
        ("他说：“好的。”然后走了。", ["他说：“好的。”", "然后走了。"]),
        ("Line one\nLine two", ["Line one", "Line two"]),
        ("Refunds take 3 days. 退款需要三天。OK.", ["Refunds take 3 days.", "退款需要三天。", "OK."]),
    ],
)
def test_sentences(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Returns Policy (2024).pdf", "returns-policy-2024"),
        ("folder/Café crème.md", "cafe-creme"),
        ("退货 政策.docx", "退货-政策"),
        ("__init__.txt", "init"),
    ],
)
def test_document_id(name, expected):
    assert document_id(name) == expected


def test_document_id_of_another_script_is_stable_and_distinct():
    assert document_id("Политика.md") == document_id("Политика.pdf") != document_id("Доставка.md")
    assert document_id("Политика.md").startswith("document-")


@pytest.mark.parametrize(
    "text, expected", [("", 0), ("one two three", 4), ("退货政策", 4), ("退货 refund policy", 5), ("🙂 ok", 3)]
)
def test_count_tokens_estimate(text, expected):
    assert count_tokens_estimate(text) == expected


def test_suffixes():
    assert SUFFIXES == (".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt")
