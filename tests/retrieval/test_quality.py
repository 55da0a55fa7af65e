"""Search quality against its own plain baseline, and thresholds calibrated per model.

The figures for whole data sets live in ``benchmarks/quality.py``; these are fixed slices,
fast enough for every run, that fail if the hybrid search falls below dense search alone.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from retrieval import Encoder, FaqEntry, FaqIndex, calibrate_faq, load_faq
from retrieval.__main__ import evaluate_queries, read_queries
from tests.conftest import ASSETS, PROJECT

COVIDFAQ = PROJECT / ".." / "shared" / "data" / "covidfaq"


def dense_hit_at_1(index: FaqIndex, encoder: Encoder, queries: list[tuple[str, str]]) -> float:
    """Plain cosine search over the same rows: an entry scores its best row."""
    cosines = encoder.encode([q for q, _ in queries]) @ index.vectors.T
    per_entry = np.maximum.reduceat(cosines, index.entry_start[:-1], axis=1)
    ids = [e.id for e in index.entries]
    return float(np.mean([ids[int(best)] == expected for best, (_, expected) in zip(per_entry.argmax(1), queries)]))


def covidfaq_slice(rows: int = 300) -> tuple[list[FaqEntry], list[tuple[str, str]]]:
    if not (COVIDFAQ / "faq.csv").is_file():
        pytest.skip(f"CovidFAQ is not at {COVIDFAQ} (it lives in ../shared/data beside the project)")
    entries = load_faq(COVIDFAQ / "faq.csv")
    with open(COVIDFAQ / "queries.csv", encoding="utf-8", newline="") as f:
        queries = [(row["query"], row["faq_id"]) for row in csv.DictReader(f)][:rows]
    return entries, queries


def test_hybrid_search_is_at_least_dense_search_on_our_faq(encoder):
    entries = load_faq(ASSETS / "faq.csv")
    queries = read_queries(ASSETS / "faq_eval.csv", {e.id for e in entries})
    index = FaqIndex.build(entries, encoder, "Flat")
    assert evaluate_queries(index, queries)["hit_at_1"] >= dense_hit_at_1(index, encoder, queries)


def test_hybrid_search_is_at_least_dense_search_on_covidfaq(encoder):
    entries, queries = covidfaq_slice()
    index = FaqIndex.build(entries, encoder, "Flat")
    hybrid, dense = evaluate_queries(index, queries)["hit_at_1"], dense_hit_at_1(index, encoder, queries)
    assert hybrid >= dense, (hybrid, dense)


def test_a_topic_word_with_digits_is_not_treated_as_a_product_code(encoder):
    # "covid19" runs through many entries: it must not put the entries naming it first
    entries, _ = covidfaq_slice()
    index = FaqIndex.build(entries, encoder, "Flat")
    hits = index.search("What are the symptoms of covid19?", k=3)
    assert not any(h.exact for h in hits)
    assert "symptom" in hits[0].question.lower()


def test_calibrated_thresholds_follow_the_model(encoder, other_model_dir):
    entries = load_faq(ASSETS / "faq.csv")
    minilm = FaqIndex.build(entries, encoder, "Flat").thresholds
    cut = FaqIndex.build(entries, Encoder(other_model_dir), "Flat").thresholds
    # the 3-layer cut puts unrelated questions far closer together, so it must ask for more
    assert cut.unrelated > minilm.unrelated + 0.2
    assert cut.answer > minilm.answer + 0.1 and cut.suggest > minilm.suggest + 0.1
    for thresholds in (minilm, cut):
        assert thresholds.unrelated < thresholds.suggest <= thresholds.answer < 1
        assert thresholds.answer >= thresholds.unrelated_high


def test_thresholds_are_saved_with_the_index(encoder, tmp_path):
    index = FaqIndex.build(load_faq(ASSETS / "faq.csv"), encoder, "Flat")
    index.save(tmp_path / "faq")
    meta = (tmp_path / "faq" / "meta.json").read_text()
    assert f'"answer": {index.thresholds.answer}' in meta
    assert FaqIndex.load(tmp_path / "faq", encoder).thresholds == index.thresholds


def test_a_single_entry_faq_still_gets_thresholds():
    vectors = np.eye(3, 4, dtype=np.float32)
    thresholds = calibrate_faq(vectors, np.zeros(3, dtype=np.int64))
    assert thresholds.pairs == 0 and thresholds.unrelated == 0.0
    assert 0 < thresholds.suggest < thresholds.answer < 1
