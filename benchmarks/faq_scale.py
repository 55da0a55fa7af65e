"""FAQ search at 1k to 1M entries: build time, memory, latency per query, recall against exact.

    python benchmarks/faq_scale.py [--sizes 1000,10000,100000,1000000] [--text-max 10000]

Each size is a synthetic home-goods FAQ (product questions with a unique code each, policy
questions; one question and one answer per entry, so rows = 2 x entries). Up to
``--text-max`` entries the rows are embedded with the real encoder. Past that the vectors
are synthetic: a three-level Gaussian mixture whose covariance is that of the real
embeddings (a unit-sphere cloud of random vectors would be far harder than sentence
embeddings are, and would say little). The texts still drive the lexical side. The real
vectors at the largest real size are also searched with the approximate index forced, to
compare its recall on real and on synthetic vectors.

Per size: ``FaqIndex.build`` with the automatic index choice (embedding excluded and
reported apart), the resident-memory growth and the bytes of its parts, the latency of one
``search_embedded`` call (dense + BM25 + fusion, batch of 1, k=5, the query already
embedded) and of the dense FAISS search alone, the exact (Flat) dense search for contrast,
recall@10 of the dense rows the index returns against exact search, and an update of 10
entries. Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import faiss  # noqa: E402
import numpy as np  # noqa: E402
from common import percentile  # noqa: E402  (beside this script)

from retrieval import Encoder, FaqEntry, FaqIndex  # noqa: E402
from retrieval.vectors import APPROXIMATE_FROM_ROWS, choose_index_factory  # noqa: E402

NAMES = (
    "Fjord Nordby Alva Birk Dune Ember Fika Gran Hav Isla Juno Kala Lind Mira Norr Oslo Pine Runa Saga Tova "
    "Ulla Vika Wren Ylva Zola Aster Brisa Cedra Delta Elva Frost Greta Hedda Ingrid Jarl Kiri Luma Moss Nova Odin "
    "Pella Quill Rosa Sten Tilde Una Vera Willa Xena Yara Zeta Alder Bay Cove Dale Eik Fell Glen Holm Ivy Kestrel"
).split()
PRODUCTS = (
    "duvet cover|pillowcase|fitted sheet|bedspread|throw blanket|cushion cover|bath towel|hand towel|bath mat|"
    "shower curtain|table lamp|floor lamp|pendant light|wall shelf|bookcase|side table|coffee table|dining table|"
    "dining chair|armchair|sofa|footstool|wardrobe|chest of drawers|bedside table|mirror|rug|doormat|curtain|"
    "blind|vase|plant pot|candle holder|photo frame|wall clock|storage basket|laundry basket|coat rack|shoe rack|"
    "mug|plate set|bowl|wine glass|cutlery set|frying pan|saucepan|chopping board|tea towel|apron|tablecloth"
).split("|")
ATTRIBUTES = (
    "machine washable|dishwasher safe|suitable for outdoor use|made of solid oak|made of recycled materials|"
    "available in other sizes|safe for children|easy to assemble|covered by the warranty|sold as a set|"
    "suitable for a small room|waterproof|fire retardant|vegan|certified organic|heat resistant|oven safe|"
    "stackable|foldable|delivered fully assembled"
).split("|")
COLOURS = "white|black|grey|sand|sage green|navy blue|terracotta|natural oak|walnut|rust|ochre|dusty pink".split("|")
PRODUCT_QA = (
    ("Is the {name} {product} ({code}) {attribute}?", "Yes, the {name} {product} is {attribute}. See the care label."),
    (
        "Does the {name} {product} {code} come in {colour}?",
        "The {name} {product} comes in {colour} and two other colours; product page {code} lists them all.",
    ),
    (
        "What are the dimensions of the {name} {product} ({code})?",
        "The {name} {product} measures {a} x {b} cm and weighs about {c} kg.",
    ),
    (
        "How do I clean the {name} {product}, item {code}?",
        "Wipe the {name} {product} with a damp cloth; do not use bleach or abrasive cleaners.",
    ),
    (
        "When will the {name} {product} ({code}) be back in stock?",
        "We expect new stock of the {name} {product} within {c} weeks. Sign up on the product page for an alert.",
    ),
    (
        "Can I buy spare parts for the {name} {product} {code}?",
        "Spare parts for the {name} {product} are free within the warranty; contact us with code {code}.",
    ),
)
ACTIONS = (
    "return|exchange|cancel|track|change the address of|pay for|get a refund for|repair|assemble|gift wrap|"
    "split the delivery of|reorder|add an item to|complain about|insure"
).split("|")
OBJECTS = (
    "an order|a furniture order|a sale item|a gift card purchase|a damaged item|a custom-made curtain|"
    "a bundle|an express order|a pre-order|a business order|an order from abroad|a parcel"
).split("|")
CONDITIONS = (
    "|after 30 days|without a receipt|paid with Klarna|paid with PayPal|bought in a store|from the UK|"
    "as a guest|with a discount code|during the sale|before it ships|after delivery|by phone"
).split("|")
POLICY_QUESTIONS = ("How do I {action} {object} {condition}?", "Can I {action} {object} {condition}?")
POLICY_ANSWERS = (
    "You can {action} {object} {condition} from My orders in your account, or ask us in the chat.",
    "Yes, {object} {condition} can be handled: we {action} it within {c} business days of your request.",
    "Unfortunately we cannot {action} {object} {condition}; please contact our support team for options.",
)
POLICY_MAX = 2000  # of the 4,680 distinct policy questions
# the synthetic vectors: (share of the variance, group size) per level; the rest is per-row noise.
# Nested groups of 512 > 16 > 4 rows give nearest-neighbour similarities like the real ones
# (top-1 0.92, top-10 0.80, top-50 0.68 against 0.91, 0.79, 0.67 for embedded FAQ rows).
LEVELS = ((0.5, 512), (0.25, 16), (0.15, 4))


def synthetic_faq(n: int, seed: int = 0) -> list[FaqEntry]:
    """``n`` distinct entries of a home-goods shop FAQ, about 90% product questions with a
    unique code (``HG-000123``), the rest policy questions (action x object x condition)."""
    rng = random.Random(seed)
    entries = []
    seen: set[str] = set()
    policy = 0
    for i in range(n):
        if policy < POLICY_MAX and rng.random() < 0.1:
            while True:
                values = {
                    "action": rng.choice(ACTIONS),
                    "object": rng.choice(OBJECTS),
                    "condition": rng.choice(CONDITIONS),
                    "c": rng.randint(2, 14),
                }
                question = " ".join(rng.choice(POLICY_QUESTIONS).format(**values).split()).replace(" ?", "?")
                if question.casefold() not in seen:
                    break
            policy += 1
            answer = " ".join(rng.choice(POLICY_ANSWERS).format(**values).split())
            category = "policy"
        else:
            values = {
                "name": rng.choice(NAMES),
                "product": rng.choice(PRODUCTS),
                "code": f"HG-{i:06d}",
                "attribute": rng.choice(ATTRIBUTES),
                "colour": rng.choice(COLOURS),
                "a": rng.randint(20, 240),
                "b": rng.randint(20, 240),
                "c": rng.randint(1, 40),
            }
            question, answer = (t.format(**values) for t in rng.choice(PRODUCT_QA))
            category = "products"
        seen.add(question.casefold())
        entries.append(FaqEntry(f"faq-{i}", question, answer, category))
    return entries


def customer_queries(entries: list[FaqEntry], n: int, seed: int = 1) -> list[str]:
    """How customers would ask: an entry's question, reworded a little."""
    rng = random.Random(seed)
    prefixes = ["", "hi, ", "quick question: ", "hello! ", "sorry, "]
    return [rng.choice(prefixes) + rng.choice(entries).question.lower().rstrip("?") for _ in range(n)]


