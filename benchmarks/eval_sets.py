"""The evaluation data of ``benchmarks/quality.py``, read from ``../shared/data`` (written by
others, never copied into the project) and the project's own assets.

Each FAQ set is an FAQ and the queries that should find its entries; each intent split is the
rows trained on and the rows tested on. What each set is and how it is cut is said in
quality.py's docstring; the functions here only read and cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from finetune import Example, load_examples
from retrieval import FaqEntry, load_faq
from retrieval.__main__ import read_queries

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / ".." / "shared" / "data"
ASSETS = PROJECT / "assets"
QUICK_INTENTS, QUICK_PER_INTENT = 20, 15  # --quick: the BANKING77 subset trained on
FEW_PER_INTENT = 20  # banking77-few: utterances per intent trained on (and tested on)


@dataclass(frozen=True)
class FaqSet:
    """An FAQ and the queries that should find its entries: (query, expected entry id)."""

    name: str
    entries: list[FaqEntry]
    queries: list[tuple[str, str]]


@dataclass(frozen=True)
class IntentSplit:
    name: str
    seed: int
    train: list[Example]
    test: list[Example]


def own_faq() -> FaqSet:
    entries = load_faq(ASSETS / "faq.csv")
    return FaqSet("own", entries, read_queries(ASSETS / "faq_eval.csv", {e.id for e in entries}))


def own_zh_faq() -> FaqSet:
    entries = load_faq(ASSETS / "zh" / "faq.csv")
    return FaqSet("own-zh", entries, read_queries(ASSETS / "zh" / "faq_eval.csv", {e.id for e in entries}))


def covidfaq() -> FaqSet:
    entries = load_faq(DATA / "covidfaq" / "faq.csv")
    return FaqSet("covidfaq", entries, read_queries(DATA / "covidfaq" / "queries.csv", {e.id for e in entries}))


def banking77_by_intent() -> dict[str, list[str]]:
    """BANKING77 train.csv utterances per intent, intents sorted, rows in file order."""
    by_intent: dict[str, list[str]] = {}
    for example in load_examples(DATA / "banking77" / "train.csv", "text", "category"):
        by_intent.setdefault(example.intent, []).append(example.text)
    return dict(sorted(by_intent.items()))


def banking77_faq(by_intent: dict[str, list[str]], seed: int, alternatives: int = 4, queries: int = 20) -> FaqSet:
    """BANKING77 as an FAQ: each intent's utterances shuffled (``default_rng(seed)``, intents in
    sorted order); the first is the question, the next ``alternatives`` its alternatives, the
    next ``queries`` the queries. Queries are interleaved across intents (every intent's first,
    then every intent's second, ...) so that a prefix of them covers every intent."""
    rng = np.random.default_rng(seed)
    entries, per_intent = [], []
    for intent, texts in by_intent.items():
        shuffled = [texts[i] for i in rng.permutation(len(texts))]
        entries.append(
            FaqEntry(
                id=intent,
                question=shuffled[0],
                answer=intent.replace("_", " "),
                alternatives=tuple(shuffled[1 : 1 + alternatives]),
            )
        )
        per_intent.append([(text, intent) for text in shuffled[1 + alternatives : 1 + alternatives + queries]])
    interleaved = [pair for rank in zip(*per_intent) for pair in rank]
    return FaqSet("banking77-faq", entries, interleaved)


def afqmc_faq() -> FaqSet:
    """AFQMC dev positive pairs: each distinct sentence2 is an entry (question = answer =
    sentence2), the sentence1 of its pairs are its queries."""
    ids: dict[str, str] = {}
    queries = []
    with open(DATA / "afqmc" / "dev.jsonl", encoding="utf-8") as f:
        for line in f:
            pair = json.loads(line)
            if pair["label"] != "1":
                continue
            entry_id = ids.setdefault(pair["sentence2"], f"q{len(ids) + 1}")
            queries.append((pair["sentence1"], entry_id))
    entries = [FaqEntry(id=entry_id, question=text, answer=text) for text, entry_id in ids.items()]
    return FaqSet("afqmc-faq", entries, queries)


def banking77_splits(count: int, test_fraction: float = 0.1) -> list[IntentSplit]:
    from sklearn.model_selection import train_test_split

    examples = load_examples(DATA / "banking77" / "train.csv", "text", "category")
    splits = []
    for seed in range(count):
        train_set, test_set = train_test_split(
            examples, test_size=test_fraction, stratify=[e.intent for e in examples], random_state=seed
        )
        splits.append(IntentSplit("banking77", seed, train_set, test_set))
    return splits


def banking77_few_splits(
    count: int, per_intent: int = FEW_PER_INTENT, test_per_intent: int = FEW_PER_INTENT
) -> list[IntentSplit]:
    """Few-shot BANKING77, the size of data an operator writes (the bundled bots have 20 per
    intent): per intent ``per_intent`` random utterances to train on and ``test_per_intent``
    others to test on, a different draw per seed 0..count-1."""
    by_intent = banking77_by_intent()
    splits = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        train_set, test_set = [], []
        for intent, texts in by_intent.items():
            order = rng.permutation(len(texts))
            train_set += [Example(texts[i], intent) for i in order[:per_intent]]
            test_set += [Example(texts[i], intent) for i in order[per_intent : per_intent + test_per_intent]]
        splits.append(IntentSplit("banking77-few", seed, train_set, test_set))
    return splits


def banking77_quick_split(test_fraction: float = 0.1) -> IntentSplit:
    """The first ``QUICK_PER_INTENT`` rows of each of the first ``QUICK_INTENTS`` intents (sorted)."""
    from sklearn.model_selection import train_test_split

    by_intent = banking77_by_intent()
    examples = [
        Example(text, intent)
        for intent in list(by_intent)[:QUICK_INTENTS]
        for text in by_intent[intent][:QUICK_PER_INTENT]
    ]
    train_set, test_set = train_test_split(
        examples, test_size=test_fraction, stratify=[e.intent for e in examples], random_state=0
    )
    return IntentSplit("banking77", 0, train_set, test_set)


def smp2017_split() -> IntentSplit:
    folder = DATA / "smp2017"
    return IntentSplit("smp2017", 0, load_examples(folder / "train.csv"), load_examples(folder / "dev.csv"))
