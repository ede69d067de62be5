"""Rate limits per principal and per address (sign-in, search), kept in this process's memory.

Each server process counts on its own: with N processes a client gets at most N times the limit,
which still stops guessing and scraping; a shared store can replace this module later.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass

SIGN_IN_PER_ADDRESS = (20, 300.0)  # 20 attempts per 5 minutes from one address
SIGN_IN_PER_USERNAME = (10, 300.0)
SEARCH_PER_PRINCIPAL = (120, 60.0)  # 2 searches a second on average, per user or client
SEARCH_PER_ADDRESS = (600, 60.0)  # a WAP gateway or an office NAT carries many people


class TooManyRequests(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many requests; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


@dataclass
class RateLimiter:
    _hits: dict[tuple[str, str], deque[float]]
    enabled: bool

    def __init__(self) -> None:
        self._hits = defaultdict(deque)
        self.enabled = True
        """Benchmarks that replay thousands of lookups from one session turn it off."""

    def hit(self, bucket: str, key: str, limit: tuple[int, float]) -> None:
        """Count one request; raise :class:`TooManyRequests` once ``limit`` is exceeded in its window."""
        if not self.enabled:
            return
        allowed, window = limit
        now = time.monotonic()
        hits = self._hits[(bucket, key)]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= allowed:
            raise TooManyRequests(max(1, math.ceil(hits[0] + window - now)))
        hits.append(now)

    def reset(self) -> None:
        self._hits.clear()


limiter = RateLimiter()
