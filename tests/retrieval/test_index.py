"""The hybrid index on the real MiniLM: paraphrases, codes, alternatives, persistence, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval import Encoder, FaqEntry, FaqIndex, IndexMismatchError, load_faq
from retrieval.vectors import choose_index_factory
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
    assert sorted(p.name for p in folder.iterdir()) == [
        "faiss_ids.npy",
        "faq.json",
        "index.faiss",
        "meta.json",
        "vectors.npy",
    ]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["embedder"]["dimension"] == 384 and meta["faq_hash"] == index.faq_hash
    assert meta["index_factory"] == "Flat" and meta["index_factory_setting"] == "auto"
    loaded = FaqIndex.load(folder, encoder)
    assert np.array_equal(loaded.vectors, index.vectors) and loaded.vectors.dtype == np.float32
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


def test_a_damaged_meta_file_is_refused_not_a_crash(index, encoder, tmp_path):
    folder = index.save(tmp_path / "index")
    (folder / "meta.json").write_text('{"schema_version": 2, "emb', encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="meta.json is damaged"):
        FaqIndex.load(folder, encoder)


@pytest.mark.parametrize("damaged", ["index.faiss", "vectors.npy", "faq.json", "faiss_ids.npy"])
@pytest.mark.parametrize("how", ["truncated", "one byte flipped", "deleted"])
def test_a_damaged_index_file_is_detected_by_its_checksum(index, encoder, tmp_path, damaged, how):
    folder = index.save(tmp_path / "index")
    path = folder / damaged
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "deleted":
        path.unlink()
    else:
        path.write_bytes(data[:-9] + bytes([data[-9] ^ 0x01]) + data[-8:])
    with pytest.raises(IndexMismatchError, match=f"{damaged} is missing or damaged"):
        FaqIndex.load(folder, encoder)


def test_the_bot_rebuilds_a_damaged_cached_index_at_start_up(encoder, tmp_path):
    from chatbot import Settings
    from chatbot.artifacts import ensure_faq_index

    settings = Settings.load(env={}, data_dir=str(tmp_path / "data"))
    built = ensure_faq_index(settings, encoder, show_progress=False)
    [folder] = (settings.data_path / "faq").glob("index-*")
    vectors = folder / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:1000])  # a disk that filled up mid-write, say
    rebuilt = ensure_faq_index(settings, encoder, show_progress=False)
    assert rebuilt.faq_hash == built.faq_hash
    assert (
        rebuilt.search("how long does delivery take", k=1)[0].faq_id
        == built.search("how long does delivery take", k=1)[0].faq_id
    )
    FaqIndex.load(folder, encoder)  # and the cache on disk is whole again


def test_default_faq_coverage(encoder):
    """The shipped FAQ answers the shipped evaluation questions (an operator's sanity check)."""
    from retrieval.__main__ import evaluate_queries, read_queries

    entries = load_faq(ASSETS / "faq.csv")
    index = FaqIndex.build(entries, encoder)
    result = evaluate_queries(index, read_queries(ASSETS / "faq_eval.csv", {e.id for e in entries}))
    assert result["n"] >= 60
    assert result["hit_at_5"] >= result["hit_at_1"] >= 0.65
    assert result["hit_at_5"] >= 0.9


# -- updates without re-embedding the unchanged rows -----------------------------------------
EDITED = [
    ENTRIES[0],
    FaqEntry(  # answer edited, a phrasing added
        "ret-1",
        "How do I return an item?",
        "Start at the returns portal; returns are free.",
        "returns",
        ("Can I send something back?", "How do I get my money back?"),
    ),
    ENTRIES[2],
    ENTRIES[3],
    ENTRIES[4],
    # gift-1 deleted; a new entry appended
    FaqEntry("acc-1", "How do I delete my account?", "Write to privacy@example.com.", "account"),
]
QUERIES = [
    "when does my package come",
    "I want a refund",
    "HG-2210",
    "do vouchers have an end date",
    "close my account",
]


def same_hits(a: FaqIndex, b: FaqIndex, queries=QUERIES, k=6) -> None:
    """Same entries in the same order with the same matches; cosines equal up to float noise
    (a text embedded in another batch can differ in the 8th digit)."""
    for query in queries:
        left, right = a.search(query, k), b.search(query, k)
        assert [(h.faq_id, h.matched, h.exact, h.lexical, h.fused) for h in left] == [
            (h.faq_id, h.matched, h.exact, h.lexical, h.fused) for h in right
        ], query
        assert [h.score for h in left] == pytest.approx([h.score for h in right], abs=2e-4)


@pytest.fixture
def spy(encoder, monkeypatch):
    """Records every text the encoder embeds."""
    seen: list[str] = []
    encode = encoder.encode

    def recording(texts, *args, **kwargs):
        seen.extend(texts)
        return encode(texts, *args, **kwargs)

    monkeypatch.setattr(encoder, "encode", recording)
    return seen


def test_update_embeds_only_new_texts_and_searches_like_a_rebuild(index, encoder, spy):
    updated = index.updated(EDITED)
    assert spy == [
        "How do I get my money back?",
        "Start at the returns portal; returns are free.",
        *EDITED[-1].phrasings,
        EDITED[-1].answer,
    ]
    assert updated.embedded_rows == len(spy) == 4
    spy.clear()
    rebuilt = FaqIndex.build(EDITED, encoder)
    assert rebuilt.embedded_rows == len(spy) == sum(len(e.phrasings) + 1 for e in EDITED)
    assert [e.id for e in updated.entries] == [e.id for e in rebuilt.entries]
    assert np.allclose(updated.vectors, rebuilt.vectors, atol=1e-6)
    same_hits(updated, rebuilt)
    assert updated.faq_hash == rebuilt.faq_hash
    assert updated.search("how do I get my money back", 1)[0].matched == "How do I get my money back?"


def test_update_leaves_the_serving_index_untouched_and_drops_deleted_entries(index):
    before = [h.to_dict() for h in index.search("do gift cards expire", 6)]
    updated = index.updated(EDITED)
    assert "gift-1" not in {h.faq_id for q in QUERIES + ["do gift cards expire"] for h in updated.search(q, 6)}
    assert len(updated.search("anything", 50)) == len(EDITED)
    assert [h.to_dict() for h in index.search("do gift cards expire", 6)] == before
    assert index.search("do gift cards expire", 1)[0].faq_id == "gift-1"
    with pytest.raises(ValueError, match="empty"):
        index.updated([])


def test_added_and_removed(index, spy):
    new = FaqEntry("gift-1", "Do gift cards expire?", "They never expire.", "gift_cards")
    extra = FaqEntry("acc-1", "How do I delete my account?", "Write to privacy@example.com.", "account")
    added = index.added([new, extra])
    assert [e.id for e in added.entries] == [e.id for e in ENTRIES] + ["acc-1"]  # replaced in place, then appended
    assert spy == ["They never expire.", *extra.phrasings, extra.answer]
    assert added.search("do gift cards expire", 1)[0].answer == "They never expire."
    spy.clear()
    removed = added.removed(["prod-1", "acc-1"])
    assert spy == [] and removed.embedded_rows == 0
    assert [e.id for e in removed.entries] == ["ship-1", "ret-1", "pay-1", "prod-2", "gift-1"]
    assert all(h.faq_id != "prod-1" for h in removed.search("HG-4471", 5))
    with pytest.raises(KeyError, match="nope"):
        added.removed(["nope"])
    with pytest.raises(ValueError, match="duplicate"):
        index.added([new, new])


def test_a_loaded_index_updates_without_re_embedding(index, encoder, tmp_path, spy):
    loaded = FaqIndex.load(index.save(tmp_path / "faq-index"), encoder)
    assert loaded.embedded_rows == 0
    updated = loaded.updated(EDITED)
    assert len(spy) == updated.embedded_rows == 4
    same_hits(updated, index.updated(EDITED))


def test_a_folder_of_another_schema_is_refused_and_rebuilt_at_start_up(encoder, tmp_path):
    """Schema 1 (no vectors.npy, no checksums) was never released: it is refused like any
    other schema, and the bot's start-up rebuilds the cached index instead of failing."""
    from chatbot import Settings
    from chatbot.artifacts import cached_faq_index, faq_index_folder

    settings = Settings.load(env={}, data_dir=str(tmp_path / "data"))
    built = cached_faq_index(settings, ENTRIES, encoder)
    folder = faq_index_folder(settings, ENTRIES, encoder)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "schema_version": 1}))
    with pytest.raises(IndexMismatchError, match="saved with index schema 1, this version reads only 2"):
        FaqIndex.load(folder, encoder)
    del meta["sha256"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexMismatchError, match="meta.json is damaged"):
        FaqIndex.load(folder, encoder)
    rebuilt = cached_faq_index(settings, ENTRIES, encoder)
    assert rebuilt.faq_hash == built.faq_hash
    same_hits(FaqIndex.load(folder, encoder), built)  # and the cache on disk is current again


