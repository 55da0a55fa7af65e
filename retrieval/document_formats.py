"""The document formats: PDF, DOCX, HTML, Markdown and plain text read into :class:`Block` values.

Why apart from ``retrieval.documents``: each format has its own library, its own layout rules
(where a PDF paragraph ends, which DOCX style is a heading, what of a web page is content)
and its own ways to fail; ``retrieval.documents`` chooses the reader by suffix and splits
what it read into passages, the same for every format. The suffix, size, binary-content and
encoding checks every upload gets are :mod:`retrieval.uploads`'s.

Readers return ``(title, blocks)``: headings, paragraphs and list items in reading order,
their text normalised to one line (code blocks keep their lines). They do not split, and
only a PDF without text or a page without main content is refused here as empty (the
general check is ``retrieval.documents``'s). What makes a file unusable raises :class:`~retrieval.uploads.RowErrors`, which ``retrieval.documents``
re-raises as ``DocumentError``; :class:`Watch` reports progress and raises
:class:`Cancelled` once per page or block.

Formats, chosen by suffix (:data:`SUFFIXES`):

- ``.pdf`` (pypdf): the text of each page; paragraphs are told apart by blank lines, or by a
  line ending a sentence followed by one starting with a capital or a bullet (a short line
  on its own without punctuation, such as a heading, is a paragraph of its own); wrapped
  lines are joined and words hyphenated across lines rejoined; lines starting with a bullet
  or ``1.`` are list items. The title is the ``/Title`` metadata, else the file stem. An
  encrypted PDF is opened with the empty password or refused; a PDF of more than
  ``max_pages`` pages is refused before its text is read.
- ``.docx`` (python-docx): ``Heading N`` paragraphs are headings, ``List ...`` styles and
  numbered paragraphs are items, tables give one paragraph per row (cells joined by
  ``" | "``). The title is the core ``title`` property, else the ``Title``-style paragraph.
- ``.html`` / ``.htm`` (trafilatura): the main content as Markdown, read as below; menus,
  scripts, styles, cookie banners, footers and images are dropped. The title is the page's
  (trafilatura's metadata, else ``<title>``).
- ``.md`` / ``.markdown`` (markdown-it-py, CommonMark and tables): ATX and setext headings,
  paragraphs, list items, tables (one paragraph per row), code blocks (kept as a paragraph);
  inline markup is reduced to its text and raw HTML to its text. The first H1 is the title;
  when it is the only H1 it is left out of the heading paths.
- ``.txt``: paragraphs separated by blank lines; the title is the file stem.

Limits: PDF text comes in pypdf's extraction order, so columns, tables, headers and footers
may interleave with the body text, and PDF headings are not recognised (a PDF's passages
have no section); scanned PDFs have no text and are refused (no OCR here). HTML must be
UTF-8 (a page declaring another charset is refused with the encoding message, not
converted). DOCX text boxes, footnotes, headers and footers are not read. Ordered lists lose
their numbers (every item reads ``- ...``).
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from retrieval.uploads import RowErrors, binary_kind

SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt")

ProgressFn = Callable[[float, str], None]
CancelledFn = Callable[[], bool]


@dataclass(frozen=True)
class Block:
    """What each reader yields: a heading (``level`` 1..6), a paragraph or a list item
    (``text`` without its bullet), and for a PDF the 1-based ``page`` it is on."""

    kind: Literal["heading", "paragraph", "item"]
    text: str
    level: int = 0
    page: int | None = None


class Cancelled(Exception):
    """Reading stopped because ``cancelled()`` turned true."""


class Watch:
    """Progress and cancellation for one file."""

    def __init__(self, progress: ProgressFn | None, cancelled: CancelledFn | None, name: str):
        self.progress, self.cancelled, self.name = progress, cancelled, name

    def __call__(self, fraction: float, message: str) -> None:
        if self.cancelled is not None and self.cancelled():
            raise Cancelled(f"{self.name}: cancelled ({message})")
        if self.progress is not None:
            self.progress(min(max(fraction, 0.0), 1.0), message)


def read_pdf(data: bytes, path: Path, max_pages: int, watch: Watch) -> tuple[str, list[Block]]:
    import pypdf
    from pypdf.errors import PyPdfError

    name = path.name
    if b"%PDF-" not in data[:1024]:
        what = binary_kind(data)
        raise RowErrors.fail(name, f"not a PDF document{f': the content is {what}' if what else ''}")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # an algorithm pypdf cannot open without a crypto package
                raise RowErrors.fail(name, f"encrypted PDF ({exc}): remove its password and upload it again") from None
            if not opened:
                raise RowErrors.fail(name, "encrypted PDF: remove its password and upload it again")
        pages = len(reader.pages)
        if pages > max_pages:
            message = f"the PDF has {pages} pages; at most {max_pages} are allowed: split it into smaller files"
            raise RowErrors.fail(name, message)
        title = _pdf_title(reader) or path.stem
        blocks: list[Block] = []
        for number, page in enumerate(reader.pages, start=1):
            watch((number - 1) / max(pages, 1) * 0.9, f"page {number} of {pages}")
            try:
                text = page.extract_text() or ""
            except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise RowErrors.fail(
                    name, f"cannot read the text of this page: {exc}", row=number, unit="page"
                ) from None
            blocks.extend(_pdf_page_blocks(text, number))
    except RowErrors:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise RowErrors.fail(name, f"not a readable PDF: {exc or type(exc).__name__}") from None
    if not any(b.text for b in blocks):
        raise RowErrors.fail(name, "no text in this PDF: a scanned document? run OCR on it first")
    return title, blocks


def _pdf_title(reader) -> str:
    try:
        metadata = reader.metadata
        return one_line(str(metadata.title or "")) if metadata is not None else ""
    except Exception:  # a broken info dictionary is no reason to refuse the text
        return ""


_BULLET = re.compile(r"^(?:[•●▪◦‣∙·*–-]|\d{1,3}[.)])\s+")
_PARAGRAPH_END = re.compile(r"[.!?:。！？；][\"'”’)\]」』）]*$")


def _pdf_page_blocks(text: str, page: int) -> list[Block]:
    """Paragraphs and items of one page's extracted text (see the module docstring)."""
    blocks: list[Block] = []
    kind, lines = "", []

    def flush() -> None:
        nonlocal kind, lines
        if lines:
            blocks.append(Block(kind, one_line(" ".join(lines)), page=page))
        kind, lines = "", []

    for raw in _normalise(text).split("\n"):
        line = raw.strip()
        if not line:
            flush()
            continue
        bullet = _BULLET.match(line)
        if bullet:
            flush()
            kind, lines = "item", [line[bullet.end() :]]
            continue
        starts = line[0].isupper() or line[0].isdigit()
        if lines and starts and (_PARAGRAPH_END.search(lines[-1]) or _title_like(kind, lines)):
            flush()
        if not lines:
            kind, lines = "paragraph", [line]
        elif re.search(r"[^\W\d_]-$", lines[-1]) and line[0].islower():
            lines[-1] = lines[-1][:-1] + line  # "refund-" + "able" -> "refundable"
        elif CJK_CHAR.match(lines[-1][-1]) and CJK_CHAR.match(line[0]):
            lines[-1] += line
        else:
            lines.append(line)
    flush()
    return blocks


