"""Out-of-scope detection on BANKING77 with whole intents held out: max-softmax versus ours.

    nice -n 10 python benchmarks/oos.py [--data ../shared/data/banking77/train.csv] [--epochs 2]

10 of the 77 intents (fixed seed) are held out of training and treated as out of scope, with
the off-topic sentences of ``benchmarks/data/off_topic.txt``. The other 67 intents are split
80/20 stratified; the 80% train through ``finetune.train`` (the same code as
``python -m finetune train``); the test set is the 20% in scope plus every row of the held-out
intents plus the odd-numbered off-topic sentences. The even-numbered ones play the operator's
out-of-scope examples (rows labelled ``oos`` in the training data) for the detectors that use
them; they are never in the test set.

Beside each detector at its calibrated point: the AUROC of each single score, and its ceiling,
the most out-of-scope recall any threshold reaches at in-scope accuracy >= ``--floor`` when
chosen on the test set itself (an oracle: how far calibration alone could go).

The trained model is cached in ``runs/oos-bench/`` (keyed by the split and the arguments), so
a second run only re-scores. Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from finetune import OUT_OF_SCOPE, Example, IntentClassifier, TrainingArgs, load_examples, train  # noqa: E402
from finetune.oos import calibrate_with_negatives  # noqa: E402

DEFAULT_DATA = PROJECT / ".." / "shared" / "data" / "banking77" / "train.csv"
OFF_TOPIC = PROJECT / "benchmarks" / "data" / "off_topic.txt"
CACHE = PROJECT / "runs" / "oos-bench"


def off_topic_sentences(path: Path = OFF_TOPIC) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def split(examples: list[Example], held_out: int, seed: int, test_fraction: float):
    """(train, test in scope, test out of scope, held-out intent names)."""
    from sklearn.model_selection import train_test_split

    intents = sorted({e.intent for e in examples})
    rng = np.random.default_rng(seed)
    unseen = sorted(rng.choice(intents, size=held_out, replace=False).tolist())
    known = [e for e in examples if e.intent not in unseen]
    train_set, test_in = train_test_split(
        known, test_size=test_fraction, stratify=[e.intent for e in known], random_state=seed
    )
    test_oos = [Example(e.text, OUT_OF_SCOPE) for e in examples if e.intent in unseen]
    return train_set, test_in, test_oos, unseen


def trained_model(train_set: list[Example], args: TrainingArgs, key: str) -> tuple[Path, float | None]:
    """The classifier for this split, trained once and cached; (folder, minutes or None if cached)."""
    folder = CACHE / key
    if (folder / "version.json").is_file():
        return folder, None
    started = time.perf_counter()
    train(train_set, args, out_dir=folder)
    return folder, (time.perf_counter() - started) / 60


def features(classifier: IntentClassifier, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Logits (n, labels) and pooled embeddings before normalisation (n, dim) of ``texts``."""
    import torch

    logits = np.zeros((len(texts), len(classifier.labels)), dtype=np.float32)
    pooled = np.zeros((len(texts), classifier.head.in_features), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            emb = classifier.encoder.embed(classifier.encoder.tokenize([texts[i] for i in index]), normalize=False)
            pooled[index] = emb.float().cpu().numpy()
            logits[index] = classifier.head(emb).float().cpu().numpy()
    return logits, pooled


class Scored:
    """What the detectors read for a group of texts: softmax, top intent, unit embedding and
    the similarity to the nearest training example of the top intent (the current test)."""

    def __init__(self, classifier: IntentClassifier, texts: list[str], stats: dict):
        logits, pooled = features(classifier, texts)
        exp = np.exp(logits - logits.max(1, keepdims=True))
        self.probabilities = exp / exp.sum(1, keepdims=True)
        self.energy = logits.max(1) + np.log(exp.sum(1))  # -energy (Liu et al. 2020): higher = in scope
        self.msp = self.probabilities.max(1)
        self.top = self.probabilities.argmax(1)
        unit = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        sims = unit @ stats["support"].T
        self.similarity = np.where(stats["support_labels"][None, :] == self.top[:, None], sims, -1.0).max(1)
        self.nearest_any = sims.max(1)
        diff = unit[:, None, :] - stats["means"][None]
        distances = np.einsum("ncd,de,nce->nc", diff, stats["precision"], diff)
        self.mahalanobis = -distances.min(1)  # higher = closer to the training distribution
        self.oos_similarity = (unit @ stats["oos"].T).max(1) if len(stats["oos"]) else np.full(len(texts), -1.0)


def support_stats(classifier: IntentClassifier, oos_texts: list[str]) -> dict:
    support = classifier.support.embeddings.float().cpu().numpy()
    labels = classifier.support.labels.cpu().numpy()
    means = np.stack([support[labels == c].mean(0) for c in range(len(classifier.labels))])
    centered = support - means[labels]
    covariance = centered.T @ centered / len(support)
    precision = np.linalg.pinv(covariance + 1e-6 * np.eye(covariance.shape[0]))
    oos = np.zeros((0, support.shape[1]), dtype=np.float32)
    if oos_texts:
        _, pooled = features(classifier, oos_texts)
        oos = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return {"support": support, "support_labels": labels, "means": means, "precision": precision, "oos": oos}


SCORES = ("msp", "energy", "similarity", "nearest_any", "mahalanobis")  # one number a turn: higher = in scope


def aurocs(test_in: Scored, oos_groups: dict[str, Scored]) -> dict[str, float]:
    """Area under the ROC curve of each single score, in-scope test rows against every
    out-of-scope row: threshold-free, so detectors compare apart from their calibration."""
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.ones(len(test_in.msp)), np.zeros(sum(len(g.msp) for g in oos_groups.values()))]
    return {
        name: round(
            float(
                roc_auc_score(truth, np.r_[getattr(test_in, name), *(getattr(g, name) for g in oos_groups.values())])
            ),
            4,
        )
        for name in SCORES
    }


