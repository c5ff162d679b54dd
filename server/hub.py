"""Fan-out of events to connected devices, behind an interface a Redis hub can implement later.

The hub only routes bytes that are already encoded: an event is encoded once and the same
frame goes to every recipient.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

# A broadcast hands its frame to at most this many connections at a time, BROADCAST_PAUSE
# apart (~4,000 connections a second). One user's presence goes to every connection of
# everyone they share a conversation with (2,000 in bench/load.py): at once, that was ~25 ms of
# the server's time and 2,000 devices woken in the same instant, and every request in that
# moment waited behind it. Presence is announced seconds after the fact anyway (debounced),
# so spreading one announcement over half a second costs it nothing.
BROADCAST_SLICE = 64
BROADCAST_PAUSE = 0.016


class Subscriber(Protocol):
    """One connected, authenticated device connection."""

    @property
    def user_id(self) -> int: ...

    @property
    def device_id(self) -> int: ...

    def deliver(self, frame: bytes) -> None:
        """Queue a frame without waiting; a subscriber that falls too far behind drops itself."""

    def kick(self, code: int, reason: str) -> None:
        """Close this connection."""

    def set_role(self, role: str) -> None:
        """The account's role changed: its next op is checked against the new one."""


class Hub(Protocol):
    def attach(self, subscriber: Subscriber) -> None: ...

    def detach(self, subscriber: Subscriber) -> None: ...

    def publish(
        self, user_ids: Iterable[int], frame: bytes, *, skip: Subscriber | None = None
    ) -> int:
        """Send `frame` to every connection of these users but `skip`; returns how many."""

    async def broadcast(self, user_ids: Iterable[int], frame: bytes) -> int:
        """As `publish`, for an event to many users that need not keep its place among their
        other events (presence): BROADCAST_SLICE connections at a time, BROADCAST_PAUSE
        apart."""

    def kick_device(self, device_id: int, code: int, reason: str) -> None:
        """Close every connection of a device (after its token was revoked)."""

    def kick_user(self, user_id: int, code: int, reason: str) -> None:
        """Close every connection of an account (after it was disabled)."""

    def set_role(self, user_id: int, role: str) -> None:
        """Tell every connection of an account that its role changed (promote, demote)."""

    def is_online(self, user_id: int) -> bool: ...


class InProcessHub:
    """The hub for a single server process: dictionaries of live connections."""

    def __init__(self, *, broadcast_pause: float = BROADCAST_PAUSE) -> None:
        self._by_user: dict[int, set[Subscriber]] = {}
        self._by_device: dict[int, set[Subscriber]] = {}
        self._broadcast_pause = broadcast_pause

    def attach(self, subscriber: Subscriber) -> None:
        self._by_user.setdefault(subscriber.user_id, set()).add(subscriber)
        self._by_device.setdefault(subscriber.device_id, set()).add(subscriber)

    def detach(self, subscriber: Subscriber) -> None:
        _discard(self._by_user, subscriber.user_id, subscriber)
        _discard(self._by_device, subscriber.device_id, subscriber)

    def publish(
        self, user_ids: Iterable[int], frame: bytes, *, skip: Subscriber | None = None
    ) -> int:
        sent = 0
        for user_id in user_ids:
            for subscriber in tuple(self._by_user.get(user_id, ())):
                if subscriber is not skip:
                    subscriber.deliver(frame)
                    sent += 1
        return sent

    async def broadcast(self, user_ids: Iterable[int], frame: bytes) -> int:
        recipients = [s for user_id in user_ids for s in self._by_user.get(user_id, ())]
        sent = 0
        for start in range(0, len(recipients), BROADCAST_SLICE):
            if start:
                await asyncio.sleep(self._broadcast_pause)  # let other work in between
            for subscriber in recipients[start : start + BROADCAST_SLICE]:
                # a connection that left during an earlier slice gets nothing
                if subscriber in self._by_user.get(subscriber.user_id, ()):
                    subscriber.deliver(frame)
                    sent += 1
        return sent

    def kick_device(self, device_id: int, code: int, reason: str) -> None:
        for subscriber in tuple(self._by_device.get(device_id, ())):
            subscriber.kick(code, reason)

    def kick_user(self, user_id: int, code: int, reason: str) -> None:
        for subscriber in tuple(self._by_user.get(user_id, ())):
            subscriber.kick(code, reason)

    def set_role(self, user_id: int, role: str) -> None:
        for subscriber in self._by_user.get(user_id, ()):
            subscriber.set_role(role)

    def is_online(self, user_id: int) -> bool:
        return bool(self._by_user.get(user_id))

    def users(self) -> list[int]:
        """Everyone with a connection here."""
        return list(self._by_user)

    def connection_count(self) -> int:
        return sum(len(s) for s in self._by_device.values())


def _discard(index: dict[int, set[Subscriber]], key: int, subscriber: Subscriber) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(subscriber)
        if not members:
            del index[key]
