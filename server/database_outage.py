"""When the server's database cannot be reached: what ops answer, and one log line when an
outage starts and one when it ends, however many ops it refuses in between.

Nothing here retries an op: a write refused `unavailable` was rolled back (or, if the connection
broke during its COMMIT, may have committed), and the client retries it with the same
idempotency key. The engine reconnects by itself once the database answers again; the probe
below only notices that, to log the end of the outage and clear /healthz's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from protocol.errors import ErrorCode, RoostError
from storage.database import Database
from storage.errors import StorageError, Unavailable

log = logging.getLogger("roost.server")

# What a client is told: nothing about hosts or drivers (the log has those).
MESSAGE = "the server's database is unavailable; try again shortly"
PROBE_SECONDS = 1.0


def refusal() -> RoostError:
    return RoostError(ErrorCode.UNAVAILABLE, MESSAGE)


class DatabaseOutage:
    def __init__(self, db: Database, probe_every: float = PROBE_SECONDS) -> None:
        self._db = db
        self._probe_every = probe_every
        self._since: float | None = None  # monotonic time the current outage was noticed
        self._probe: asyncio.Task[None] | None = None

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def noticed(self, exc: Unavailable) -> None:
        """An op found the database unreachable. The first of an outage logs it and starts
        probing for its end; the rest are counted by /metrics (code `unavailable`) only."""
        if self._since is not None:
            return
        self._since = time.monotonic()
        log.warning("database unavailable, ops answer `unavailable` until it is back: %s", exc)
        self._probe = asyncio.create_task(self._wait_for_the_database())

    async def _wait_for_the_database(self) -> None:
        while True:
            await asyncio.sleep(self._probe_every)
            try:
                async with self._db.reader.execute("SELECT 1") as cur:
                    await cur.fetchone()
            except StorageError:
                continue
            assert self._since is not None
            log.info("database is back after %.1f s; serving again", time.monotonic() - self._since)
            self._since = None
            return

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None
