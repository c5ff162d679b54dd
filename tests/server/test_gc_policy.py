"""The server's garbage-collection policy: young collections rare, full ones on a timer,
the C heap trimmed after them."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from server import gc_policy
from tests.helpers import PIECE, PIECES, fragment_a_thread_arena, resident_bytes


@pytest.fixture
def tuned() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc_policy.tune()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class Node:
    """Stands for what a finished request can leave: objects that refer to each other (under
    bench/load.py, 7 of them for each /metrics scrape: protocol, transport, reader...)."""

    def __init__(self) -> None:
        self.me = self


async def test_a_cycle_older_than_the_young_collections_is_freed_by_the_timer(tuned: None) -> None:
    node = Node()
    gone = weakref.ref(node)
    gc.collect(1)  # it outlives the young collections: now in the oldest generation
    del node
    gc.collect(1)
    assert gone() is not None, "young collections alone never free it"

    collector = asyncio.create_task(gc_policy.collect_forever(every=0.05))
    await asyncio.sleep(0.3)
    collector.cancel()
    assert gone() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
async def test_the_timer_gives_free_c_heap_memory_back() -> None:
    kept = fragment_a_thread_arena()
    before = resident_bytes()
    collector = asyncio.create_task(gc_policy.collect_forever(every=0.05))
    await asyncio.sleep(0.3)
    collector.cancel()
    assert before - resident_bytes() > PIECES * PIECE // 2
    assert kept