def _title_like(kind: str, lines: list[str]) -> bool:
    """A short line on its own without closing punctuation (a heading, a label): the next
    line that starts with a capital starts another paragraph."""
    line = lines[0]
    return (
        kind == "paragraph" and len(lines) == 1 and len(line) <= 60 and not re.search(r"[.,;:!?。，；：！？-]$", line)
    )


def read_docx(data: bytes, path: Path, watch: Watch) -> tuple[str, list[Block]]:
    import docx
    from docx.table import Table

    name = path.name
    try:
        document = docx.Document(io.BytesIO(data))
        core_title = one_line(document.core_properties.title or "")
        content = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises a zoo (KeyError, BadZipFile, PackageNotFoundError, lxml errors)
        what = binary_kind(data)
        found = f"the content is {what}" if what and not what.startswith("a ZIP") else str(exc) or type(exc).__name__
        raise RowErrors.fail(name, f"not a readable DOCX document: {found}; save it again as .docx") from None
    styled_title = ""
    blocks: list[Block] = []
    for i, item in enumerate(content):
        watch(i / max(len(content), 1) * 0.9, f"block {i + 1} of {len(content)}")
        if isinstance(item, Table):
            for row in item.rows:
                cells, seen = [], set()
                for cell in row.cells:  # a merged cell appears once per grid column it spans
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        cells.append(one_line(cell.text))
                if any(cells):
                    blocks.append(Block("paragraph", " | ".join(cells)))
            continue
        text = one_line(item.text)
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        heading = re.fullmatch(r"Heading (\d)", style)
        if style == "Title":
            styled_title = styled_title or text
        elif heading:
            blocks.append(Block("heading", text, level=min(int(heading.group(1)), 6)))
        elif "List" in style or item._p.pPr is not None and item._p.pPr.numPr is not None:
            blocks.append(Block("item", text))
        else:
            blocks.append(Block("paragraph", text))
    return core_title or styled_title or path.stem, blocks


