"""Command line: ``python -m finetune train|evaluate``.

Other tools parse this interface: ``train`` prints one JSON object as its last line,
``evaluate`` writes its JSON with ``--json-out``. Keep both stable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from finetune import DataError, IntentClassifier, ModelMismatchError, TrainingArgs, evaluate, load_examples, train


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="YAML, CSV, TSV or JSONL file of labelled examples")
    parser.add_argument("--text-col", default="text", help="column holding the text (default: text)")
    parser.add_argument(
        "--label-col", default="intent", help="column holding the intent (default: intent; else label or category)"
    )


def main(argv: list[str] | None = None) -> int:
    """The ``train`` and ``evaluate`` commands: their argparse declarations and the few lines
    each runs (about 80 lines in all, most of them the options' help texts)."""
    parser = argparse.ArgumentParser(prog="python -m finetune", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    p_train = commands.add_parser("train", help="fine-tune an intent classifier (LoRA) and save it")
    _data_args(p_train)
    p_train.add_argument("--out", default=None, help="folder for the new version (default: runs/intent-<time>)")
    p_train.add_argument("--base-model", default=None, help="local model folder (default: the bundled MiniLM)")
    p_train.add_argument(
        "--base",
        default=None,
        help="a version folder to warm-start from: its adapter and head, new intents added, earlier examples replayed",
    )
    p_train.add_argument("--epochs", type=int, default=TrainingArgs.epochs)
    p_train.add_argument(
        "--min-steps", type=int, default=TrainingArgs.min_steps, help="small data sets train at least this many steps"
    )
    p_train.add_argument("--batch-size", type=int, default=TrainingArgs.batch_size)
    p_train.add_argument("--learning-rate", type=float, default=TrainingArgs.learning_rate)
    p_train.add_argument("--val-fraction", type=float, default=TrainingArgs.val_fraction)
    p_train.add_argument("--seed", type=int, default=TrainingArgs.seed)
    p_train.add_argument(
        "--refit",
        action="store_true",
        help="after choosing the epochs on the validation split, train again on every example (twice the time)",
    )
    p_train.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")

    p_eval = commands.add_parser("evaluate", help="score a saved version on labelled data")
    _data_args(p_eval)
    p_eval.add_argument("--model", required=True, help="a version folder written by train")
    p_eval.add_argument("--json-out", default=None, help="also write the report as JSON here")
    p_eval.add_argument("--threshold", type=float, default=None, help="override the calibrated threshold")
    p_eval.add_argument("--device", default="auto")

    args = parser.parse_args(argv)
    try:
        examples = load_examples(args.data, args.text_col, args.label_col)
        if args.command == "train":
            out = Path(args.out or f"runs/intent-{time.strftime('%Y%m%d-%H%M%S')}")
            training_args = TrainingArgs(
                base_model=args.base_model,
                epochs=args.epochs,
                min_steps=args.min_steps,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                val_fraction=args.val_fraction,
                seed=args.seed,
                device=args.device,
                refit=args.refit,
            )
            classifier = train(examples, training_args, out_dir=out, base=args.base)
            version = classifier.version
            summary = {
                "model_dir": str(out.resolve()),
                "val_accuracy": version.metrics.val_accuracy,
                "logreg_val_accuracy": version.metrics.logreg_val_accuracy,
                "selected": version.selected,  # fine-tuned or logistic regression, and why
                "train_seconds": version.metrics.train_seconds,
                "epochs_run": version.metrics.epochs_run,
                "intents": len(classifier.labels),
                "examples": asdict(version.examples),
                "threshold": classifier.threshold,
                "device": str(classifier.encoder.device),
                "warm_start": version.warm_start,
            }
            print(json.dumps(summary))
        else:
            classifier = IntentClassifier.load(args.model, device=args.device)
            report = evaluate(classifier, examples, threshold=args.threshold)
            print(report.table())
            if args.json_out:
                Path(args.json_out).write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
            print(json.dumps({k: v for k, v in report.to_dict().items() if not isinstance(v, (dict, list))}))
    except (DataError, ModelMismatchError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
