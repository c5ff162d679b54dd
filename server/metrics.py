"""Prometheus metrics for one server process, served at /metrics on the server's own port.

Each server has its own registry (tests run several servers in one process). Op labels come
from the op table only, so a client cannot grow the label set by inventing op names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from protocol.ops import OPS

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(
        self,
        connections: Callable[[], int],
        queued_frames: Callable[[], int],
        stored_paths: Callable[[], list[Path]],
    ) -> None:
        self.registry = CollectorRegistry()
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
        # one entry per (op, outcome): bounded by the op table and the error codes
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        Gauge("roost_connections", "Open WebSocket connections", registry=self.registry
              ).set_function(connections)  # fmt: skip
        Gauge("roost_send_queue_frames", "Frames queued for sending, all connections",
              registry=self.registry).set_function(queued_frames)  # fmt: skip
        Gauge("roost_stored_bytes", "Bytes on disk: database (with WAL) and blocks",
              registry=self.registry).set_function(lambda: _bytes(stored_paths()))  # fmt: skip
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

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _bytes(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return total


__all__ = ["CONTENT_TYPE", "Metrics"]
