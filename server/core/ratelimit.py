"""A token bucket per API key, in the memory of one server process.

With several server processes each keeps its own buckets, so the effective limit is
the per-process limit times the number of processes behind the load balancer.
"""

from __future__ import annotations

import threading
import time

from horn.server.core.exceptions import RateLimited


class RateLimiter:
    """`rate` requests per second sustained, `burst` at once, per key.

    Args:
        rate: tokens added per second (0 turns the limiter off).
        burst: bucket size.
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for `key`.

        Raises:
            RateLimited: the bucket is empty; `Retry-After` says when one token is back.
        """
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimited(
                    f"Too many requests: this API key may send {self.rate:g} requests per "
                    f"second (bursts of {self.burst:g}); retry in {wait:.1f} s "
                    "(HORN_RATE_LIMIT_PER_SECOND, HORN_RATE_LIMIT_BURST).", wait,
                    {"limit_per_second": self.rate, "burst": self.burst})
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; forgetting only refills buckets
            self._buckets[key] = (tokens - 1.0, now)
