"""Prometheus metrics for one server process, served at /metrics on the server's own port.

Each server has its own registry (tests run several servers in one process). Op labels come
from the op table only, so a client cannot grow the label set by inventing op names.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from protocol.ops import OPS
from server import memory

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
OFF_LOOP_EVERY = 10.0  # seconds between two counts of the bytes on disk, of the C heap
OFF_LOOP_SHARE = 20  # and at least 20 times as long as the last one took (5% of the time)


class OffLoop:
    """A measurement taken in a worker thread, at most every `every` seconds. Counting the
    bytes on disk walks the block folder (a file per large block and per pack), and glibc's
    heap statistics walk every malloc arena with its lock held (milliseconds on a fragmented
    heap): done on the event loop at every scrape (once a second from a dashboard), they
    stalled every connection meanwhile. A walk of a million block files takes seconds, with
    the interpreter's lock held most of it, so the wait grows with what the last one took."""

    def __init__(
        self,
        measure: Callable[[], float],
        *,
        every: float = OFF_LOOP_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._measure = measure
        self._every = every
        self._clock = clock
        self._measured_at: float | None = None
        self._wait = every
        self._measuring: asyncio.Task[tuple[float, float]] | None = None  # scrapes share one
        self.value = 0.0

    async def refresh(self) -> float:
        """Measure again if the last measurement is old enough; the value either way."""
        if self._measured_at is not None and self._clock() - self._measured_at < self._wait:
            return self.value
        if self._measuring is None:
            self._measuring = asyncio.create_task(asyncio.to_thread(self._timed))
        measuring = self._measuring
        try:
            self.value, took = await asyncio.shield(measuring)
            self._measured_at = self._clock()
            self._wait = max(self._every, took * OFF_LOOP_SHARE)
        finally:
            if self._measuring is measuring and measuring.done():
                self._measuring = None
        return self.value

    def _timed(self) -> tuple[float, float]:
        started = self._clock()
        value = self._measure()
        return value, self._clock() - started


class Metrics:
    def __init__(
        self,
        connections: Callable[[], int],
        queued_frames: Callable[[], int],
        stored_paths: Callable[[], list[Path]],
        cached_posts: Callable[[], int],
        indexed_blocks: Callable[[], int] = lambda: 0,
    ) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, CPU, fds
        GCCollector(registry=self.registry)  # python_gc_collections_total by generation
        self.ops = Counter(
            "roost_ops", "Requests answered, by op and outcome (ok or an error code)",
            ["op", "outcome"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "roost_op_seconds", "Time from request decoded to reply ready, by op",
            ["op"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.dropped = Counter(
            "roost_slow_consumers_dropped", "Connections closed for falling too far behind",
            registry=self.registry,
        )  # fmt: skip
        self.started = time.time()
        self.stored = OffLoop(lambda: _bytes(stored_paths()))
        self.heap = OffLoop(memory.malloc_in_use_bytes)
        # one entry per (op, outcome): bounded by the op table and the error codes
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        Gauge("roost_connections", "Open WebSocket connections", registry=self.registry
              ).set_function(connections)  # fmt: skip
        Gauge("roost_send_queue_frames", "Frames queued for sending, all connections",
              registry=self.registry).set_function(queued_frames)  # fmt: skip
        Gauge("roost_stored_bytes",
              "Bytes in the data folder: the SQLite database (with WAL) and blocks, counted at"
              " most every 10 s (a PostgreSQL database is not in it)",
              registry=self.registry).set_function(lambda: self.stored.value)  # fmt: skip
        Gauge("roost_cached_posts", "Posts held in memory (at most roost serve --post-cache)",
              registry=self.registry).set_function(cached_posts)  # fmt: skip
        Gauge("roost_block_index_entries",
              "Small blocks indexed in memory, one per block stored in a pack",
              registry=self.registry).set_function(indexed_blocks)  # fmt: skip
        Gauge("roost_sqlite_memory_bytes",
              "Memory SQLite holds, all connections: page caches (each bounded), statements",
              registry=self.registry).set_function(memory.sqlite_bytes)  # fmt: skip
        Gauge("roost_malloc_in_use_bytes",
              "C heap memory in use, every arena (glibc only), measured at most every 10 s",
              registry=self.registry).set_function(lambda: self.heap.value)  # fmt: skip
        Gauge("roost_python_allocated_blocks", "Memory blocks Python has allocated",
              registry=self.registry).set_function(memory.python_blocks)  # fmt: skip
        Gauge("roost_uptime_seconds", "Seconds since this server started",
              registry=self.registry).set_function(lambda: time.time() - self.started)  # fmt: skip

    def observe_op(self, op: str, outcome: str, seconds: float) -> None:
        # Every request passes here: keep each label set's child (`labels()` takes a lock and
        # builds a key each time, a few µs per op at thousands of ops a second).
        label = op if op in OPS else "unknown"
        children = self._children.get((label, outcome))
        if children is None:
            children = (self.ops.labels(label, outcome), self.latency.labels(label))
            self._children[(label, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)

    async def render(self) -> bytes:
        await asyncio.gather(self.stored.refresh(), self.heap.refresh())
        return generate_latest(self.registry)


def _bytes(paths: list[Path]) -> float:
    """The bytes in these files and folders, walked one entry at a time. (Path.rglob keeps
    every path it has yielded until its walk ends, ~0.6 KiB per file, in Python 3.11: every
    count held the whole block folder's list in memory for a moment, and Python's arenas
    grew to fit the largest such moment, a little more each time the folder had grown.)"""
    total = 0
    folders: list[str] = []
    for path in paths:
        if path.is_dir():
            folders.append(str(path))
        else:
            total += _size(path)
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue  # gone since listed (a temp file)
        except OSError:
            continue  # a folder gone since listed
    return float(total)


def _size(path: Path) -> int:
    """A file's size; 0 for a folder or for a file gone since it was listed (a temp file)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


__all__ = ["CONTENT_TYPE", "Metrics"]