def ceilings(test_in: Scored, gold_in: np.ndarray, oos_groups: dict[str, Scored], floor: float) -> dict:
    """For each single score, the most out-of-scope recall any threshold reaches while in-scope
    accuracy stays at least ``floor``, read off the test set itself: an oracle, not an operating
    point. It says how far calibration alone could move a detector; if the ceiling is under a
    target, no threshold on that score meets it, and only a better score can."""
    correct = test_in.top == gold_in
    found = {}
    for name in SCORES:
        inside = getattr(test_in, name)
        outside = np.concatenate([getattr(g, name) for g in oos_groups.values()])
        best = 0.0
        for threshold in np.unique(inside):  # only thresholds at in-scope values change the accuracy
            if np.mean(correct & (inside >= threshold)) < floor:
                break
            best = max(best, float(np.mean(outside < threshold)))
        found[name] = round(best, 4)
    found["msp+similarity"] = _pair_ceiling(test_in, correct, oos_groups, floor)
    return found


def _pair_ceiling(test_in: Scored, correct: np.ndarray, oos_groups: dict[str, Scored], floor: float) -> float:
    """The ceiling of the product's two-threshold test (softmax and similarity), over a grid of
    100 x 100 thresholds at the in-scope values' quantiles."""
    outside_msp = np.concatenate([g.msp for g in oos_groups.values()])
    outside_sim = np.concatenate([g.similarity for g in oos_groups.values()])
    grid = np.linspace(0.0, 0.5, 100)  # rejecting more than half the in-scope turns never keeps 0.89
    best = 0.0
    for msp in np.quantile(test_in.msp, grid):
        kept = correct & (test_in.msp >= msp)
        for similarity in np.quantile(test_in.similarity, grid):
            if np.mean(kept & (test_in.similarity >= similarity)) < floor:
                break
            best = max(best, float(np.mean((outside_msp < msp) | (outside_sim < similarity))))
    return round(best, 4)


def quantile_floor(values: np.ndarray, keep: float) -> float:
    """The highest threshold that keeps ``keep`` of ``values`` (the calibration rule of train.py)."""
    return float(np.quantile(values, 1.0 - keep, method="lower"))


