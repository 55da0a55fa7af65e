"""The BM25 tokenizer: what a row and a query are split into, in English and Chinese."""

from __future__ import annotations

import pytest

from retrieval.lexical import is_code, lexical_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How long does delivery take?", ["long", "delivery", "take"]),
        ("Is HG-4471 in stock?", ["hg-4471", "hg", "4471", "stock"]),
        ("花呗还款", ["花", "呗", "还", "款", "花呗", "呗还", "还款"]),
        # a code glued to Chinese text stays whole, the Chinese around it is still split in characters
        ("订单A-12345到了吗", ["订", "单", "订单", "a-12345", "12345", "到", "了", "吗", "到了", "了吗"]),
        ("我用iPhone下单", ["我", "用", "我用", "iphone", "下", "单", "下单"]),
        ("", []),
    ],
)
def test_lexical_tokens(text, expected):
    assert lexical_tokens(text) == expected


def test_codes_are_the_tokens_with_digits():
    assert [t for t in lexical_tokens("订单A-12345到了吗") if is_code(t)] == ["a-12345", "12345"]
