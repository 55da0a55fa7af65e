"""Milliseconds from an edited FAQ to answers that use it: incremental update vs full rebuild.

    python benchmarks/faq_update.py [--entries 5000] [--edits 10] [--rounds 5]

A synthetic FAQ of ``--entries`` entries (benchmarks/faq_scale.py's generator, embedded with
the real encoder) is indexed once. Each round edits ``--edits`` entries (a reworded
question and a new answer each), then times ``FaqIndex.updated`` (embeds only the edited
rows), the swap of the serving reference, and the first search, which must return an edited
entry's new answer. A full rebuild of the same FAQ (``FaqIndex.build``: every row embedded)
is timed once for comparison. Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from faq_scale import synthetic_faq  # noqa: E402

from retrieval import Encoder, FaqEntry, FaqIndex  # noqa: E402


class Serving:
    """What the bot holds: one reference, replaced whole (``Bot.swap_faq`` does the same)."""

    def __init__(self, index: FaqIndex) -> None:
        self.faq = index


def edit(entries: list[FaqEntry], count: int, rng: random.Random, round_number: int) -> tuple[list[FaqEntry], int]:
    changed = list(entries)
    positions = rng.sample(range(len(entries)), count)
    for i in positions:
        e = entries[i]
        question = f"{e.question.rstrip('?')} (revision {round_number})?"
        changed[i] = FaqEntry(e.id, question, f"{e.answer} Revised in round {round_number}.", e.category)
    return changed, positions[0]


class EmbeddingClock:
    """Wraps ``encoder.encode`` to count the milliseconds and texts spent embedding: how much of
    an update is embedding."""

    def __init__(self, encoder: Encoder) -> None:
        self.ms, self.texts = 0.0, 0
        encode = encoder.encode

        def timed_encode(texts, *a, **kw):
            started = time.perf_counter()
            try:
                return encode(texts, *a, **kw)
            finally:
                self.ms += 1000 * (time.perf_counter() - started)
                self.texts += len(texts)

        encoder.encode = timed_encode

    def reset(self) -> None:
        self.ms, self.texts = 0.0, 0


def update_rounds(serving: Serving, clock: EmbeddingClock, edits: int, count: int) -> list[dict]:
    """``count`` rounds of editing ``edits`` entries, updating the index and swapping it in;
    each round checks that an edited entry is then answered with its new answer."""
    rng = random.Random(0)
    rounds = []
    for number in range(1, count + 1):
        changed, probe = edit(serving.faq.entries, edits, rng, number)
        clock.reset()
        started = time.perf_counter()
        new = serving.faq.updated(changed)
        updated_ms = 1000 * (time.perf_counter() - started)
        embed_ms, embedded = clock.ms, clock.texts
        serving.faq = new  # the swap: searches already running finish on the old index
        hit = serving.faq.search(changed[probe].question, 1)[0]
        visible_ms = 1000 * (time.perf_counter() - started)
        assert hit.faq_id == changed[probe].id and hit.answer == changed[probe].answer, hit
        rounds.append(
            {
                "update_ms": round(updated_ms, 1),
                "embed_ms": round(embed_ms, 1),
                "rows_embedded": embedded,
                "until_answered_ms": round(visible_ms, 1),
            }
        )
    return rounds


def print_table(result: dict) -> None:
    print(f"{'round':>6} {'rows embedded':>14} {'embed ms':>10} {'update ms':>10} {'until answered ms':>18}")
    for number, r in enumerate(result["rounds"], 1):
        print(
            f"{number:>6} {r['rows_embedded']:>14} {r['embed_ms']:>10} {r['update_ms']:>10} {r['until_answered_ms']:>18}"
        )
    print(
        f"full rebuild of {result['rows']} rows: {result['full_rebuild_ms']} ms "
        f"({result['speedup']}x the median update)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    encoder = Encoder()
    clock = EmbeddingClock(encoder)
    entries = synthetic_faq(args.entries)
    started = time.perf_counter()
    serving = Serving(FaqIndex.build(entries, encoder))
    first_build_s = time.perf_counter() - started
    rows = len(serving.faq.row_entry)
    serving.faq.search("warm up", 5)
    rounds = update_rounds(serving, clock, args.edits, args.rounds)

    started = time.perf_counter()
    rebuilt = FaqIndex.build(serving.faq.entries, encoder)
    rebuild_ms = 1000 * (time.perf_counter() - started)
    # a rebuild embeds every distinct row text (identical texts once), the update only the edited
    assert rebuilt.embedded_rows == len({t for e in serving.faq.entries for t in (*e.phrasings, e.answer)})

    until = [r["until_answered_ms"] for r in rounds]
    result = {
        "benchmark": "faq_update",
        "entries": args.entries,
        "rows": rows,
        "edits": args.edits,
        "index": serving.faq.index_factory,
        "rounds": rounds,
        "until_answered_median_ms": round(statistics.median(until), 1),
        "until_answered_max_ms": round(max(until), 1),
        "update_median_ms": round(statistics.median(r["update_ms"] for r in rounds), 1),
        "embed_median_ms": round(statistics.median(r["embed_ms"] for r in rounds), 1),
        "full_rebuild_ms": round(rebuild_ms, 1),
        "full_rebuild_rows_embedded": rebuilt.embedded_rows,
        "speedup": round(rebuild_ms / statistics.median(until), 1),
        "first_build_s": round(first_build_s, 2),
        "cores": os.cpu_count(),
        "device": str(encoder.device),
    }
    print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
