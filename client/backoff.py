"""Exponential backoff with full jitter, as plain logic (no sleeping here)."""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        self._base = base
        self._cap = cap
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt: uniform in [0, min(cap, base * 2**n)]."""
        ceiling = min(self._cap, self._base * (2 ** min(self._attempt, 32)))
        self._attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self._attempt = 0
