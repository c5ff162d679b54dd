"""The hub of a server that shares its users with other processes (`--bus`): every event,
kick and role change is applied to this process's own connections at once and sent on the
bus for the others to apply to theirs.

It also keeps a picture of who is connected to which other process (from their Here, Gone
and Roster messages), so "is this user online anywhere" is answered from memory: presence,
and the live post events that go only to followers who are online.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from server import bus_messages as bus
from server.hub import InProcessHub, Subscriber
from server.redis_bus import SILENT_AFTER, RedisBus

log = logging.getLogger("roost.server")


class Elsewhere:
    """Which users have connections on which other processes; plain logic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._users: dict[int, set[int]] = {}  # user -> nodes
        self._nodes: dict[int, set[int]] = {}  # node -> users
        self._heard: dict[int, float] = {}  # node -> when last heard

    def heard(self, node: int) -> None:
        self._heard[node] = self._clock()
        self._nodes.setdefault(node, set())

    def here(self, node: int, user: int) -> None:
        self.heard(node)
        self._nodes[node].add(user)
        self._users.setdefault(user, set()).add(node)

    def gone(self, node: int, user: int) -> None:
        self.heard(node)
        self._nodes[node].discard(user)
        self._drop(user, node)

    def roster(self, node: int, users: Iterable[int]) -> set[int]:
        """Replace what is known of `node`; the users it no longer has."""
        before = self.forget_node(node)
        self.heard(node)
        for user in users:
            self.here(node, user)
        return before - self._nodes[node]

    def forget_node(self, node: int) -> set[int]:
        """Drop a process (gone, or silent too long); the users it had."""
        self._heard.pop(node, None)
        users = self._nodes.pop(node, set())
        for user in users:
            self._drop(user, node)
        return users

    def refresh(self) -> None:
        """Count every known process as just heard (the bus is back: silence meant nothing)."""
        now = self._clock()
        for node in self._heard:
            self._heard[node] = now

    def silent(self, longer_than: float) -> list[int]:
        """Processes not heard from for `longer_than` seconds."""
        now = self._clock()
        return [n for n, at in self._heard.items() if now - at > longer_than]

    def has(self, user: int) -> bool:
        return user in self._users

    def everyone(self) -> set[int]:
        return set(self._users)

    def nodes(self) -> list[int]:
        return sorted(self._nodes)

    def clear(self) -> None:
        self._users.clear()
        self._nodes.clear()
        self._heard.clear()

    def _drop(self, user: int, node: int) -> None:
        nodes = self._users.get(user)
        if nodes is not None:
            nodes.discard(node)
            if not nodes:
                del self._users[user]


class ClusterHub:
    """A Hub (server/hub.py) over this process's InProcessHub and the bus."""

    def __init__(self, local: InProcessHub, bus_: RedisBus) -> None:
        self.local = local
        self._bus = bus_
        self.elsewhere = Elsewhere()
        self._tasks: set[asyncio.Task[int]] = set()
        # users whose last connection on another process went away (presence re-checks them)
        self.on_left_elsewhere: Callable[[set[int]], None] = lambda users: None
        # login and registration counts made on another process (server/accounts/failed_attempts.py)
        self.on_auth_count: Callable[[bus.AuthCount], None] = lambda count: None

    # ------------------------------------------------------------------ the Hub interface
    def attach(self, subscriber: Subscriber) -> None:
        first = not self.local.is_online(subscriber.user_id)
        self.local.attach(subscriber)
        if first:
            self._bus.send(bus.Here(self._bus.node, subscriber.user_id))

    def detach(self, subscriber: Subscriber) -> None:
        was = self.local.is_online(subscriber.user_id)
        self.local.detach(subscriber)
        if was and not self.local.is_online(subscriber.user_id):
            self._bus.send(bus.Gone(self._bus.node, subscriber.user_id))

    def publish(
        self, user_ids: Iterable[int], frame: bytes, *, skip: Subscriber | None = None
    ) -> int:
        users = list(user_ids)
        sent = self.local.publish(users, frame, skip=skip)
        if users:
            self._bus.send(bus.Deliver(self._bus.node, users, frame))
        return sent

    async def broadcast(self, user_ids: Iterable[int], frame: bytes) -> int:
        users = list(user_ids)
        if users:
            self._bus.send(bus.Broadcast(self._bus.node, users, frame))
        return await self.local.broadcast(users, frame)

    def kick_device(self, device_id: int, code: int, reason: str) -> None:
        self.local.kick_device(device_id, code, reason)
        self._bus.send(bus.KickDevice(self._bus.node, device_id, code, reason))

    def kick_user(self, user_id: int, code: int, reason: str) -> None:
        self.local.kick_user(user_id, code, reason)
        self._bus.send(bus.KickUser(self._bus.node, user_id, code, reason))

    def set_role(self, user_id: int, role: str) -> None:
        self.local.set_role(user_id, role)
        self._bus.send(bus.SetRole(self._bus.node, user_id, role))

    def is_online(self, user_id: int) -> bool:
        """Connected to this process or to another one."""
        return self.local.is_online(user_id) or self.elsewhere.has(user_id)

    def connection_count(self) -> int:
        return self.local.connection_count()

    # ------------------------------------------------------------------ from the bus
    def apply(self, message: bus.Message) -> None:
        """What another process sent."""
        match message:
            case bus.Deliver(users=users, frame=frame):
                self.local.publish(users, frame)
            case bus.Broadcast(users=users, frame=frame):
                task = asyncio.create_task(self.local.broadcast(users, frame))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            case bus.KickDevice(device=device, code=code, reason=reason):
                self.local.kick_device(device, code, reason)
            case bus.KickUser(user=user, code=code, reason=reason):
                self.local.kick_user(user, code, reason)
            case bus.SetRole(user=user, role=role):
                self.local.set_role(user, role)
            case bus.Here(origin=node, user=user):
                self.elsewhere.here(node, user)
            case bus.Gone(origin=node, user=user):  # that process settles their presence
                self.elsewhere.gone(node, user)
            case bus.Roster(origin=node, users=users, ask=ask):
                self._left(self.elsewhere.roster(node, users))
                if ask:
                    self.announce_roster(ask=False)
            case bus.Alive(origin=node):
                self.elsewhere.heard(node)
                self.forget_silent()
            case bus.Leaving(origin=node):
                self._left(self.elsewhere.forget_node(node))
            case bus.AuthCount():
                self.on_auth_count(message)

    def announce_roster(self, *, ask: bool) -> None:
        """Tell the others who is connected here (and, with `ask`, ask for theirs)."""
        self._bus.send(bus.Roster(self._bus.node, self.local.users(), ask=ask))

    def bus_lost(self) -> None:
        """Nothing is known of the others until the bus is back."""
        self._left(self.elsewhere.everyone())
        self.elsewhere.clear()

    def forget_silent(self) -> None:
        """Forget the processes silent too long (killed, cut off): their users are gone."""
        for node in self.elsewhere.silent(SILENT_AFTER):
            log.warning("server process %d went silent on the bus: forgetting its users", node)
            self._left(self.elsewhere.forget_node(node))

    def _left(self, users: set[int]) -> None:
        gone = {u for u in users if not self.elsewhere.has(u)}
        if gone:
            self.on_left_elsewhere(gone)