def rows_of(entries: list[FaqEntry]) -> list[str]:
    return [text for e in entries for text in (*e.phrasings, e.answer)]


def embed(encoder: Encoder, texts: list[str]) -> np.ndarray:
    unique = list(dict.fromkeys(texts))
    position = {t: i for i, t in enumerate(unique)}
    vectors = encoder.encode(unique)
    return vectors[[position[t] for t in texts]]


def mixture(real: np.ndarray, n: int, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors from a nested Gaussian mixture (:data:`LEVELS`) with the mean and
    covariance of ``real``."""
    rng = np.random.default_rng(seed)
    mean = real.mean(0).astype(np.float32)
    eigenvalues, basis = np.linalg.eigh(np.cov((real - mean).T))
    to_space = (basis * np.sqrt(np.clip(eigenvalues, 0, None))).T.astype(np.float32)  # z @ to_space ~ N(0, cov)
    dimension = real.shape[1]
    group = rng.permutation(n)  # rows with nearby numbers share groups at every level
    centres = [rng.standard_normal((n // size + 1, dimension), dtype=np.float32) for _, size in LEVELS]
    noise = np.float32(np.sqrt(1 - sum(share for share, _ in LEVELS)))
    out = np.empty((n, dimension), dtype=np.float32)
    for start in range(0, n, chunk):
        g = group[start : start + chunk]
        z = noise * rng.standard_normal((len(g), dimension), dtype=np.float32)
        for (share, size), c in zip(LEVELS, centres):
            z += np.float32(np.sqrt(share)) * c[g // size]
        x = mean + z @ to_space
        out[start : start + len(g)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def faiss_bytes(index: faiss.Index) -> int:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """Ground truth by brute force, and the latency of one exact (Flat) search per query."""
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    truth = flat.search(queries, k)[1]
    times = []
    for query in queries[: max(5, min(100, int(2e7 / len(vectors))))]:
        started = time.perf_counter()
        flat.search(query[None], 50)
        times.append(1000 * (time.perf_counter() - started))
    return truth, times


def recall_at_10(index: FaqIndex, queries: np.ndarray, truth: np.ndarray) -> float:
    found = [index._dense_rows(q, 50)[0][:10] for q in queries]
    return float(np.mean([len(set(f.tolist()) & set(t[:10].tolist())) / 10 for f, t in zip(found, truth)]))


def edit(entries: list[FaqEntry], count: int, seed: int = 2) -> list[FaqEntry]:
    """``count`` entries with a new answer and a reworded question."""
    rng = random.Random(seed)
    changed = list(entries)
    for i in rng.sample(range(len(entries)), count):
        e = entries[i]
        changed[i] = FaqEntry(e.id, e.question.replace("?", " exactly?"), e.answer + " (updated)", e.category)
    return changed


def row_and_query_vectors(
    texts: list[str], query_texts: list[str], real: bool, args, encoder: Encoder, state: dict
) -> tuple[np.ndarray, np.ndarray]:
    """The encoder's vectors of the rows and queries (``real``), else vectors drawn from a
    mixture fitted to 1,000 entries' real vectors (kept in ``state`` across sizes)."""
    if real:
        vectors = embed(encoder, texts)
        queries = encoder.encode(query_texts)
        state["real"] = (vectors, queries)
        return vectors, queries
    if "real" not in state:
        sample = synthetic_faq(1000, seed=7)
        state["real"] = (embed(encoder, rows_of(sample)), encoder.encode(customer_queries(sample, args.queries)))
    drawn = mixture(state["real"][0], len(texts) + args.queries)
    return drawn[: len(texts)], np.ascontiguousarray(drawn[len(texts) :])


def search_times(index: FaqIndex, query_texts: list[str], queries: np.ndarray) -> tuple[list[float], list[float]]:
    """Milliseconds of the product's search and of the dense part alone, per query (after 20
    warm-up queries)."""
    for q_text, q in list(zip(query_texts, queries))[:20]:
        index.search_embedded(q_text, q, 5)
    search_ms, dense_ms = [], []
    for q_text, q in zip(query_texts, queries):
        started = time.perf_counter()
        index.search_embedded(q_text, q, 5)
        search_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        index._dense_rows(q, 50)
        dense_ms.append(1000 * (time.perf_counter() - started))
    return search_ms, dense_ms


def measure(size: int, args, encoder: Encoder, state: dict) -> dict:
    """One FAQ size: vectors, the index's build time and memory, search times, recall@10
    against exact search, and (``--update``) the time of a 10-entry update."""
    gc.collect()
    entries = synthetic_faq(size)
    texts = rows_of(entries)
    query_texts = customer_queries(entries, args.queries)
    real = size <= args.text_max
    started = time.perf_counter()
    vectors, queries = row_and_query_vectors(texts, query_texts, real, args, encoder, state)
    vectors_seconds = time.perf_counter() - started

    truth, exact_ms = exact_top(vectors, queries, 10)
    gc.collect()
    before = rss()
    started = time.perf_counter()
    index = FaqIndex.build(entries, encoder, args.factory, vectors=vectors, approximate_from=args.approximate_from)
    build_seconds = time.perf_counter() - started
    grown = rss() - before
    del vectors  # the index holds its own copy

    search_ms, dense_ms = search_times(index, query_texts, queries)
    recall = recall_at_10(index, queries[: args.recall_queries], truth)

    result = {
        "entries": size,
        "rows": len(texts),
        "vectors": "encoder" if real else "synthetic",
        "index": index.index_factory,
        "vectors_s": round(vectors_seconds, 2),
        "build_s": round(build_seconds, 2),
        "rss_growth_mb": round(grown / 2**20, 1),
        "row_vectors_mb": round(index.vectors.nbytes / 2**20, 1),
        "faiss_mb": round(faiss_bytes(index.index) / 2**20, 1),
        "bm25_mb": round(sum(a.nbytes for a in index._postings) / 2**20, 1),
        "search_median_ms": round(statistics.median(search_ms), 3),
        "search_p95_ms": round(percentile(search_ms, 0.95), 3),
        "dense_median_ms": round(statistics.median(dense_ms), 3),
        "dense_p95_ms": round(percentile(dense_ms, 0.95), 3),
        "exact_dense_median_ms": round(statistics.median(exact_ms), 3),
        "recall_at_10": round(recall, 4),
    }
    if real and size == max(s for s in args.sizes if s <= args.text_max) and index.exact_index:
        # the same real vectors in the approximate index: is the synthetic recall representative?
        forced = FaqIndex.build(entries, encoder, choose_index_factory(1, 0), vectors=index.vectors)
        result["recall_at_10_real_vectors_approximate"] = round(recall_at_10(forced, queries, truth), 4)
        del forced
    if args.update:
        changed = edit(entries, 10)
        started = time.perf_counter()
        updated = index.updated(changed)
        result["update_10_s"] = round(time.perf_counter() - started, 3)
        assert updated.embedded_rows == 20, updated.embedded_rows
        del updated
    del index
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000", help="FAQ entries, comma-separated")
    parser.add_argument("--text-max", type=int, default=10_000, help="largest size embedded from text")
    parser.add_argument("--queries", type=int, default=300, help="queries timed per size")
    parser.add_argument("--recall-queries", type=int, default=300)
    parser.add_argument("--factory", default="auto", help="FAISS factory string, or auto (default)")
    parser.add_argument("--approximate-from", type=int, default=APPROXIMATE_FROM_ROWS, help="rows")
    parser.add_argument("--no-update", dest="update", action="store_false", help="skip the 10-entry update")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]

    encoder = Encoder()
    state: dict = {}
    results = []
    columns = (
        "entries rows vectors index build_s rss_growth_mb faiss_mb search_median_ms search_p95_ms "
        "dense_median_ms exact_dense_median_ms recall_at_10 update_10_s"
    ).split()
    print(" ".join(f"{c:>14}" for c in columns), flush=True)
    for size in args.sizes:
        result = measure(size, args, encoder, state)
        results.append(result)
        print(" ".join(f"{str(result.get(c, '-')):>14}" for c in columns), flush=True)
    summary = {
        "benchmark": "faq_scale",
        "sizes": results,
        "approximate_from_rows": args.approximate_from,
        "factory_setting": args.factory,
        "cores": os.cpu_count(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "device": str(encoder.device),
        "faiss_version": faiss.__version__,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
