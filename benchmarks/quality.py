"""The project's quality yardstick: FAQ retrieval, document answering and intent classification, ours against a plain baseline.

    nice -n 10 python benchmarks/quality.py [--only faq|docs|intent] [--splits 3] [--model DIR] [--quick]
        [--args JSON] [--chinese] [--no-smp] [--no-adapt] [--sets A,B] [--threads N] [--json-out FILE]

FAQ retrieval (hit@1, hit@5, MRR within the top 10): the product's search (``FaqIndex.build(...,
"Flat")`` and ``index.search``, as ``python -m retrieval evaluate`` runs it) against dense search
alone: the cosine of the query with every row vector of the same index (same encoder, the
answers' rows included), an entry scored by its best row. Then the embedder is adapted to the
FAQ as the console does after an upload (``finetune.embedder.adapt_embedder``, its gate
included, from the FAQ's entries only: no query is trained on) and the product's search is
measured again with the embedder that then serves (``ours, adapted``: the base one where the
gate refused the adapter); the router figures are those of the served embedder.
``--no-adapt`` skips this (minutes per FAQ set). Data sets: ``own`` (assets/faq.csv
and faq_eval.csv), ``covidfaq``, ``banking77-faq`` (BANKING77 turned into an FAQ per split
seed: per intent 1 question + 4 alternatives, the next 20 utterances are queries) and
``own-zh`` (assets/zh: the Chinese bot's FAQ and its paraphrased questions) and ``afqmc-faq``
(Chinese; these two only with ``--model`` or ``--chinese``: the default MiniLM cannot read
Chinese).

Document answering (``--only docs``): an FAQ's answers written out as one long help page (one
paragraph per answer, no questions, no headings), read and split into passages as an imported
document is (``retrieval.documents``), its questions asked of the passages (``PassageIndex``):
hit@1/hit@5/MRR of a passage holding the right answer, against dense search over the passages'
text with the same model, and the share answered at the calibrated threshold with its
precision. Data sets: ``covidfaq-docs``, ``own-docs`` and (Chinese) ``own-zh-docs``.

Intent classification (accuracy and macro-F1 on held-out rows, no out-of-scope threshold):
``finetune.train`` then ``finetune.evaluate``, against logistic regression on the frozen
embeddings of a fresh encoder of the same model, for C in 1, 10, 100, the best C picked on the
test set (an optimistic baseline). Data sets: ``banking77`` (``--splits`` stratified 90/10
splits of train.csv, seeds 0..splits-1; the official test split is not available),
``banking77-few`` (few-shot, the size of an operator's own data: per intent 20 random
utterances to train on and 20 others to test on, a draw per seed 0..splits-1) and
``smp2017`` (Chinese, train.csv -> dev.csv; ``--no-smp`` skips it).

Time on 2 CPU cores: the FAQ part about 3 minutes without adaptation, 15 with; the intent part
trains 3 times on 9k BANKING77 rows, 3 times on 1.5k (few-shot) and once on SMP2017: tens of
minutes. ``--quick``: a minute or two (40 queries per FAQ set, one tiny training on 20 intents
x 15 examples). Beside another job pass ``--threads 1``: torch's default threads can spin
against it (one query's embedding took 0.5 s instead of 20 ms); the figures do not change.

Limits: each query counts one right entry (AFQMC questions that two entries would answer
count as misses on the other); std is the population std over splits (0 with one split);
AFQMC and SMP2017 say little about the default English model. Prints a table, then one JSON
object as the last line (``--json-out`` also writes it). The data sets are read and cut by
``eval_sets.py`` beside this file; the results' dataclasses, their summaries and the tables are
``quality_report.py``'s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from eval_sets import (  # noqa: E402  (beside this script)
    FaqSet,
    IntentSplit,
    afqmc_faq,
    banking77_by_intent,
    banking77_faq,
    banking77_few_splits,
    banking77_quick_split,
    banking77_splits,
    covidfaq,
    own_faq,
    own_zh_faq,
    smp2017_split,
)
from quality_report import (  # noqa: E402
    Adaptation,
    AnswerScores,
    FaqRun,
    IntentRun,
    IntentScores,
    RetrievalScores,
    faq_summary,
    faq_table,
    intent_summary,
    intent_table,
)

from finetune import TrainingArgs, evaluate, train  # noqa: E402
from finetune.embedder import ADAPTER_DIR, AdaptArgs, adapt_embedder  # noqa: E402
from retrieval import Encoder, FaqIndex, default_model_path  # noqa: E402
from retrieval.__main__ import evaluate_queries  # noqa: E402
from retrieval.documents import read_document, sentences  # noqa: E402
from retrieval.passages import PassageIndex, answers  # noqa: E402

DATA_SETS = (
    "own",
    "covidfaq",
    "banking77-faq",
    "own-zh",
    "afqmc-faq",
    "covidfaq-docs",
    "own-docs",
    "own-zh-docs",
    "banking77",
    "banking77-few",
    "smp2017",
)
QUICK_QUERIES = 40  # --quick: queries per FAQ set
QUICK_TRAINING = {"epochs": 1, "min_steps": 5, "max_epochs": 1}  # --quick: under --args
QUICK_ADAPT = {"epochs": 1, "max_steps": 1}  # --quick: the adaptation's code path, not its quality
BASELINE_CS = (1.0, 10.0, 100.0)
TOP = 10  # MRR counts ranks within the top 10, as evaluate_queries does


# -- FAQ retrieval --------------------------------------------------------------------------
def product_scores(index: FaqIndex, queries: list[tuple[str, str]]) -> RetrievalScores:
    result = evaluate_queries(index, queries)
    return RetrievalScores(result["n"], result["hit_at_1"], result["hit_at_5"], result["mrr"])


def dense_ranks(index: FaqIndex, queries: list[tuple[str, str]], batch: int = 512) -> np.ndarray:
    """Rank (1 = best) of each query's expected entry when entries are scored by their best row's
    cosine with the query; ties count in the expected entry's favour."""
    position = {entry.id: i for i, entry in enumerate(index.entries)}
    expected = np.array([position[faq_id] for _, faq_id in queries])
    embedded = index.encoder.encode([text for text, _ in queries])
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), batch):
        rows = embedded[start : start + batch] @ index.vectors.T
        entry_scores = np.maximum.reduceat(rows, index.entry_start[:-1], axis=1)
        target = entry_scores[np.arange(len(rows)), expected[start : start + batch]]
        ranks[start : start + batch] = 1 + (entry_scores > target[:, None]).sum(axis=1)
    return ranks


