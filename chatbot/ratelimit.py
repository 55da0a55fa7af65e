"""Rate limits against abuse: a token bucket per key (a client address, a session id).

Each key may make ``burst`` requests at once and then ``per_minute`` a minute on average;
a refused request learns how many seconds to wait (HTTP ``Retry-After``). Buckets live in
memory, one process: behind several replicas each replica limits on its own (see
docs/scaling.md). At most ``max_keys`` buckets are kept, the least recently used dropped
first, so memory stays bounded under many clients.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by any string.

    Args:
        per_minute: sustained requests a minute per key; 0 turns the limiter off.
        burst: requests allowed at once before the rate applies.
        max_keys: buckets kept (the least recently used are dropped first).
        clock: seconds, monotonic; tests pass their own.
    """

    def __init__(
        self,
        per_minute: float,
        burst: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 0 or burst < 1:
            raise ValueError(f"per_minute must be >= 0 and burst >= 1, got {per_minute} and {burst}")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def check(self, key: str) -> float:
        """Takes one request from ``key``'s bucket: 0.0 when allowed, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                wait, tokens = 0.0, tokens - 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        """The ``Retry-After`` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
