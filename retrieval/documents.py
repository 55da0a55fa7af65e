"""Reading help-centre documents (PDF, DOCX, HTML, Markdown, plain text) and splitting them
into passages for retrieval.

Why: a FAQ answers the questions someone thought to write down; the help centre, the returns
policy and the product manual answer the rest. This module turns such files into
:class:`Passage` values: a few sentences under one heading, small enough to embed and to quote
in an answer, each with the heading path it sits under (``"Refunds > Card payments"``) and
where to find it (``"page 3"`` in a PDF, ``"#card-payments"`` for a heading elsewhere).

The readers of each format (:data:`SUFFIXES`) are in ``retrieval.document_formats``, with
what each reads and its limits; this module picks one by suffix and splits what it read.

A passage (:func:`split_passages`) never spans two headings: each heading starts a new one,
and consecutive paragraphs and items under a heading are packed while the passage stays
within ``max_tokens`` (by ``count_tokens``, the serving model's tokenizer when the caller
passes it; the default is a cheap estimate). A paragraph longer than that is cut at sentence
ends, then at spaces, then (Chinese, Japanese) every few characters; only a single word
longer than the bound (a URL) makes a passage exceed it.

Every file gets the checks every upload gets (:mod:`retrieval.uploads`: suffix, size,
binary content under a text suffix, encoding). Problems are :class:`RowError` values in a
:class:`DocumentError`; :func:`read_documents` reads every file before it raises, so all
problems are listed at once and nothing is returned from a batch with a bad file.

Limits: those of the formats (``retrieval.document_formats``: PDF reading order, no OCR,
UTF-8 HTML only, ...), and whole files are held in memory (hence ``max_bytes``).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.document_formats import (
    CJK_CHAR,
    SUFFIXES,
    Block,
    Cancelled,
    CancelledFn,
    ProgressFn,
    Watch,
    one_line,
    read_docx,
    read_html,
    read_markdown,
    read_pdf,
    text_blocks,
)
from retrieval.uploads import RowError, RowErrors, decode, read_bytes

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_PAGES",
    "MAX_PASSAGE_TOKENS",
    "SUFFIXES",
    "Block",
    "Cancelled",
    "Document",
    "DocumentError",
    "Passage",
    "count_tokens_estimate",
    "document_id",
    "read_document",
    "read_documents",
    "sentences",
    "split_passages",
]

MAX_PASSAGE_TOKENS = 160  # default size bound of a passage, in count_tokens units
MAX_PAGES = 2000  # longer PDFs are refused: bounded time and memory per upload
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # 50 MiB; a manual with images is larger than a FAQ

EMPTY = "empty document: no text to answer from"
SECTION_SEPARATOR = " > "

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Passage:
    """A piece of a document small enough to embed and quote.

    ``section`` is the heading path (``"Refunds > Card payments"``, ``""`` when none);
    ``anchor`` where the passage starts: ``"page 3"`` in a PDF, ``"#card-payments"`` (the
    slug of the nearest heading) in HTML, Markdown and DOCX, ``""`` otherwise. ``text`` is
    plain text: blocks separated by a blank line, list items one per line with ``"- "``.
    """

    id: str
    doc_id: str
    title: str
    section: str
    anchor: str
    text: str

    @property
    def label(self) -> str:
        """How the passage is named to a customer: the document's title and the section."""
        return f"{self.title}{SECTION_SEPARATOR}{self.section}" if self.section else self.title


@dataclass(frozen=True)
class Document:
    """A document read and split: ``id`` is :func:`document_id` of the file, ``source`` the
    file name, ``sha256`` of the file's bytes (to tell an edited upload from the same one)."""

    id: str
    title: str
    source: str
    url: str
    sha256: str
    passages: tuple[Passage, ...]


class DocumentError(RowErrors):
    """Documents that cannot be used; ``problems`` (also ``errors``) lists every problem,
    each naming its file."""

    subject = "the documents"

    @property
    def problems(self) -> list[RowError]:
        return self.errors


# --- public functions --------------------------------------------------------------------


