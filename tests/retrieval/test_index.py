"""The hybrid index on the real MiniLM: paraphrases, codes, alternatives, persistence, refusals."""

from __future__ import annotations

import json

import pytest

from retrieval import Encoder, FaqEntry, FaqIndex, IndexMismatchError, load_faq
from tests.conftest import ASSETS

ENTRIES = [
    FaqEntry(
        "ship-1", "How long does delivery take?", "2-5 business days.", "shipping", ("When will my parcel arrive?",)
    ),
    FaqEntry(
        "ret-1", "How do I return an item?", "Start at the returns portal.", "returns", ("Can I send something back?",)
    ),
    FaqEntry("pay-1", "Which payment methods do you accept?", "Cards, PayPal and Klarna.", "payments"),
    FaqEntry("prod-1", "Is the Fjord duvet cover (HG-4471) machine washable?", "Yes, at 40 degrees.", "products"),
    FaqEntry("prod-2", "Is the Nordby side table (HG-2210) solid oak?", "Yes, FSC oak.", "products"),
    FaqEntry("gift-1", "Do gift cards expire?", "They are valid for 3 years.", "gift_cards"),
]


@pytest.fixture(scope="module")
def index(encoder):
    return FaqIndex.build(ENTRIES, encoder)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("when does my package come", "ship-1"),
        ("I'd like to send back a lamp", "ret-1"),
        ("can I pay with paypal", "pay-1"),
        ("do vouchers have an end date", "gift-1"),
        ("HG-4471", "prod-1"),  # a bare code: only the lexical ranker can find it
        ("hg-2210 material", "prod-2"),
    ],
)
def test_search_finds_the_right_entry(index, query, expected):
    hits = index.search(query, k=3)
    assert hits[0].faq_id == expected
    order = [(not h.exact, -h.fused) for h in hits]
    assert order == sorted(order)  # exact code matches first, then by fused rank


def test_codes_are_exact_matches_that_dense_search_alone_misses(index, encoder):
    [hit] = index.search("HG-4471", k=1)
    assert hit.exact and hit.lexical > 0
    dense_only = index.index.search(encoder.encode(["HG-4471"]), 1)[1][0][0]
    assert index.entries[index.row_entry[dense_only]].id != "prod-1"  # why the lexical ranker is there


def test_alternative_phrasings_point_at_their_entry(index):
    hit = index.search("When will my parcel arrive?", k=1)[0]
    assert hit.faq_id == "ship-1"
    assert hit.matched == "When will my parcel arrive?"
    assert hit.score > 0.99
    assert len({h.faq_id for h in index.search("delivery", k=6)}) == len(index.search("delivery", k=6))


def test_empty_query_and_k_larger_than_faq(index):
    assert index.search("   ", k=3) == []
    assert len(index.search("anything at all", k=50)) == len(ENTRIES)


def test_save_load_round_trip(index, encoder, tmp_path):
    folder = index.save(tmp_path / "faq-index")
    assert sorted(p.name for p in folder.iterdir()) == ["faq.json", "index.faiss", "meta.json"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["embedder"]["dimension"] == 384 and meta["faq_hash"] == index.faq_hash
    loaded = FaqIndex.load(folder, encoder)
    for query in ("when does my package come", "HG-2210", "gift card expiry"):
        assert [h.to_dict() for h in loaded.search(query)] == [h.to_dict() for h in index.search(query)]
    assert not list(tmp_path.glob(".faq-index*")), "no temporary folder is left behind"


def test_load_refuses_another_embedder(index, tmp_path, other_model_dir):
    folder = index.save(tmp_path / "faq-index")
    with pytest.raises(IndexMismatchError, match="minilm-3-layers"):
        FaqIndex.load(folder, Encoder(other_model_dir))


def test_load_refuses_an_edited_faq(index, encoder, tmp_path):
    folder = index.save(tmp_path / "faq-index")
    records = json.loads((folder / "faq.json").read_text())
    records[0]["answer"] = "changed behind the index's back"
    (folder / "faq.json").write_text(json.dumps(records))
    with pytest.raises(IndexMismatchError, match="does not match"):
        FaqIndex.load(folder, encoder)


def test_default_faq_coverage(encoder):
    """The shipped FAQ answers the shipped evaluation questions (an operator's sanity check)."""
    from retrieval.__main__ import evaluate_queries, read_queries

    entries = load_faq(ASSETS / "faq.csv")
    index = FaqIndex.build(entries, encoder)
    result = evaluate_queries(index, read_queries(ASSETS / "faq_eval.csv", {e.id for e in entries}))
    assert result["n"] >= 60
    assert result["hit_at_5"] >= result["hit_at_1"] >= 0.65
    assert result["hit_at_5"] >= 0.9
