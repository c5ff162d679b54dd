"""This process's snowflake node id, leased from the database for as long as it runs
(storage/server/node_leases.py), so processes sharing a database never mint the same id."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable

from storage.database import Database, now_ms
from storage.errors import StorageError
from storage.server.node_leases import NodeLeases

log = logging.getLogger("roost.server")

LEASE_MS = 60_000  # a dead process's node id is free again after this
RENEW_EVERY = 10.0  # seconds: several renewals may fail (a database restart) before it lapses


def died_here(holder: str) -> bool:
    """Whether a lease's holder ("host:pid:random") was a process on this machine that is
    gone (killed before it could release the lease, which then lives out its minute)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class NodeLease:
    def __init__(self, db: Database, on_lost: Callable[[], None]) -> None:
        self._leases = NodeLeases(db)
        self._on_lost = on_lost
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.node_id = -1
        self._renewing: asyncio.Task[None] | None = None
        self._failing = False  # renewals failing in a row: warned once, not every 10 s

    async def take(self) -> int:
        self.node_id = await self._leases.take(self.holder, now_ms(), LEASE_MS)
        self._renewing = asyncio.create_task(self._renew_forever())
        log.info("snowflake node id %d leased", self.node_id)
        return self.node_id

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                held = await self._leases.renew(self.node_id, self.holder, now_ms(), LEASE_MS)
            except StorageError as exc:  # the database is away: try again next time
                if not self._failing:
                    log.warning(
                        "could not renew the lease of node id %d (trying every %.0f s): %s",
                        self.node_id, RENEW_EVERY, exc,
                    )  # fmt: skip
                self._failing = True
                continue
            if self._failing and held:
                log.info("renewed the lease of node id %d again", self.node_id)
            self._failing = False
            if not held:
                # Another process holds this node id now: minting more ids could repeat its.
                log.critical("lost the lease of node id %d: stopping", self.node_id)
                self._on_lost()
                return

    async def release(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
            self._renewing = None
        if self.node_id >= 0:
            try:
                await self._leases.release(self.node_id, self.holder)
            except StorageError as exc:  # it expires by itself
                log.warning("could not release node id %d: %s", self.node_id, exc)