def rank_scores(ranks: np.ndarray, k: int = 5) -> RetrievalScores:
    """The figures of ``evaluate_queries`` from ranks (MRR counts ranks within the top 10)."""
    reciprocal = np.where(ranks <= TOP, 1.0 / ranks, 0.0)
    return RetrievalScores(
        n=len(ranks),
        hit_at_1=round(float(np.mean(ranks == 1)), 4),
        hit_at_5=round(float(np.mean(ranks <= k)), 4),
        mrr=round(float(reciprocal.mean()), 4),
    )


def answer_scores(index: FaqIndex, queries: list[tuple[str, str]], suggestions: int = 3) -> AnswerScores:
    """The bot's FAQ decision (``Bot._search_faq``) at the thresholds calibrated for this FAQ."""
    thresholds = index.thresholds
    answered = right = suggested_right = 0
    for query, expected in queries:
        hits = index.search(query, k=suggestions + 1)
        if hits and (hits[0].score >= thresholds.answer or hits[0].exact):
            answered += 1
            right += hits[0].faq_id == expected
        else:
            suggested_right += any(h.faq_id == expected and h.score >= thresholds.suggest for h in hits[:suggestions])
    rest = len(queries) - answered
    return AnswerScores(
        answer_threshold=thresholds.answer,
        suggest_threshold=thresholds.suggest,
        answered=round(answered / len(queries), 4),
        answer_precision=round(right / answered, 4) if answered else float("nan"),
        suggested_right=round(suggested_right / rest, 4) if rest else float("nan"),
    )


