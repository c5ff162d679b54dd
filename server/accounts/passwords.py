"""argon2id password hashing off the event loop, with a cap on hashes running at once, shared
fairly between addresses.

Each hash costs tens of milliseconds and 64 MiB; the cap keeps a burst of logins from
starving the loop's other work or the machine's memory. Hashes waiting for a slot queue per
address and are served round-robin across addresses, so one address's flood of logins makes
everyone else wait for at most one of its hashes per slot, not for all of them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class FairSlots:
    """At most `at_once` holders; waiters queue per key, and a freed slot goes to the next key
    in turn (round-robin), not to whoever has queued most."""

    def __init__(self, at_once: int) -> None:
        self._free = at_once
        self._queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        await self._acquire(key)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, key: str) -> None:
        if self._free > 0 and not self._queues:
            self._free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()  # a key new to the queue waits its turn last
        queue.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed a slot just as it was cancelled: pass it on
            else:
                self._forget(key, granted)
            raise

    def _release(self) -> None:
        while self._queues:
            key, queue = next(iter(self._queues.items()))
            granted = queue.popleft()
            if queue:
                self._queues.move_to_end(key)  # its next waiter goes after every other key's
            else:
                del self._queues[key]
            if not granted.done():
                granted.set_result(None)  # the slot passes straight on
                return
        self._free += 1

    def _forget(self, key: str, granted: asyncio.Future[None]) -> None:
        queue = self._queues.get(key)
        if queue is None:
            return
        try:
            queue.remove(granted)
        except ValueError:
            return
        if not queue:
            del self._queues[key]

    def waiting(self) -> int:
        return sum(map(len, self._queues.values()))


class Passwords:
    def __init__(self, at_once: int, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()  # argon2id with the library's current defaults
        self._slots = FairSlots(at_once)
        # Verified when a username is unknown, so a wrong name costs as long as a wrong password.
        self._decoy = self._hasher.hash("roost decoy password")

    async def hash(self, password: str, *, requester: str = "") -> str:
        """`requester`: whose turn this is (the client's address key)."""
        async with self._slots.turn(requester):
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str, *, requester: str = "") -> bool:
        async with self._slots.turn(requester):
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(stored_hash or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)