# -- the index type follows the FAQ size -----------------------------------------------------
def synthetic(n: int, dimension: int = 384, seed: int = 0) -> tuple[list[FaqEntry], np.ndarray]:
    """``n`` entries (question + answer: 2 rows each) and clustered unit vectors for their rows."""
    rng = np.random.default_rng(seed)
    entries = [FaqEntry(f"e-{i}", f"Question {i} about item SKU-{i:05d}?", f"Answer {i}.") for i in range(n)]
    centres = rng.standard_normal((max(1, n // 20), dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), 2 * n)] + 0.6 * rng.standard_normal((2 * n, dimension)).astype(
        np.float32
    )
    return entries, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize(
    "setting, rows_threshold, expected",
    [
        ("auto", 1_000_000, "Flat"),
        (None, 100, "HNSW32,SQ8"),
        ("auto", 100, "HNSW32,SQ8"),
        ("Flat", 100, "Flat"),  # a configured factory string overrides the automatic choice
        ("HNSW16,Flat", 1_000_000, "HNSW16,Flat"),
    ],
)
def test_index_type_by_size_unless_configured(encoder, setting, rows_threshold, expected):
    entries, vectors = synthetic(200)
    built = FaqIndex.build(entries, encoder, setting, vectors=vectors, approximate_from=rows_threshold)
    assert built.index_factory == expected and built.factory_setting == (setting or "auto")
    assert built.exact_index == (expected == "Flat") and built.embedded_rows == 0
    assert choose_index_factory(399, 400) == "Flat" and choose_index_factory(400, 400).startswith("HNSW")


def test_approximate_index_recall_against_exact(encoder):
    entries, vectors = synthetic(2500)
    approximate = FaqIndex.build(entries, encoder, vectors=vectors, approximate_from=1000)
    exact = FaqIndex.build(entries, encoder, "Flat", vectors=vectors)
    assert not approximate.exact_index and exact.exact_index
    queries = vectors[:200] + 0.3 * np.random.default_rng(1).standard_normal((200, vectors.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    recall = []
    for query in queries:
        found, scores = approximate._dense_rows(query, 50)
        truth, true_scores = exact._dense_rows(query, 50)
        recall.append(len(set(found[:10].tolist()) & set(truth[:10].tolist())) / 10)
        assert np.allclose(scores, vectors[found] @ query, atol=1e-6)  # candidates re-scored exactly
    assert np.mean(recall) >= 0.95
    hits = approximate.search_embedded("SKU-00042", queries[0], 3)
    assert hits[0].faq_id == "e-42" and hits[0].exact  # the lexical side works at any size


def test_graph_index_update_appends_and_retires_rows(encoder, tmp_path):
    entries, vectors = synthetic(300)
    approximate = FaqIndex.build(entries, encoder, vectors=vectors, approximate_from=100)
    ntotal = approximate.index.ntotal
    changed = [*entries[1:], FaqEntry("new", "How do I pay by invoice?", "Choose invoice at checkout.")]
    updated = approximate.updated(changed)
    assert approximate.index.ntotal == ntotal and approximate.retired == 0  # serving index untouched
    assert updated.index.ntotal == ntotal + 2 and updated.retired == 2  # e-0's rows retired, new rows appended
    assert all(h.faq_id != "e-0" for h in updated.search_embedded("Question 0 about item SKU-00000?", vectors[0], 10))
    assert updated.search_embedded("x", vectors[0], 1)[0].faq_id != "e-0"
    assert updated.search("how can I pay by invoice", 1)[0].faq_id == "new"
    # the retired rows and ids survive a save and load
    loaded = FaqIndex.load(updated.save(tmp_path / "graph"), encoder)
    assert loaded.retired == 2 and np.array_equal(loaded.faiss_ids, updated.faiss_ids)
    for row in (0, 10, 599):
        assert [h.to_dict() for h in loaded.search_embedded("item", vectors[row], 5)] == [
            h.to_dict() for h in updated.search_embedded("item", vectors[row], 5)
        ]
    # once retired rows pass a quarter of the graph, it is rebuilt from the stored vectors
    rebuilt = updated.updated(changed[200:])
    assert rebuilt.retired == 0 and rebuilt.index.ntotal == 2 * len(changed[200:]) and rebuilt.embedded_rows == 0


def test_a_shared_answer_is_not_appended_again_at_each_update(encoder):
    entries, vectors = synthetic(300)
    shared = "See our returns page."  # the same answer text in 100 entries: 100 rows, one vector
    entries = [FaqEntry(e.id, e.question, shared) if i % 3 == 0 else e for i, e in enumerate(entries)]
    approximate = FaqIndex.build(entries, encoder, vectors=vectors, approximate_from=100)
    ntotal = approximate.index.ntotal
    edited = [FaqEntry("e-1", "Question one, reworded?", "Answer 1.")] + entries[:1] + entries[2:]
    updated = approximate.updated(edited)
    assert updated.embedded_rows == 1 and updated.index.ntotal == ntotal + 1  # only the reworded question
    assert updated.updated(edited).index.ntotal == ntotal + 1  # and an unchanged FAQ appends nothing


def test_lexical_scores_match_bm25s_and_stay_exact_for_the_rows_they_return(index, monkeypatch):
    import bm25s

    import retrieval.index as module
    from retrieval.lexical import lexical_tokens

    reference_index = bm25s.BM25()
    rows_text = [text for e in index.entries for text in module._row_texts(e)]
    reference_index.index([lexical_tokens(t) or ["<empty>"] for t in rows_text], show_progress=False)
    for query in ("HG-4471 duvet washable", "return item item portal", "gift cards", "paypal klarna cards"):
        tokens = [t for t in lexical_tokens(query) if t in index._vocab]
        reference = reference_index.get_scores(tokens)
        rows, scores = index._lexical_rows(tokens, np.zeros(0, np.int64), 50)
        assert rows.tolist() == [r for r in np.argsort(-reference, kind="stable") if reference[r] > 0]
        assert scores.tolist() == pytest.approx(reference[rows].tolist(), rel=1e-5)
        # with every token "frequent", rows come only from the dense candidates, scored in full
        monkeypatch.setattr(module, "LEXICAL_FULL_SCAN_ROWS", 0)
        dense = np.arange(0, len(index.row_entry), 2)
        rows, capped = index._lexical_rows(tokens, dense, 50)
        assert set(rows.tolist()) == {r for r in dense.tolist() if reference[r] > 0}
        assert capped.tolist() == pytest.approx(reference[rows].tolist(), rel=1e-5)
        monkeypatch.undo()


def test_lexical_index_update_equals_a_fresh_one(index):
    from retrieval.lexical import Bm25

    texts = [text for e in EDITED for text in (*e.phrasings, e.answer)]
    known = {text: row for row, text in reversed(list(enumerate(t for e in ENTRIES for t in (*e.phrasings, e.answer))))}
    updated = index.lexical.updated(texts, np.array([known.get(t, -1) for t in texts]))
    fresh = Bm25.from_texts(texts)
    inverse = {i: t for t, i in updated.vocab.items()}
    for token, i in fresh.vocab.items():
        j = updated.vocab[token]
        assert inverse[j] == token
        a, b = slice(fresh.indptr[i], fresh.indptr[i + 1]), slice(updated.indptr[j], updated.indptr[j + 1])
        assert fresh.indices[a].tolist() == updated.indices[b].tolist()
        assert fresh.data[a].tolist() == updated.data[b].tolist()
    assert (
        "expire" in updated.vocab
        and updated.indptr[updated.vocab["expire"] + 1] == updated.indptr[updated.vocab["expire"]]
    )


def test_half_precision_embeddings_match_full_precision(encoder):
    texts = ["where is my parcel", "can I pay with PayPal", "Rückgabe innerhalb von 30 Tagen", "🙂"]
    half = Encoder(precision="float16", device="cpu")  # what precision=auto picks on CUDA
    cosines = (half.encode(texts) * encoder.encode(texts)).sum(1)
    assert cosines.min() > 0.999
    with pytest.raises(ValueError, match="precision='int4'"):
        Encoder(precision="int4")


def test_an_update_repeating_a_shared_text_more_often_maps_every_row_to_its_own_vector(encoder):
    entries, vectors = synthetic(300)
    shared = "See our returns page."
    entries = [FaqEntry(e.id, e.question, shared) if i % 3 == 0 else e for i, e in enumerate(entries)]
    approximate = FaqIndex.build(entries, encoder, vectors=vectors, approximate_from=100)
    one_more = [FaqEntry("extra", "Can I return a gift?", shared), *entries]  # the shared answer, once more
    updated = approximate.updated(one_more)
    stored = np.vstack([updated.index.reconstruct(int(i)) for i in updated.faiss_ids])
    # each row's graph node holds that row's vector (SQ8 keeps it to about 1e-2), so no row is
    # found under another row's id
    assert np.abs(stored - updated.vectors).max() < 0.05
    assert len(set(updated.faiss_ids.tolist())) == len(updated.faiss_ids)
