"""Latency the dialogue layer adds to a turn: frustration, context and entities, apart from the model.

    nice -n 10 python benchmarks/dialogue_latency.py [--conversations 100] [--data-dir data]

Plays multi-turn conversations through ``Bot.reply`` (the default bot in ``--data-dir``,
trained there on first use): questions, slot answers, follow-ups ("and how long does that
take?"), choices among suggestions ("the second one"), angry and repeated messages. Each
turn's trace splits its time into the model (``classify``, ``faq``) and the rest; the rest is
what the dialogue layer costs (cleaning, choices, follow-ups, entities, frustration, routing,
templates; storing the turn is not counted). The three parts named in issue 5 are also timed
alone on the same turns: ``FrustrationDetector.score`` with the conversation,
``Domain.extract`` and the context functions.

Not counted as the layer's: the second text a follow-up adds to the classifier's batch (model
time that the context layer causes). Prints a table, then
one JSON object as the last line.
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

from common import percentile  # noqa: E402  (beside this script)

from chatbot import Settings, load_bot  # noqa: E402
from chatbot.context import is_follow_up, resolve_choice, with_context  # noqa: E402

OPENERS = [
    "where is my order?",
    "how long does delivery take?",
    "I want to return an item",
    "my payment failed",
    "is the Fjord duvet cover HG-4471 washable?",
    "problem with my thing",
    "can I change my order",
    "what's the weather tomorrow",
]
FOLLOW = [
    "A-12345",
    "it's A-20211, my email is jane@example.com",
    "and how long does that take?",
    "what about returns?",
    "the second one",
    "2",
    "THIS IS RIDICULOUS!!! where is it???",
    "where is my order?",
    "no",
    "yes",
    "thanks",
    "I don't know it",
]


def summary(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values), 4), "p95_ms": round(percentile(values, 0.95), 4)}


def turn_times(bot, conversations: list[list[str]]) -> dict[str, list[float]]:
    """Milliseconds per turn of each part alone (frustration, entities, context), with that
    turn's conversation state, and of the whole reply split into the model (classifier and
    FAQ search) and the dialogue layer (the rest)."""
    layer_ms, model_ms, total_ms = [], [], []
    frustration_ms, entities_ms, context_ms = [], [], []
    for conversation in conversations:
        session = bot.session()
        for text in conversation:
            # the parts alone, with this turn's conversation state (before the turn changes it)
            previous = [t for who, t in session.history if who == "user"]
            started = time.perf_counter()
            bot.frustration.score(text, fallbacks=session.fallbacks, previous=previous)
            frustration_ms.append(1000 * (time.perf_counter() - started))
            started = time.perf_counter()
            bot.domain.extract(text)
            entities_ms.append(1000 * (time.perf_counter() - started))
            started = time.perf_counter()
            resolve_choice(text, session.offers, session.last_choice)
            if session.last_question is not None and is_follow_up(text):
                with_context(session.last_question, text)
            context_ms.append(1000 * (time.perf_counter() - started))

            reply = bot.reply(session, text)
            ms = reply.trace["ms"]
            model = ms.get("classify", 0.0) + ms.get("faq", 0.0)
            total_ms.append(ms["total"])
            model_ms.append(model)
            layer_ms.append(ms["total"] - model)

    return {
        "dialogue_layer": layer_ms,
        "frustration": frustration_ms,
        "entities": entities_ms,
        "context": context_ms,
        "model_and_faq": model_ms,
        "reply_total": total_ms,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--turns", type=int, default=5, help="turns per conversation")
    parser.add_argument("--data-dir", default=str(PROJECT / "data"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    bot = load_bot(Settings.load(data_dir=args.data_dir))
    bot.turn_log.store = None  # time the turn, not the database
    rng = random.Random(args.seed)
    conversations = [
        [rng.choice(OPENERS)] + [rng.choice(FOLLOW) for _ in range(args.turns - 1)] for _ in range(args.conversations)
    ]
    for conversation in conversations[:5]:  # warm up
        session = bot.session()
        for text in conversation:
            bot.reply(session, text)

    times = turn_times(bot, conversations)
    layer_ms, total_ms = times["dialogue_layer"], times["reply_total"]
    result = {
        "benchmark": "dialogue_latency",
        "turns": len(total_ms),
        **{part: summary(values) for part, values in times.items()},
        "layer_share_of_median_turn": round(statistics.median(layer_ms) / statistics.median(total_ms), 4),
        "cores": os.cpu_count(),
        "device": str(bot.classifier.encoder.device),
    }
    print(f"{'part (per turn)':32} {'median ms':>10} {'p95 ms':>10}")
    for key in ("dialogue_layer", "frustration", "entities", "context", "model_and_faq", "reply_total"):
        print(f"{key:32} {result[key]['median_ms']:>10.3f} {result[key]['p95_ms']:>10.3f}")
    print(f"{len(total_ms)} turns in {len(conversations)} conversations")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