def adapted_search(
    faq: FaqSet, base: FaqIndex, args: AdaptArgs, queries: list[tuple[str, str]]
) -> tuple[Adaptation, FaqIndex]:
    """Adapts the embedder to ``faq.entries`` as the console does; returns the outcome and the
    index the product then serves (the base one if the gate refused the adapter)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        version = Path(tmp) / "v1"
        report = adapt_embedder(faq.entries, base.encoder.model_dir, version, args)
        served = base
        if report.selected == "adapted":
            served = FaqIndex.build(faq.entries, Encoder(base.encoder.model_dir, adapter=version / ADAPTER_DIR), "Flat")
    minutes = round((time.perf_counter() - started) / 60, 2)
    scores = product_scores(served, queries)
    return Adaptation(report.selected, report.base_hit_at_1, report.adapted_hit_at_1, minutes, scores), served


def run_faq(
    faq: FaqSet, encoder: Encoder, seed: int | None, max_queries: int | None, adapt: AdaptArgs | None
) -> FaqRun:
    index = FaqIndex.build(faq.entries, encoder, "Flat")
    queries = faq.queries[:max_queries] if max_queries else faq.queries
    adaptation, served = adapted_search(faq, index, adapt, queries) if adapt else (None, index)
    dense = rank_scores(dense_ranks(index, queries))
    return FaqRun(seed, product_scores(index, queries), dense, answer_scores(served, queries), adaptation)


# -- document passages ------------------------------------------------------------------------
def help_page(faq: FaqSet, folder: Path) -> Path:
    """The FAQ's answers written out as one long help page (plain text, one paragraph per answer,
    in file order, no questions and no headings): the passages are cut from it as from any
    document, so one passage may hold the end of one answer and the start of the next."""
    path = folder / f"{faq.name}-help.txt"
    path.write_text("\n\n".join(" ".join(e.answer.split()) for e in faq.entries) + "\n", encoding="utf-8")
    return path


def passage_owners(faq: FaqSet, index: PassageIndex) -> dict[str, set[str]]:
    """The passages that hold part of each entry's answer (a sentence of it, or all of a short
    one): a question is answered right when the passage used is one of its entry's."""
    owners: dict[str, set[str]] = {e.id: set() for e in faq.entries}
    texts = {p.id: " ".join(p.text.split()) for d in index.documents for p in d.passages}
    for entry in faq.entries:
        parts = [u for u in sentences(" ".join(entry.answer.split())) if len(u) >= 12] or [entry.answer]
        owners[entry.id] = {pid for pid, text in texts.items() if any(part in text for part in parts)}
    return owners


def run_documents(faq: FaqSet, encoder: Encoder, max_queries: int | None) -> FaqRun:
    """Document answering on ``faq`` turned into a help page: the product's passage search and
    its answers at the calibrated threshold, against dense search over the passages' text."""
    with tempfile.TemporaryDirectory() as tmp:
        document = read_document(help_page(faq, Path(tmp)), count_tokens=encoder.count_tokens)
    index = PassageIndex.build([document], encoder, "Flat")
    owners = passage_owners(faq, index)
    queries = [(q, e) for q, e in (faq.queries[:max_queries] if max_queries else faq.queries) if owners[e]]
    ids = [p.id for p in document.passages]
    vectors = encoder.encode([p.text for p in document.passages])
    embedded = encoder.encode([q for q, _ in queries])
    ours, dense = [], []
    answered = right = suggested_right = 0
    thresholds = index.thresholds
    for (query, expected), vector in zip(queries, embedded):
        good = owners[expected]
        hits = index.search_embedded(query, vector, k=TOP)
        ours.append(next((rank for rank, h in enumerate(hits, 1) if h.passage.id in good), TOP + 1))
        cosines = vectors @ vector
        dense.append(1 + int((cosines > max(cosines[i] for i, pid in enumerate(ids) if pid in good)).sum()))
        if answers(hits, thresholds.answer, thresholds.suggest):
            answered += 1
            right += hits[0].passage.id in good
        else:
            suggested_right += any(h.passage.id in good and h.score >= thresholds.suggest for h in hits[:3])
    rest = len(queries) - answered
    decided = AnswerScores(
        answer_threshold=thresholds.answer,
        suggest_threshold=thresholds.suggest,
        answered=round(answered / len(queries), 4),
        answer_precision=round(right / answered, 4) if answered else float("nan"),
        suggested_right=round(suggested_right / rest, 4) if rest else float("nan"),
    )
    return FaqRun(len(document.passages), rank_scores(np.array(ours)), rank_scores(np.array(dense)), decided, None)


def documents_part(options: Options, skipped: dict[str, str]) -> dict[str, list[FaqRun]]:
    encoder = Encoder(options.model)
    max_queries = QUICK_QUERIES if options.quick else None
    jobs = [(covidfaq, "covidfaq-docs"), (own_faq, "own-docs")]
    if options.chinese:
        jobs.append((own_zh_faq, "own-zh-docs"))
    else:
        skipped["own-zh-docs"] = "Chinese: needs --model DIR or --chinese"
    return {name: [run_documents(load(), encoder, max_queries)] for load, name in jobs if options.wanted(name, skipped)}


