"""Micro-batching: concurrent turns share one encoder forward pass.

On 2 CPU cores sixteen threads each running a forward for one short sentence spend most of
their time fighting over the cores; one forward over sixteen sentences costs little more
than a forward over one. :class:`Batcher` wraps a batch function (``list in, list out``) so
that callers in many threads are served together:

- a caller that finds nothing running runs at once, alone: a lone user waits no longer than
  without batching (no timer, no fixed delay);
- callers that arrive while a batch runs wait, and the first of them then runs all of them
  (up to ``max_items``) as the next batch. The wait is bounded by the batch in front.

With ``lanes`` above 1, that many batches may run at the same time (ONNX Runtime on the CPU:
one single-threaded pass per core beats one pass spread over all cores, for short texts).
There is no background thread: the callers take turns leading. Limits: results must come
back in the order of the inputs, one per input; an exception in the batch function is raised
in every caller of that batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Call:
    __slots__ = ("items", "result", "error", "done", "lead")

    def __init__(self, items: Sequence) -> None:
        self.items = items
        self.result: list | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.lead = False  # set when this waiting caller is to run the next batch


class Batcher(Generic[T, R]):
    """Calls ``fn`` on the inputs of concurrent callers together.

    Args:
        fn: the batch function, e.g. ``classifier.predict`` or ``encoder.encode``.
        max_items: the largest batch (calls are never split: one larger call runs alone).
        owner: what ``fn`` belongs to, so a caller can tell a stale batcher after a model swap.
        device_lock: held while ``fn`` runs; batchers sharing one never run at the same time
            (on a small CPU two multi-threaded forward passes at once only slow each other
            down). A ``threading.Semaphore(n)`` lets n passes run together.
        lanes: batches of this batcher that may run at once (each by its own leader).
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        max_items: int = 64,
        owner: object = None,
        device_lock: threading.Lock | threading.Semaphore | None = None,
        lanes: int = 1,
    ) -> None:
        self.fn = fn
        self.max_items = max_items
        self.owner = owner
        self.device_lock = device_lock
        self.lanes = max(1, lanes)
        self._lock = threading.Lock()
        self._waiting: list[_Call] = []
        self._running = 0  # batches running now, at most ``lanes``
        self.batches = 0  # forward passes run (with ``calls``: the mean batch size, for benchmarks)
        self.calls = 0

    def __call__(self, items: Sequence[T]) -> list[R]:
        call = _Call(items)
        with self._lock:
            self.calls += 1
            if self._running >= self.lanes:
                self._waiting.append(call)
                lead = False
            else:
                self._running += 1
                lead = True
        if not lead:
            call.done.wait()
            if not call.lead:
                return self._result(call)
        self._lead([call] if lead else self._take(call))
        return self._result(call)

    def _take(self, first: _Call) -> list[_Call]:
        """The batch a promoted caller runs: itself and whoever waits, up to ``max_items``."""
        with self._lock:
            batch, size = [first], len(first.items)
            while self._waiting and size + len(self._waiting[0].items) <= self.max_items:
                size += len(self._waiting[0].items)
                batch.append(self._waiting.pop(0))
            return batch

    def _lead(self, batch: list[_Call]) -> None:
        try:
            self._run(batch)
        finally:
            with self._lock:  # hand the lead to the oldest waiting caller, or stop
                if self._waiting:
                    successor = self._waiting.pop(0)
                    successor.lead = True
                    successor.done.set()
                else:
                    self._running -= 1

    def _run(self, batch: list[_Call]) -> None:
        flat = [item for call in batch for item in call.items]
        self.batches += 1
        try:
            if self.device_lock is None:
                results = list(self.fn(flat))
            else:
                with self.device_lock:
                    results = list(self.fn(flat))
            if len(results) != len(flat):
                raise RuntimeError(f"the batch function returned {len(results)} results for {len(flat)} inputs")
        except BaseException as exc:  # every caller of this batch sees it
            for call in batch:
                call.error = exc
        else:
            start = 0
            for call in batch:
                call.result = results[start : start + len(call.items)]
                start += len(call.items)
        for call in batch:
            call.lead = False
            call.done.set()

    @staticmethod
    def _result(call: _Call) -> list:
        if call.error is not None:
            raise call.error
        assert call.result is not None
        return call.result