# menus, page chrome and consent banners: never help-centre text
_PRUNED = [
    "//nav",
    "//header[not(ancestor::article or ancestor::main)]",
    "//footer",
    "//script",
    "//style",
    "//noscript",
    "//template",
    "//*[@role='navigation' or @role='banner' or @role='contentinfo']",
    "//*[contains(translate(@id, 'COKIE', 'cokie'), 'cookie') or contains(translate(@class, 'COKIE', 'cokie'), 'cookie')]",
]


def read_html(text: str, path: Path, watch: Watch) -> tuple[str, list[Block]]:
    import trafilatura

    watch(0.1, "extracting the main text")
    markdown = trafilatura.extract(
        text,
        output_format="markdown",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_recall=True,
        with_metadata=False,
        prune_xpath=_PRUNED,  # trafilatura drops these itself, except on a page with nothing else
    )
    if not markdown or not markdown.strip():
        raise RowErrors.fail(path.name, "no readable text in this page")
    metadata = trafilatura.extract_metadata(text)
    page_title = one_line(metadata.title or "") if metadata is not None else ""
    if not page_title:
        found = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        page_title = one_line(html.unescape(found.group(1))) if found else ""
    h1_title, blocks = read_markdown(markdown, "", watch)
    return page_title or h1_title or path.stem, blocks


def read_markdown(text: str, stem: str, watch: Watch) -> tuple[str, list[Block]]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    heading = 0  # the level of the heading being read, 0 outside one
    lists = 0  # list items open around the current token
    row: list[str] | None = None
    for i, token in enumerate(tokens):
        if i % 200 == 0:
            watch(i / len(tokens) * 0.9, f"block {i + 1} of {len(tokens)}")
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1:])
        elif kind == "heading_close":
            heading = 0
        elif kind == "list_item_open":
            lists += 1
        elif kind == "list_item_close":
            lists -= 1
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            if row and any(row):
                blocks.append(Block("paragraph", " | ".join(row)))
            row = None
        elif kind == "inline":
            line = one_line(_inline_text(token))
            if row is not None:
                row.append(line)
            elif heading:
                blocks.append(Block("heading", line, level=heading))
            elif line:
                blocks.append(Block("item" if lists else "paragraph", line))
        elif kind in ("fence", "code_block"):
            code = _normalise(token.content).strip("\n")
            if code.strip():
                blocks.append(Block("item" if lists else "paragraph", code))
        elif kind == "html_block":
            line = one_line(_strip_html(token.content))
            if line:
                blocks.append(Block("paragraph", line))
    h1 = [i for i, b in enumerate(blocks) if b.kind == "heading" and b.level == 1 and b.text]
    if not h1:
        return stem, blocks
    title = blocks[h1[0]].text
    if len(h1) == 1:
        del blocks[h1[0]]
    return title, blocks


def _inline_text(token) -> str:
    """The text of an inline token: markup dropped, link and image text kept, raw HTML stripped."""
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "html_inline":
            out.append(_strip_html(child.content))
    return "".join(out)


_SCRIPT = re.compile(r"<(script|style|template|noscript)\b.*?(?:</\1\s*>|$)|<!--.*?(?:-->|$)", re.I | re.S)
_TAG = re.compile(r"<[^>]*>?")


def _strip_html(text: str) -> str:
    return html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", text)))


def text_blocks(text: str) -> list[Block]:
    return [Block("paragraph", one_line(p)) for p in re.split(r"\n\s*\n", _normalise(text)) if p.strip()]


# --- text helpers ------------------------------------------------------------------------

CJK_CHAR = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\uac00-\ud7af]")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]|[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _normalise(text: str) -> str:
    """NFC, line breaks as \\n, invisible characters dropped, runs of spaces (NBSP too) made one."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def one_line(text: str) -> str:
    return " ".join(_normalise(text).split())
