"""When the server's garbage collector runs.

A long-running server's heap is mostly long-lived objects (modules, schemas, caches,
sessions), and CPython's default thresholds start a full collection, which scans all of them,
every few seconds under load: under bench/load.py those pauses grew with the heap and tripled
the p99 of every op after a minute. So what exists once the server is up is frozen out of
collection, and young objects are collected less often (`tune`).

With thresholds that high a full collection never came on its own, so the reference cycles
that outlived the young collections were never freed: under bench/load.py, 7 objects for each
`/metrics` scrape (the connection's protocol, transport, reader...), ~420 a minute at one
scrape a second, kept forever. `collect_forever` runs a full collection every 5 minutes: it
scans what was created since start-up, 150-190 ms at 2,000 connections on a shared 2-core
machine, so it is rare on purpose. After it, the C heap's free pages go back to the system
(`storage.content.malloc.trim_malloc`), which nothing else does for the database threads' arenas.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from storage.content.malloc import trim_malloc

log = logging.getLogger("roost.server")

FULL_COLLECTION_SECONDS = 300.0


def tune() -> None:
    """Freeze what exists now (start-up's objects) and collect young objects less often."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)


async def collect_forever(every: float = FULL_COLLECTION_SECONDS) -> None:
    """A full collection every `every` seconds, until cancelled."""
    while True:
        await asyncio.sleep(every)
        started = time.perf_counter()
        freed = gc.collect()
        collected = time.perf_counter()
        trimmed = trim_malloc()
        log.debug(
            "full collection: %d objects freed in %.3fs; malloc trimmed %s in %.3fs",
            freed, collected - started, trimmed, time.perf_counter() - collected,
        )  # fmt: skip
