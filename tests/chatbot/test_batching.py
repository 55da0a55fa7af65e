"""Micro-batching: concurrent callers share batches, a lone caller runs at once, results and
errors reach the right callers, and the bot answers the same under concurrency."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatbot.batching import Batcher


class SlowSquare:
    """A batch function whose cost is mostly per call, like an encoder forward on a CPU."""

    def __init__(self, seconds: float = 0.02):
        self.seconds = seconds
        self.sizes: list[int] = []
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        self.sizes.append(len(items))
        time.sleep(self.seconds)
        with self.lock:
            self.active -= 1
        return [x * x for x in items]


def test_a_lone_caller_runs_at_once_and_alone():
    fn = SlowSquare(0.0)
    batcher = Batcher(fn)
    assert [batcher([i]) for i in range(5)] == [[0], [1], [4], [9], [16]]
    assert fn.sizes == [1, 1, 1, 1, 1]


def test_concurrent_callers_share_batches_and_get_their_own_results():
    fn = SlowSquare(0.02)
    batcher = Batcher(fn, max_items=64)
    start = threading.Barrier(32)

    def call(i: int) -> list[int]:
        start.wait()
        return batcher([i, i + 1000])

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(call, range(32)))
    assert results == [[i * i, (i + 1000) ** 2] for i in range(32)]
    assert sum(fn.sizes) == 64
    assert len(fn.sizes) < 32 / 4, fn.sizes  # far fewer forward passes than calls
    assert fn.most_active == 1  # batches never overlap: the cores are not oversubscribed


def test_lanes_run_that_many_batches_at_once_and_no_more():
    """ONNX Runtime on the CPU: one single-threaded pass per core, side by side."""
    fn = SlowSquare(0.05)
    passes = threading.Semaphore(2)
    batcher = Batcher(fn, max_items=4, lanes=2, device_lock=passes)
    start = threading.Barrier(16)

    def call(i: int) -> list[int]:
        start.wait()
        return batcher([i])

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(16)))
    assert results == [[i * i] for i in range(16)]
    assert fn.most_active == 2  # two lanes busy together, never three
    assert max(fn.sizes) <= 4 and len(fn.sizes) < 16  # still batched, in small batches


def test_batches_respect_the_size_limit():
    fn = SlowSquare(0.01)
    batcher = Batcher(fn, max_items=4)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: batcher([i]), range(40)))
    assert results == [[i * i] for i in range(40)]
    assert max(fn.sizes) <= 4


def test_an_error_reaches_every_caller_of_that_batch_and_the_next_batch_works():
    calls = []

    def fails_on_negative(items: list[int]) -> list[int]:
        calls.append(list(items))
        time.sleep(0.02)
        if any(x < 0 for x in items):
            raise ValueError("negative")
        return items

    batcher = Batcher(fails_on_negative)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(batcher, [-1 if i == 3 else i]) for i in range(8)]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=10))
            except ValueError:
                outcomes.append("error")
    assert outcomes[3] == "error"
    batch_of_3 = next(batch for batch in calls if -1 in batch)
    assert outcomes.count("error") == len(batch_of_3)
    assert batcher([7]) == [7]  # not stuck after a failure


def test_a_wrong_number_of_results_is_an_error_not_a_mix_up():
    batcher = Batcher(lambda items: items[:-1])
    with pytest.raises(RuntimeError, match="2 inputs"):
        batcher([1, 2])


def test_the_bot_answers_the_same_under_concurrency(default_bot):
    questions = [
        "where is my order A-12345?",
        "how much is shipping?",
        "Is the Fjord linen duvet cover machine washable?",
        "I want to return a chair",
        "hello",
        "do you ship to Norway?",
        "blorf zzkx",
        "can I pay with PayPal?",
    ] * 3
    alone = [default_bot.reply(None, q) for q in questions]
    with ThreadPoolExecutor(12) as pool:
        together = list(pool.map(lambda q: default_bot.reply(None, q), questions))
    for a, b in zip(alone, together):
        faq = [s["faq_id"] for s in a.sources], [s["faq_id"] for s in b.sources]
        assert (a.route, a.intent, faq[0]) == (b.route, b.intent, faq[1])  # templates vary their wording
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)
    batcher = default_bot.models.classify_batcher
    assert batcher.batches < batcher.calls  # the concurrent turns did share forward passes


def test_batchers_sharing_a_device_lock_never_run_at_once():
    shared = SlowSquare(0.01)  # counts overlapping calls across both batchers
    lock = threading.Lock()
    first, second = Batcher(shared, device_lock=lock), Batcher(shared, device_lock=lock)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: (first if i % 2 else second)([i]), range(64)))
    assert results == [[i * i] for i in range(64)]
    assert shared.most_active == 1
