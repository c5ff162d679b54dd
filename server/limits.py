"""Rate limiting as plain logic: a token bucket that says how long to wait."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    __slots__ = ("_burst", "_clock", "_last", "_rate", "_tokens")

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def take(self) -> float:
        """Spend one token: 0.0 if allowed, else the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate


class RateLimits:
    """One token bucket per user, shared by all of that user's connections, so opening more
    connections buys no more requests; an anonymous connection gets a bucket of its own."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._by_user: dict[int, TokenBucket] = {}

    def bucket_for(self, user_id: int | None) -> TokenBucket:
        if user_id is None:
            return TokenBucket(self._rate, self._burst, self._clock)
        bucket = self._by_user.get(user_id)
        if bucket is None:
            bucket = self._by_user[user_id] = TokenBucket(self._rate, self._burst, self._clock)
        return bucket