def read_document(
    path: str | os.PathLike,
    *,
    url: str = "",
    count_tokens: CountTokens | None = None,
    max_tokens: int = MAX_PASSAGE_TOKENS,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_pages: int = MAX_PAGES,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> Document:
    """Reads one document and splits it into passages; raises :class:`DocumentError` (one
    problem) for a file that cannot be used, :class:`Cancelled` when ``cancelled()`` turns
    true (asked once per page or block).

    Args:
        path: a file with one of :data:`SUFFIXES`.
        url: where the document is published, kept in :attr:`Document.url`.
        count_tokens: the size of a text in the serving model's tokens; default
            :func:`count_tokens_estimate`.
        max_tokens: the most tokens in a passage (default 160).
        max_bytes: larger files are refused before they are read (default 50 MiB).
        max_pages: longer PDFs are refused before their text is read (default 2000).
        progress: called with (fraction done 0..1, what is being done).
        cancelled: polled per page or block; true stops the reading.
    """
    path = Path(path)
    watch = Watch(progress, cancelled, path.name)
    try:
        data, title, blocks = _read(path, max_bytes, max_pages, watch)
    except RowErrors as exc:
        raise DocumentError([_as_document_problem(e) for e in exc.errors]) from None
    doc_id = document_id(path)
    passages = split_passages(doc_id, title, blocks, count_tokens, max_tokens, cancelled=cancelled)
    if not passages:
        raise DocumentError.fail(path.name, EMPTY)
    watch(1.0, f"{len(passages)} passages")
    return Document(doc_id, title, path.name, url, hashlib.sha256(data).hexdigest(), passages)


def read_documents(
    paths: Iterable[str | os.PathLike],
    *,
    count_tokens: CountTokens | None = None,
    max_tokens: int = MAX_PASSAGE_TOKENS,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    max_pages: int = MAX_PAGES,
    progress: ProgressFn | None = None,
    cancelled: CancelledFn | None = None,
) -> list[Document]:
    """Reads files and folders, all or nothing: raises one :class:`DocumentError` listing
    every file's problem, so a batch with a bad file adds nothing.

    A folder gives every file with a known suffix in it and below it, sorted by path (other
    files, hidden files and Word's ``~$`` lock files are skipped); a folder without any is a
    problem. A file named twice (directly and inside a folder) is read once. Two files with
    the same :func:`document_id` are a problem naming both. Problems name a file found in a
    folder by its path relative to the folder (its :attr:`Document.source` stays the file
    name). The other arguments are
    :func:`read_document`'s; ``progress`` gets the fraction of the whole batch.
    """
    if isinstance(paths, (str, os.PathLike)):  # one path, not its characters
        paths = [paths]
    files, problems = _expand(paths)
    documents: list[Document] = []
    owner: dict[str, str] = {}
    for i, (file, shown) in enumerate(files):

        def file_progress(fraction: float, message: str, i: int = i, shown: str = shown) -> None:
            if progress is not None:
                progress((i + fraction) / len(files), f"{shown}: {message}")

        try:
            document = read_document(
                file,
                count_tokens=count_tokens,
                max_tokens=max_tokens,
                max_bytes=max_bytes,
                max_pages=max_pages,
                progress=file_progress,
                cancelled=cancelled,
            )
        except DocumentError as exc:
            problems.extend(replace(e, file=shown) for e in exc.errors)
            continue
        if document.id in owner:
            message = (
                f"document id '{document.id}' is also the id of {owner[document.id]}; "
                "ids come from the file names: rename one of the two files"
            )
            problems.append(RowError(shown, 0, "", message))
            continue
        owner[document.id] = shown
        documents.append(document)
    if problems:
        raise DocumentError(problems)
    return documents


def split_passages(
    doc_id: str,
    title: str,
    blocks: Sequence[Block],
    count_tokens: CountTokens | None = None,
    max_tokens: int = MAX_PASSAGE_TOKENS,
    *,
    cancelled: CancelledFn | None = None,
) -> tuple[Passage, ...]:
    """Packs blocks into passages of at most ``max_tokens`` (see the module docstring).

    A heading of level L replaces the path's headings of level L and deeper and starts a new
    passage; a heading without text under it gives none. A passage's anchor is the page of
    its first block (PDF), else the slug of its nearest heading. ``count_tokens`` defaults to
    :func:`count_tokens_estimate`; ``cancelled`` is polled per block.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens!r}")
    count = count_tokens or count_tokens_estimate
    path: list[tuple[int, str]] = []
    parts: list[tuple[str, str]] = []
    passages: list[Passage] = []
    start_page: int | None = None

    def flush() -> None:
        nonlocal parts
        text = _render(parts)
        if text:
            anchor = f"page {start_page}" if start_page is not None else ("#" + _slug(path[-1][1]) if path else "")
            section = SECTION_SEPARATOR.join(h for _, h in path)
            passages.append(Passage(f"{doc_id}#{len(passages) + 1}", doc_id, title, section, anchor, text))
        parts = []

    for block in blocks:
        if cancelled is not None and cancelled():
            raise Cancelled(f"{doc_id}: cancelled while splitting")
        text = block.text.strip()
        if not text:
            continue
        if block.kind == "heading":
            flush()
            level = min(max(block.level, 1), 6)
            path = [h for h in path if h[0] < level] + [(level, one_line(text))]
            continue
        kind = "item" if block.kind == "item" else "paragraph"
        for piece in _cut(kind, text, count, max_tokens):
            if parts and count(_render([*parts, (kind, piece)])) > max_tokens:
                flush()
            if not parts:
                start_page = block.page
            parts.append((kind, piece))
    flush()
    return tuple(passages)


def sentences(text: str) -> list[str]:
    """The sentences of English or Chinese text, punctuation kept, whitespace trimmed.

    Ends: ``.``, ``!``, ``?`` followed by a space and not by a lower-case letter; ``。！？；``
    (closing quotes and brackets stay with their sentence); a line break. Not ends: the dot
    of an abbreviation (``e.g.``, ``Mr.``, ``approx.``), of an initial (``J. Smith``), of a
    number (``2.5``) or of list numbering (``1.`` at the start or after a sentence).
    """
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group("latin") is not None and not _latin_end(text, m):
            continue
        piece = text[start : m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def document_id(path: str | os.PathLike) -> str:
    """The slug of a file's stem: lower case, accents dropped, runs of anything but
    ``[a-z0-9]`` and CJK characters made one ``-`` (``"Returns Policy (2024).pdf"`` ->
    ``"returns-policy-2024"``). A stem with nothing left (another script) gets
    ``document-`` and a hash of the stem, so that it stays stable and distinct."""
    stem = Path(path).stem
    return _slug(stem) or "document-" + hashlib.sha256(stem.encode("utf-8")).hexdigest()[:8]


def count_tokens_estimate(text: str) -> int:
    """A cheap stand-in for a tokenizer: 1.3 per whitespace-separated word of Latin script
    (rounded up) plus one per CJK character. Pass the serving model's tokenizer instead to
    bound passages by what it really reads."""
    cjk = len(CJK_CHAR.findall(text))
    words = len(CJK_CHAR.sub(" ", text).split())
    return math.ceil(words * 1.3) + cjk


# --- reading -----------------------------------------------------------------------------


def _read(path: Path, max_bytes: int, max_pages: int, watch: Watch) -> tuple[bytes, str, list[Block]]:
    suffix = path.suffix.lower()
    binary = suffix in (".pdf", ".docx")
    data = read_bytes(path, SUFFIXES, max_bytes, text=not binary)
    watch(0.0, "reading")
    if suffix == ".pdf":
        title, blocks = read_pdf(data, path, max_pages, watch)
    elif suffix == ".docx":
        title, blocks = read_docx(data, path, watch)
    else:
        text = decode(data, path.name)
        if not text.strip():
            raise RowErrors.fail(path.name, EMPTY)
        if suffix in (".html", ".htm"):
            title, blocks = read_html(text, path, watch)
        else:
            if text.lstrip()[:100].lower().startswith(("<!doctype html", "<html")):
                raise RowErrors.fail(path.name, f"the content is an HTML page; name it {path.stem}.html")
            if suffix == ".txt":
                title, blocks = path.stem, text_blocks(text)
            else:
                title, blocks = read_markdown(text, path.stem, watch)
    if not any(b.kind != "heading" and b.text.strip() for b in blocks):
        raise RowErrors.fail(path.name, EMPTY)
    return data, title, blocks


# --- splitting ---------------------------------------------------------------------------


def _render(parts: Sequence[tuple[str, str]]) -> str:
    """Blocks as passage text: items one per line with "- ", anything else a blank line apart."""
    out = ""
    previous = ""
    for kind, text in parts:
        line = f"- {text}" if kind == "item" else text
        if out:
            out += "\n" if kind == previous == "item" else "\n\n"
        out += line
        previous = kind
    return out


def _cut(kind: str, text: str, count: CountTokens, max_tokens: int) -> list[str]:
    """A block's text in pieces that each fit: whole, else by sentences, else by words, else
    (CJK) by characters; a single word that does not fit stays whole."""

    def fits(piece: str) -> bool:
        return count(_render([(kind, piece)])) <= max_tokens

    if fits(text):
        return [text]
    pieces: list[str] = []
    for sentence in sentences(text):
        if fits(sentence):
            pieces.append(sentence)
            continue
        for word in sentence.split():
            if fits(word) or not CJK_CHAR.search(word):
                pieces.append(word)
            else:
                pieces.extend(_cut_characters(word, fits))
    return _pack(pieces, fits)


def _cut_characters(word: str, fits: Callable[[str], bool]) -> list[str]:
    """The longest prefixes that fit, found by bisection (the tokenizer is called log n times)."""
    out = []
    while word:
        lo, hi = 1, len(word)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(word[:mid]):
                lo = mid
            else:
                hi = mid - 1
        out.append(word[:lo])
        word = word[lo:]
    return out


def _pack(pieces: list[str], fits: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    for piece in pieces:
        joined = _join(out[-1], piece) if out else piece
        if out and fits(joined):
            out[-1] = joined
        else:
            out.append(piece)
    return out


def _join(left: str, right: str) -> str:
    if CJK_CHAR.match(left[-1]) and CJK_CHAR.match(right[0]):
        return left + right
    return f"{left} {right}"


# --- sentences ---------------------------------------------------------------------------

_CLOSERS = "\"'”’)\\]」』）》"
# a boundary is the end of a match: English punctuation before a space (checked further by
# _latin_end), Chinese punctuation, a line break; closing quotes and brackets stay before it
_SENTENCE_END = re.compile(rf"(?P<latin>[.!?]+)[{_CLOSERS}]*(?=\s)|[。！？；]+[{_CLOSERS}]*|\n")
_ABBREVIATIONS = frozenset(
    "e.g i.e mr mrs ms dr prof sr jr st vs approx incl excl no nos fig cf ca dept est etc al ref tel".split()
)


def _latin_end(text: str, m: re.Match) -> bool:
    """Whether an English ``.``/``!``/``?`` followed by a space ends a sentence."""
    after = text[m.end() :].lstrip()
    if after[:1].islower():
        return False
    if m.group("latin") != ".":
        return True
    before = text[: m.start("latin")]
    word = re.search(r"(\S*)$", before).group(1).lstrip("(\"'“‘[")
    if word.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", word):
        return False
    if re.fullmatch(r"\d{1,3}|[a-zA-Z]", word):  # "1." is list numbering at a start or after a sentence
        preceding = before[: len(before) - len(word)].rstrip()
        if not preceding or preceding[-1] in ".!?:;。！？；\n":
            return False
    return True


# --- text helpers ------------------------------------------------------------------------


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = unicodedata.normalize("NFKC", text)
    kept = "".join(c if ("a" <= c <= "z" or "0" <= c <= "9" or CJK_CHAR.match(c)) else "-" for c in text)
    return re.sub(r"-+", "-", kept).strip("-")


def _as_document_problem(error: RowError) -> RowError:
    if error.message == "the file is empty":  # retrieval.uploads' wording for a blank file
        return replace(error, message=EMPTY)
    return error


def _expand(paths: Iterable[str | os.PathLike]) -> tuple[list[tuple[Path, str]], list[RowError]]:
    """(file, name shown in problems) for each document, and the problems of the paths themselves."""
    files: list[tuple[Path, str]] = []
    problems: list[RowError] = []
    seen: set[Path] = set()

    def add(file: Path, shown: str) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            files.append((file, shown))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                (f for f in path.rglob("*") if _is_document(f.relative_to(path))),
                key=lambda f: f.relative_to(path).as_posix(),
            )
            if not found:
                message = f"no documents in this folder; allowed: {', '.join(SUFFIXES)}"
                problems.append(RowError(path.name or str(path), 0, "", message))
            for f in found:
                add(f, f.relative_to(path).as_posix())
        elif not path.exists():
            problems.append(RowError(path.name or str(path), 0, "", "no such file or folder"))
        else:
            add(path, path.name)
    return files, problems


def _is_document(relative: Path) -> bool:
    hidden = any(part.startswith((".", "~$")) for part in relative.parts)
    return not hidden and relative.suffix.lower() in SUFFIXES