def detectors(
    classifier: IntentClassifier, val: Scored, val_correct: np.ndarray, target: float, operator: Scored
) -> dict:
    """name -> function(Scored) -> accepted mask, each calibrated on the validation split to keep
    ``target`` of its correctly classified turns (as train.py does)."""
    half = 1.0 - (1.0 - target) / 2
    kept = {name: getattr(val, name)[val_correct] for name in SCORES}
    msp = quantile_floor(kept["msp"], target)
    energy = quantile_floor(kept["energy"], target)
    knn = quantile_floor(kept["nearest_any"], target)
    maha = quantile_floor(kept["mahalanobis"], target)
    msp_half, sim_half, maha_half = (quantile_floor(kept[n], half) for n in ("msp", "similarity", "mahalanobis"))
    margin = val.similarity - val.oos_similarity
    oos_margin = quantile_floor(margin[val_correct], 0.99) if len(val.oos_similarity) else -2.0
    stored = (classifier.threshold, classifier.similarity_threshold)
    steered = calibrate_with_negatives(
        val.msp, val.similarity, val_correct, operator.msp, operator.similarity, target, len(classifier.labels)
    )
    return {
        "max-softmax": lambda s: s.msp >= msp,
        "energy": lambda s: s.energy >= energy,
        "nearest training example (kNN, k=1)": lambda s: s.nearest_any >= knn,
        "current: softmax + similarity": lambda s: (s.msp >= stored[0]) & (s.similarity >= stored[1]),
        "Mahalanobis": lambda s: s.mahalanobis >= maha,
        "softmax + Mahalanobis": lambda s: (s.msp >= msp_half) & (s.mahalanobis >= maha_half),
        "similarity + Mahalanobis": lambda s: (s.similarity >= sim_half) & (s.mahalanobis >= maha_half),
        "current, split by operator oos examples": lambda s: (s.msp >= steered[0]) & (s.similarity >= steered[1]),
        "current + nearer an operator oos example": lambda s: (
            (s.msp >= stored[0]) & (s.similarity >= stored[1]) & (s.similarity - s.oos_similarity >= oos_margin)
        ),
    }


def score(accept, test_in: Scored, gold_in: np.ndarray, oos_groups: dict[str, Scored]) -> dict:
    accepted_in = accept(test_in)
    rejected = {name: ~accept(group) for name, group in oos_groups.items()}
    true_rejections = sum(int(r.sum()) for r in rejected.values())
    all_rejections = true_rejections + int((~accepted_in).sum())
    n_oos = sum(len(r) for r in rejected.values())
    return {
        "in_scope_accuracy": round(float(np.mean(accepted_in & (test_in.top == gold_in))), 4),
        "oos_precision": round(true_rejections / all_rejections, 4) if all_rejections else None,
        "oos_recall": round(true_rejections / n_oos, 4),
        **{f"recall_{name}": round(float(r.mean()), 4) for name, r in rejected.items()},
    }


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--held-out", type=int, default=10, help="intents held out as out of scope")
    parser.add_argument(
        "--per-intent", type=int, default=0, help="at most this many training rows per intent (0 = all)"
    )
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--min-steps", type=int, default=1)
    parser.add_argument("--model", default=None, help="local model folder (default: the bundled MiniLM)")
    parser.add_argument(
        "--floor", type=float, default=0.89, help="in-scope accuracy at which the ceiling of each score is read"
    )
    return parser.parse_args(argv)


def first_per_intent(examples: list[Example], limit: int) -> list[Example]:
    """At most ``limit`` rows of each intent, in order (a smaller training set, for a quicker run)."""
    kept: dict[str, int] = {}
    subset = []
    for example in examples:
        if kept.get(example.intent, 0) < limit:
            kept[example.intent] = kept.get(example.intent, 0) + 1
            subset.append(example)
    return subset


def cached_classifier(options: argparse.Namespace, train_set: list[Example], unseen: list[str]):
    """The classifier trained on ``train_set`` (from the cache when these options ran before),
    its training arguments and the minutes training took (``None``: cached)."""
    training_args = TrainingArgs(base_model=options.model, epochs=options.epochs, min_steps=options.min_steps, seed=42)
    key_data = [unseen, len(train_set), options.per_intent, options.epochs, options.min_steps, options.seed]
    if options.model:  # the default model keeps the cache key of earlier runs
        key_data.append(str(Path(options.model).resolve()))
    key = hashlib.sha256(json.dumps(key_data).encode()).hexdigest()[:12]
    folder, minutes = trained_model(train_set, training_args, key)
    return IntentClassifier.load(folder, device="cpu"), training_args, minutes