# -- intent classification ------------------------------------------------------------------
def logistic_baseline(split: IntentSplit, model: str | None) -> tuple[IntentScores, float]:
    """Logistic regression on frozen embeddings of a fresh encoder; the best C on the test set."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    encoder = Encoder(model)
    x_train = encoder.encode([e.text for e in split.train])
    x_test = encoder.encode([e.text for e in split.test])
    gold = np.array([e.intent for e in split.test])
    best: tuple[IntentScores, float] | None = None
    for c in BASELINE_CS:
        predicted = LogisticRegression(C=c, max_iter=3000).fit(x_train, [e.intent for e in split.train]).predict(x_test)
        scores = IntentScores(
            accuracy=round(float(np.mean(predicted == gold)), 4),
            macro_f1=round(float(f1_score(gold, predicted, labels=sorted(set(gold)), average="macro")), 4),
        )
        if best is None or scores.accuracy > best[0].accuracy:
            best = (scores, c)
    assert best is not None
    return best


def run_intent(split: IntentSplit, training: dict, model: str | None) -> IntentRun:
    started = time.perf_counter()
    classifier = train(split.train, TrainingArgs(**training), show_progress=False)
    minutes = (time.perf_counter() - started) / 60
    report = evaluate(classifier, split.test).to_dict()
    metrics, selected = classifier.version.metrics, classifier.version.selected
    del classifier  # its encoder carries LoRA weights; the baseline loads a fresh one
    baseline, c = logistic_baseline(split, model)
    return IntentRun(
        seed=split.seed,
        train_rows=len(split.train),
        test_rows=len(split.test),
        ours=IntentScores(report["accuracy"], report["macro_f1"]),
        baseline=baseline,
        baseline_c=c,
        train_minutes=round(minutes, 2),
        val_accuracy=metrics.val_accuracy,
        logreg_val_accuracy=metrics.logreg_val_accuracy,
        best_epoch=metrics.best_epoch,
        epochs_run=metrics.epochs_run,
        selected=selected,
    )


# -- the run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    faq: bool
    docs: bool
    intent: bool
    splits: int
    model: str | None
    quick: bool
    chinese: bool
    smp: bool
    adapt: bool
    threads: int  # torch CPU threads; 0 = torch's default
    training: dict  # TrainingArgs fields
    sets: frozenset[str] | None = None  # --sets: only these data sets

    def wanted(self, name: str, skipped: dict[str, str]) -> bool:
        if self.sets is None or name in self.sets:
            return True
        skipped[name] = "not in --sets"
        return False


def faq_part(options: Options, skipped: dict[str, str]) -> dict[str, list[FaqRun]]:
    from tqdm.auto import tqdm

    encoder = Encoder(options.model)
    max_queries = QUICK_QUERIES if options.quick else None
    by_intent = banking77_by_intent()
    jobs = [(own_faq, "own", None), (covidfaq, "covidfaq", None)]
    jobs += [
        (lambda seed=seed: banking77_faq(by_intent, seed), "banking77-faq", seed)
        for seed in range(1 if options.quick else options.splits)
    ]
    if options.chinese:
        jobs += [(own_zh_faq, "own-zh", None), (afqmc_faq, "afqmc-faq", None)]
    else:
        reason = "Chinese: needs --model DIR or --chinese (the default MiniLM cannot read Chinese)"
        skipped["own-zh"] = skipped["afqmc-faq"] = reason
    jobs = [(load, seed) for load, name, seed in jobs if options.wanted(name, skipped)]
    adapt = AdaptArgs(**(QUICK_ADAPT if options.quick else {})) if options.adapt else None
    if adapt is None:
        skipped["adapted"] = "--no-adapt"
    results: dict[str, list[FaqRun]] = {}
    for load, seed in tqdm(jobs, desc="FAQ sets", unit="set", file=sys.stderr):
        faq = load()
        results.setdefault(faq.name, []).append(run_faq(faq, encoder, seed, max_queries, adapt))
    return results


def intent_part(options: Options, skipped: dict[str, str]) -> dict[str, list[IntentRun]]:
    from tqdm.auto import tqdm

    splits = []
    if options.wanted("banking77", skipped):
        splits += [banking77_quick_split()] if options.quick else banking77_splits(options.splits)
    optional = {"banking77-few": lambda: banking77_few_splits(options.splits), "smp2017": lambda: [smp2017_split()]}
    for name, load in optional.items():
        if options.quick or (name == "smp2017" and not options.smp):
            skipped[name] = "--quick" if options.quick else "--no-smp"
        elif options.wanted(name, skipped):
            splits += load()
    results: dict[str, list[IntentRun]] = {}
    for split in tqdm(splits, desc="intent splits", unit="split", file=sys.stderr):
        results.setdefault(split.name, []).append(run_intent(split, options.training, options.model))
    return results


def training_args(quick: bool, model: str | None, extra: str, parser: argparse.ArgumentParser) -> dict:
    """The TrainingArgs fields: --quick's, then the model, then --args (which wins)."""
    try:
        overrides = json.loads(extra)
    except ValueError as exc:
        parser.error(f"--args is not JSON ({exc}): {extra!r}")
    if not isinstance(overrides, dict):
        parser.error(f"--args must be a JSON object, got {extra!r}")
    allowed = {f.name for f in fields(TrainingArgs)}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        parser.error(f"--args: unknown TrainingArgs fields {unknown}; allowed: {sorted(allowed)}")
    merged = dict(QUICK_TRAINING) if quick else {}
    if model:
        merged["base_model"] = model
    merged.update(overrides)
    try:
        TrainingArgs(**merged)  # invalid values fail now, not after the FAQ part
    except ValueError as exc:
        parser.error(f"--args: {exc}")
    return merged


