"""Time-sortable 64-bit snowflake ids: milliseconds since the Roost epoch | node | sequence.

On the wire ids are decimal strings (JSON numbers above 2**53 lose precision in many clients).
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NODE_BITS = 10
SEQUENCE_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class SnowflakeGenerator:
    """Hands out strictly increasing ids for one node; survives the clock stepping back."""

    def __init__(self, node: int = 0, clock: Clock | None = None) -> None:
        if not 0 <= node <= MAX_NODE:
            raise ValueError(f"node must be in 0..{MAX_NODE}")
        self._node = node
        self._clock = clock or _wall_ms
        self._last_ms = 0
        self._sequence = 0

    def next(self) -> int:
        now = max(self._clock(), self._last_ms)  # never go backwards
        if now == self._last_ms:
            self._sequence = (self._sequence + 1) & MAX_SEQUENCE
            if self._sequence == 0:  # 4096 ids in one ms: borrow the next ms
                now += 1
        else:
            self._sequence = 0
        self._last_ms = now
        return (
            ((now - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS))
            | (self._node << SEQUENCE_BITS)
            | self._sequence
        )


def timestamp_ms(snowflake: int) -> int:
    """The wall-clock millisecond an id was made at."""
    return (snowflake >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
