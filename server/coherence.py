"""Caches that stay true across server processes (`--bus`).

A write drops what it changed from this process's caches at commit (the `forget_*` methods
of server/social/services.py) and, before its ack, has Redis publish the same invalidation
to every other process, numbered by a shared epoch (server/redis_bus.py). A read that may
use a cache first asks Redis for the epoch and waits until this process has applied every
invalidation up to it: so a read that began after a write's ack, wherever it runs, never
sees what that write changed from memory. One GET serves every read that starts while it is
on its way, and one per op is enough (an op's later reads began after it too).

While Redis cannot be asked, caches are not used at all (reads go to the database), and
invalidations are held and sent when it is back.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

from server import bus_messages as bus

if TYPE_CHECKING:
    from server.redis_bus import RedisBus

CATCH_UP_SECONDS = 1.0  # invalidations still on their way after this: read the database

_checked: ContextVar[bool] = ContextVar("roost_cache_checked", default=False)


def op_started() -> None:
    """A new op begins in this task: its first cached read checks the epoch again."""
    _checked.set(False)


class Coherence(Protocol):
    async def fresh(self) -> bool:
        """Whether this op may read from the caches."""

    def forgot(self, message: bus.Forget) -> None:
        """This process dropped these from its caches: tell the others."""

    async def settled(self) -> None:
        """Wait until the invalidations told so far are published (before an ack)."""


class OneProcess:
    """No other process: the caches are always true."""

    async def fresh(self) -> bool:
        return True

    def forgot(self, message: bus.Forget) -> None:
        pass

    async def settled(self) -> None:
        pass


class AcrossProcesses:
    def __init__(self, bus_: RedisBus, timeout: float = CATCH_UP_SECONDS) -> None:
        self._bus = bus_
        self._timeout = timeout
        self._sending: set[asyncio.Future[None]] = set()

    async def fresh(self) -> bool:
        if not self._bus.up:
            return False
        if _checked.get():
            return True
        if await self._bus.caught_up(self._timeout):
            _checked.set(True)
            return True
        return False

    def forgot(self, message: bus.Forget) -> None:
        done = self._bus.forget(message)
        if not done.done():
            self._sending.add(done)
            done.add_done_callback(self._sending.discard)

    async def settled(self) -> None:
        if self._sending:
            await asyncio.gather(*self._sending)
