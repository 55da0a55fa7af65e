"""FAQ-adapted embeddings: real LoRA training on our FAQ, judged by the gate on held-out phrasings."""

from __future__ import annotations

from pathlib import Path

from finetune.embedder import AdaptArgs, adapt_embedder, holdout_phrasings, training_pairs
from retrieval import load_faq

FAQ = Path(__file__).resolve().parents[2] / "assets" / "faq.csv"


def test_held_out_phrasings_are_neither_trained_on_nor_indexed():
    entries = load_faq(FAQ)[:12]
    kept, heldout, answer_only = holdout_phrasings(entries, set(range(0, 12, 2)))
    assert len(heldout) == 6 and [e.id for e in kept] == [e.id for e in entries]
    held = {h.text for h in heldout}
    pairs = training_pairs(kept, AdaptArgs(), answer_only)
    assert held.isdisjoint({p.anchor for p in pairs} | {p.positive for p in pairs})
    assert held.isdisjoint({text for entry in kept for text in entry.phrasings})
    for entry in (e for e in kept if e.id in answer_only):  # found by its answer alone
        assert entry.phrasings == (entry.answer,)


def test_an_adapter_that_loses_to_the_base_embedder_is_not_saved(tmp_path):
    entries = load_faq(FAQ)[:20]
    ruinous = AdaptArgs(learning_rate=0.05, epochs=1, max_steps=4)  # a step this large wrecks the embeddings
    report = adapt_embedder(entries, None, tmp_path / "v1", ruinous)
    assert report.selected == "base" and report.heldout == 20
    assert report.adapted_hit_at_1 < report.base_hit_at_1 and "the base" in report.reason
    assert not (tmp_path / "v1").exists()


def test_an_faq_too_small_to_judge_is_not_adapted(tmp_path):
    report = adapt_embedder(load_faq(FAQ)[:6], None, tmp_path / "v1")
    assert report.selected == "base" and "too few to judge" in report.reason and report.steps == 0
    assert not (tmp_path / "v1").exists()
