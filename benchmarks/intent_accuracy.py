"""Intent accuracy on BANKING77: LoRA fine-tuning versus logistic regression on frozen embeddings.

    python benchmarks/intent_accuracy.py [--data ../shared/data/banking77/train.csv]

Splits the file 90/10 stratified by intent (scikit-learn, fixed seed), trains through the same code as
``python -m finetune train`` on the 90%, and scores both models on the held-out 10%.
Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from finetune import TrainingArgs, evaluate, load_examples, train  # noqa: E402
from retrieval import Encoder  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "banking77" / "train.csv"


def logistic_regression_baselines(train_set, test_set, encoder: Encoder, cs=(1.0, 10.0, 100.0)) -> dict[float, float]:
    """Accuracy of logistic regression on frozen embeddings, for a few regularisation strengths."""
    from sklearn.linear_model import LogisticRegression

    x_train = encoder.encode([e.text for e in train_set])
    x_test = encoder.encode([e.text for e in test_set])
    gold = np.array([e.intent for e in test_set])
    accuracies = {}
    for c in cs:
        model = LogisticRegression(C=c, max_iter=3000).fit(x_train, [e.intent for e in train_set])
        accuracies[c] = float(np.mean(model.predict(x_test) == gold))
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="category")
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42, help="random_state of the train/test split")
    parser.add_argument("--epochs", type=int, default=TrainingArgs.epochs)
    parser.add_argument("--args", default="{}", help="extra TrainingArgs as JSON, for experiments")
    args = parser.parse_args()

    from sklearn.model_selection import train_test_split

    examples = load_examples(args.data, args.text_col, args.label_col)
    # the usual stratified split (scikit-learn, random_state=42): comparable with other reports
    train_set, test_set = train_test_split(
        examples, test_size=args.test_fraction, stratify=[e.intent for e in examples], random_state=args.seed
    )
    started = time.perf_counter()
    classifier = train(train_set, TrainingArgs(epochs=args.epochs, **json.loads(args.args)))
    train_minutes = (time.perf_counter() - started) / 60
    report = evaluate(classifier, test_set).to_dict()
    # the classifier's encoder now holds LoRA weights: measure the baseline on a fresh one
    baselines = logistic_regression_baselines(train_set, test_set, Encoder())
    best_c = max(baselines, key=baselines.get)
    result = {
        "benchmark": "intent_accuracy",
        "data": Path(args.data).name,
        "split_seed": args.seed,
        "train_rows": len(train_set),
        "test_rows": len(test_set),
        "intents": len(classifier.labels),
        "lora_accuracy": report["accuracy"],
        "lora_macro_f1": report["macro_f1"],
        "logreg_accuracy": round(baselines[best_c], 4),
        "logreg_best_c": best_c,
        "train_minutes": round(train_minutes, 2),
        "epochs_run": classifier.version.metrics.epochs_run,
        "val_accuracy": classifier.version.metrics.val_accuracy,
        "history": classifier.version.metrics.history,
        "threshold": classifier.threshold,
        "training_args": json.loads(args.args),
        "in_scope_accuracy_at_threshold": report["in_scope_accuracy"],
        "cores": os.cpu_count(),
        "device": str(classifier.encoder.device),
        "machine": platform.machine(),
    }
    print(f"{'model':40} {'accuracy':>9} {'macro-F1':>9}")
    print(f"{'LoRA fine-tuned (ours)':40} {report['accuracy']:9.4f} {report['macro_f1']:9.4f}")
    print(f"{'logistic regression, frozen (C=' + str(best_c) + ')':40} {baselines[best_c]:9.4f} {'':>9}")
    print(f"training: {train_minutes:.2f} min on {os.cpu_count()} cores ({result['device']})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