def parse_options(argv: list[str] | None) -> tuple[Options, str | None]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("faq", "docs", "intent"), default=None, help="run one part only")
    parser.add_argument("--splits", type=int, default=3, help="BANKING77 split seeds 0..splits-1 (default 3)")
    parser.add_argument("--model", default=None, help="local model folder (default: the bundled MiniLM)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small subsets, one tiny training")
    parser.add_argument("--args", default="{}", help="JSON merged into TrainingArgs, for experiments")
    parser.add_argument("--chinese", action="store_true", help="run afqmc-faq with the default model too")
    parser.add_argument("--no-smp", action="store_true", help="skip the SMP2017 intent data set")
    parser.add_argument("--no-adapt", action="store_true", help="skip adapting the embedder to each FAQ")
    parser.add_argument(
        "--sets", default=None, help=f"comma-separated data sets to run (default: all of {', '.join(DATA_SETS)})"
    )
    parser.add_argument("--json-out", default=None, help="also write the JSON result to this file")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (default 0: torch's choice); 1 on a shared machine"
    )
    args = parser.parse_args(argv)
    if args.splits < 1:
        parser.error(f"--splits must be at least 1, got {args.splits}")
    if args.threads < 0:
        parser.error(f"--threads must be 0 (torch's choice) or more, got {args.threads}")
    sets = None if args.sets is None else frozenset(s.strip() for s in args.sets.split(",") if s.strip())
    if sets is not None and not sets <= set(DATA_SETS):
        parser.error(f"--sets: unknown {sorted(sets - set(DATA_SETS))}; known: {', '.join(DATA_SETS)}")
    options = Options(
        faq=args.only in (None, "faq"),
        docs=args.only in (None, "docs"),
        intent=args.only in (None, "intent"),
        splits=args.splits,
        model=args.model,
        quick=args.quick,
        chinese=bool(args.model) or args.chinese,
        smp=not args.no_smp,
        adapt=not args.no_adapt,
        threads=args.threads,
        training=training_args(args.quick, args.model, args.args, parser),
        sets=sets,
    )
    return options, args.json_out


def args_only(options: Options) -> str:
    return next(part for part in ("faq", "docs", "intent") if getattr(options, part))


def main(argv: list[str] | None = None) -> dict:
    import torch

    options, json_out = parse_options(argv)
    if options.threads:
        torch.set_num_threads(options.threads)
    started = time.perf_counter()
    skipped: dict[str, str] = {}
    faq_results = faq_part(options, skipped) if options.faq else {}
    doc_results = documents_part(options, skipped) if options.docs else {}
    intent_results = intent_part(options, skipped) if options.intent else {}
    for part in ("faq", "docs", "intent"):
        if not getattr(options, part):
            skipped[part] = f"--only {args_only(options)}"

    lines = []
    if faq_results:
        lines += faq_table(faq_results) + [""]
    if doc_results:
        lines += ["Documents: each FAQ's answers as one help page; right = the passage used holds the answer"]
        lines += faq_table(doc_results) + [""]
    if intent_results:
        lines += intent_table(intent_results) + [""]
    result = {
        "benchmark": "quality",
        "model": Path(options.model).name if options.model else f"{default_model_path().parent.name} (default)",
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "quick": options.quick,
        "training_args": options.training if options.intent else None,
        "faq": {name: faq_summary(runs) for name, runs in faq_results.items()},
        "documents": {name: faq_summary(runs) for name, runs in doc_results.items()},
        "intent": {name: intent_summary(runs) for name, runs in intent_results.items()},
        "skipped": skipped,
        "minutes": round((time.perf_counter() - started) / 60, 2),
    }
    print("\n".join(lines + [f"skipped: {skipped}" if skipped else "skipped: nothing"]))
    line = json.dumps(result, ensure_ascii=False)
    if json_out:
        Path(json_out).write_text(line + "\n", encoding="utf-8")
    print(line)
    return result


if __name__ == "__main__":
    main()
