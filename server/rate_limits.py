"""Rate limiting as plain logic: a token bucket that says how long to wait."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class TokenBucket:
    __slots__ = ("_burst", "_clock", "_last", "_rate", "_tokens", "holders")

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self.holders = 0  # connections using it (RateLimits)

    def take(self) -> float:
        """Spend one token: 0.0 if allowed, else the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def full(self) -> bool:
        """Refilled to the burst: no different from a new bucket."""
        return self._tokens + (self._clock() - self._last) * self._rate >= self._burst

    def forgettable(self) -> bool:
        """No connection holds it and a new bucket would be no different."""
        return self.holders <= 0 and self.full()


class RateLimits:
    """One token bucket per user, shared by all of that user's connections, so opening more
    connections buys no more requests; an anonymous connection gets a bucket of its own.

    A bucket is forgotten only when no connection holds it and it has refilled to the burst,
    i.e. when a new bucket would be no different: reconnecting never resets anyone's limit,
    and the map holds the users connected lately, not everyone ever seen."""

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
        bucket.holders += 1
        return bucket

    def release(self, user_id: int | None) -> None:
        """A connection that took `bucket_for(user_id)` has ended."""
        if user_id is None:
            return
        bucket = self._by_user.get(user_id)
        if bucket is not None:
            bucket.holders -= 1
            if bucket.forgettable():
                del self._by_user[user_id]

    def sweep(self) -> int:
        """Forget the buckets no connection holds that have refilled since; how many."""
        idle = [u for u, b in self._by_user.items() if b.forgettable()]
        for user_id in idle:
            del self._by_user[user_id]
        return len(idle)

    def __len__(self) -> int:
        return len(self._by_user)


class TakeTokens(Protocol):
    async def __call__(self, user_id: int, want: int) -> tuple[int, float] | None:
        """Up to `want` tokens from the user's shared bucket: (taken, seconds to wait if
        none); None if the shared bucket cannot be asked."""


class SharedRateLimits:
    """A user's bucket shared by every server process (in Redis: server/redis_bus.py),
    taken a few tokens at a time: one round trip to Redis per `lease` ops instead of per op.
    Tokens taken and not spent within `keep` seconds are dropped, so a process holds at most
    `lease` of a user's tokens, and N processes add at most N x `lease` to the burst: never
    N times the rate."""

    def __init__(
        self,
        take: TakeTokens,
        *,
        lease: int = 8,
        keep: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._take = take
        self._lease = lease
        self._keep = keep
        self._clock = clock
        self._prepaid: dict[int, tuple[int, float]] = {}  # user -> (tokens, taken at)

    async def wait_for(self, user_id: int) -> float | None:
        """0.0 if the user may make a request now, else the seconds to wait; None if the
        shared bucket cannot be asked (use the connection's own)."""
        now = self._clock()
        tokens, at = self._prepaid.get(user_id, (0, now))
        if tokens > 0 and now - at <= self._keep:
            self._spend(user_id, tokens, at)
            return 0.0
        answer = await self._take(user_id, self._lease)
        if answer is None:
            return None
        taken, wait = answer
        if taken == 0:
            return wait
        self._spend(user_id, taken, self._clock())
        return 0.0

    def _spend(self, user_id: int, tokens: int, at: float) -> None:
        if tokens > 1:
            self._prepaid[user_id] = (tokens - 1, at)
        else:
            self._prepaid.pop(user_id, None)

    def sweep(self) -> int:
        """Drop tokens held longer than `keep`; how many users'."""
        now = self._clock()
        stale = [u for u, (_, at) in self._prepaid.items() if now - at > self._keep]
        for user_id in stale:
            del self._prepaid[user_id]
        return len(stale)