def print_table(classifier, train_set, unseen, test_in, test_oos, off_test, top1, results, areas, ceiling, floor):
    print(
        f"BANKING77: {len(classifier.labels)} intents trained ({len(train_set)} rows), {len(unseen)} held out; "
        f"test: {len(test_in)} in scope, {len(test_oos)} held-out-intent rows, {len(off_test)} off-topic; "
        f"top-1 accuracy {top1}"
    )
    print(
        f"\n{'detector':42} {'in-scope acc':>12} {'OOS prec':>9} {'OOS rec':>8} {'rec unseen':>10} {'rec off-topic':>13}"
    )
    for name, m in results.items():
        print(
            f"{name:42} {m['in_scope_accuracy']:>12.4f} {m['oos_precision']:>9.4f} {m['oos_recall']:>8.4f} "
            f"{m['recall_held_out_intents']:>10.4f} {m['recall_off_topic']:>13.4f}"
        )
    print("\nAUROC, in scope vs out of scope, of each single score: " + ", ".join(f"{k} {v}" for k, v in areas.items()))
    print(
        f"Ceiling (oracle threshold on the test set): most OOS recall at in-scope accuracy >= {floor}: "
        + ", ".join(f"{k} {v}" for k, v in ceiling.items())
    )


def main(argv: list[str] | None = None) -> dict:
    args = parse_options(argv)
    examples = load_examples(args.data, "text", "category")
    train_set, test_in, test_oos, unseen = split(examples, args.held_out, args.seed, args.test_fraction)
    if args.per_intent:
        train_set = first_per_intent(train_set, args.per_intent)
    off_topic = off_topic_sentences()
    operator_oos, off_test = off_topic[0::2], off_topic[1::2]
    classifier, training_args, minutes = cached_classifier(args, train_set, unseen)

    # score every group: train()'s own validation split, the operator's and the test's out-of-scope rows
    from finetune import stratified_split

    _, val = stratified_split(train_set, training_args.val_fraction, training_args.seed)
    label = {name: i for i, name in enumerate(classifier.labels)}
    stats = support_stats(classifier, operator_oos)
    val_scored = Scored(classifier, [e.text for e in val], stats)
    operator_scored = Scored(classifier, operator_oos, stats)
    val_correct = val_scored.top == np.array([label[e.intent] for e in val])
    test_scored = Scored(classifier, [e.text for e in test_in], stats)
    gold_in = np.array([label[e.intent] for e in test_in])
    oos_groups = {
        "held_out_intents": Scored(classifier, [e.text for e in test_oos], stats),
        "off_topic": Scored(classifier, off_test, stats),
    }

    target = classifier.version.threshold_calibration.target_recall
    results = {
        name: score(accept, test_scored, gold_in, oos_groups)
        for name, accept in detectors(classifier, val_scored, val_correct, target, operator_scored).items()
    }
    areas = aurocs(test_scored, oos_groups)
    ceiling = ceilings(test_scored, gold_in, oos_groups, args.floor)
    top1 = round(float(np.mean(test_scored.top == gold_in)), 4)
    print_table(classifier, train_set, unseen, test_in, test_oos, off_test, top1, results, areas, ceiling, args.floor)
    summary = {
        "benchmark": "oos",
        "auroc": areas,
        "ceiling": {"in_scope_accuracy_floor": args.floor, "oos_recall": ceiling},
        "held_out_intents": unseen,
        "train_rows": len(train_set),
        "test_in_scope": len(test_in),
        "test_oos": len(test_oos) + len(off_test),
        "top1_accuracy": top1,
        "train_minutes": round(minutes, 2) if minutes is not None else "cached",
        "training_args": {"epochs": args.epochs, "min_steps": args.min_steps, "per_intent": args.per_intent},
        "results": results,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
