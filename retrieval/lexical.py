"""Lexical evidence for FAQ search: the tokenizer and an incremental BM25 index.

``retrieval.index`` fuses these scores with the dense ones (``fuse``) and uses the tokenizer's
codes (``is_code``: order numbers, SKUs) to put first the entries naming them.
"""

from __future__ import annotations

import re

import numpy as np

STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with i me my we our you your do does can could would should how what "
    "when where which who why am have has had please hi hello".split()
)
_WORD = re.compile(r"[^\W_]+(?:[-_./][^\W_]+)*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_CJK_RUN = re.compile(f"({_CJK.pattern}+)")  # split() keeps the runs, between the other text


def lexical_tokens(text: str) -> list[str]:
    """Lower-cased words for BM25: codes like ``hg-4471`` stay whole and also split into parts;
    CJK runs become character unigrams and bigrams (they have no spaces between words), and the
    Latin words and codes between them are words again (``订单a-12345到了吗`` keeps ``a-12345``)."""
    tokens: list[str] = []
    for piece in _CJK_RUN.split(text.casefold()):
        if _CJK.match(piece):
            tokens += list(piece) + [a + b for a, b in zip(piece, piece[1:])]
            continue
        for word in _WORD.findall(piece):
            if word not in STOPWORDS:
                tokens.append(word)
            parts = re.split(r"[-_./]", word)
            if len(parts) > 1:
                tokens += [p for p in parts if p and p not in STOPWORDS]
    return tokens


def is_code(token: str) -> bool:
    """Order numbers, SKUs, model numbers: a token with digits in it, at least 3 long."""
    return len(token) >= 3 and any(c.isdigit() for c in token)


def segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions ``starts[0]..starts[0]+lengths[0]-1``, then the next segment's, and so on."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1] if len(ends) else 0)


class Bm25:
    """Okapi BM25 as Lucene (and ``bm25s``' default) scores it: for a query token in a row,
    ``idf * tf / (tf + k1 * (1 - b + b * length / mean length))`` with
    ``idf = ln(1 + (rows - df + 0.5) / (df + 0.5))``, k1 = 1.5, b = 0.75.

    The rows are kept as token ids (``tokens``, split by ``offsets``), so :meth:`updated`
    tokenizes only rows it has not seen and rebuilds the posting lists with array operations.
    Posting lists are compressed columns: the rows holding token ``t`` are
    ``indices[indptr[t]:indptr[t + 1]]`` (ascending), their scores the same slice of ``data``.
    A row without tokens counts as one ``<empty>`` token. Limits: a token left only in
    deleted rows keeps its id (an empty posting list) until the next full build.
    """

    K1 = 1.5
    B = 0.75

    def __init__(self, vocab: dict[str, int], tokens: np.ndarray, offsets: np.ndarray) -> None:
        self.vocab, self.tokens, self.offsets = vocab, tokens, offsets
        rows = len(offsets) - 1
        lengths = np.diff(offsets)
        keys, tf = np.unique(tokens.astype(np.int64) * rows + np.repeat(np.arange(rows), lengths), return_counts=True)
        token, row = np.divmod(keys, rows)  # sorted by token, then row: compressed columns
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(token, minlength=len(vocab)))])
        df = np.diff(self.indptr)
        idf = np.log1p((rows - df + 0.5) / (df + 0.5))
        norm = self.K1 * (1 - self.B + self.B * lengths[row] / lengths.mean())
        self.data = (idf[token] * tf / (tf + norm)).astype(np.float32)
        self.indices = row.astype(np.int32 if rows < 2**31 else np.int64)

    @staticmethod
    def _ids(text: str, vocab: dict[str, int]) -> list[int]:
        return [vocab.setdefault(t, len(vocab)) for t in lexical_tokens(text) or ["<empty>"]]

    @classmethod
    def from_texts(cls, texts) -> Bm25:
        vocab: dict[str, int] = {}
        ids: list[int] = []
        lengths = [0]
        for text in texts:
            row = cls._ids(text, vocab)
            ids += row
            lengths.append(len(row))
        return cls(vocab, np.asarray(ids, dtype=np.int32), np.cumsum(lengths))

    def updated(self, texts: list[str], source: np.ndarray) -> Bm25:
        """The index of ``texts``; ``source[i] >= 0`` names a row of this index with the same text."""
        vocab = dict(self.vocab)  # this index is left unchanged
        lengths = np.empty(len(texts), dtype=np.int64)
        kept = np.flatnonzero(source >= 0)
        lengths[kept] = np.diff(self.offsets)[source[kept]]
        fresh = {int(i): self._ids(texts[i], vocab) for i in np.flatnonzero(source < 0)}
        for i, ids in fresh.items():
            lengths[i] = len(ids)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        tokens = np.empty(offsets[-1], dtype=np.int32)
        tokens[segments(offsets[kept], lengths[kept])] = self.tokens[
            segments(self.offsets[source[kept]], lengths[kept])
        ]
        for i, ids in fresh.items():
            tokens[offsets[i] : offsets[i + 1]] = ids
        return Bm25(vocab, tokens, offsets)
