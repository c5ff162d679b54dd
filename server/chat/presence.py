"""Presence and its debouncing: a user is announced online only after staying connected for
`online_delay` seconds, and offline `offline_delay` seconds after their last device left
(so a reconnect in between announces nothing). Typing indicators are in server/chat/handlers.py.

`PresenceTracker` is plain logic with an injected scheduler; `Presence` wires it to the hub
and to the one repository query that says who may see whom.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from protocol import chat as wire
from protocol.envelope import encode_event
from server.hub import Hub
from storage.database import Database
from storage.errors import Unavailable
from storage.server.chat import ChatRepository
from storage.server.user_blocks import UserBlockRepository
from storage.server.users import UserDirectory

log = logging.getLogger("roost.server")


class Timer(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Timer]
Announce = Callable[[int, bool], None]  # user id, online


@dataclass
class _UserPresence:
    connections: int = 0
    announced: bool = False  # what others were last told: online or not
    timer: Timer | None = field(default=None, repr=False)


class PresenceTracker:
    def __init__(
        self,
        schedule: Scheduler,
        announce: Announce,
        *,
        online_delay: float,
        offline_delay: float,
        elsewhere: Callable[[int], bool] | None = None,
    ) -> None:
        """`elsewhere`: whether a user is connected to another server process (`--bus`).
        Then what others were told is shared too (the announcer decides, once for all
        processes), so every settle announces what it finds, and none is skipped for what
        this process alone last said."""
        self._schedule = schedule
        self._announce = announce
        self._online_delay = online_delay
        self._offline_delay = offline_delay
        self._elsewhere = elsewhere
        self._users: dict[int, _UserPresence] = {}

    def is_online(self, user_id: int) -> bool:
        state = self._users.get(user_id)
        return state is not None and state.announced

    def connected(self, user_id: int) -> None:
        state = self._users.setdefault(user_id, _UserPresence())
        state.connections += 1
        if state.connections == 1:
            self._cancel(state)
            if not state.announced or self._elsewhere is not None:
                state.timer = self._schedule(self._online_delay, lambda: self._settle(user_id))

    def disconnected(self, user_id: int) -> None:
        state = self._users.get(user_id)
        if state is None or state.connections == 0:
            return
        state.connections -= 1
        if state.connections == 0:
            self._cancel(state)
            if state.announced or self._elsewhere is not None:
                state.timer = self._schedule(self._offline_delay, lambda: self._settle(user_id))
            else:
                del self._users[user_id]

    def left_elsewhere(self, user_id: int) -> None:
        """The process that held the user's connections went away without settling them:
        settle here, after the offline delay, unless this process has them."""
        state = self._users.setdefault(user_id, _UserPresence(announced=True))
        if state.connections == 0 and state.timer is None:
            state.timer = self._schedule(self._offline_delay, lambda: self._settle(user_id))

    def _settle(self, user_id: int) -> None:
        state = self._users.get(user_id)
        if state is None:
            return
        state.timer = None
        here = state.connections > 0
        if self._elsewhere is not None:
            state.announced = here or self._elsewhere(user_id)
            self._announce(user_id, state.announced)
        elif here != state.announced:
            state.announced = here
            self._announce(user_id, here)
        if not here:
            del self._users[user_id]

    @staticmethod
    def _cancel(state: _UserPresence) -> None:
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None


class Presence:
    """Presence for one server process: tracks connections, pushes `presence.changed`."""

    def __init__(
        self,
        hub: Hub,
        db: Database,
        chat: ChatRepository,
        blocks: UserBlockRepository,
        *,
        online_delay: float,
        offline_delay: float,
    ) -> None:
        self._hub = hub
        self._db = db
        self._chat = chat
        self._blocks = blocks
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._delays = (online_delay, offline_delay)
        self.tracker = self._tracker()
        self._swap: Callable[[int, bool], Awaitable[bool | None]] | None = None
        self._elsewhere: Callable[[int], bool] = lambda user_id: False

    def share(
        self,
        hub: Hub,
        elsewhere: Callable[[int], bool],
        swap: Callable[[int, bool], Awaitable[bool | None]],
    ) -> None:
        """Presence across server processes (`--bus`): announce through `hub`, count the
        user's connections on other processes (`elsewhere`), and announce a change only if
        `swap` (what all processes last announced, kept in Redis) says it is one."""
        self._hub = hub
        self._elsewhere = elsewhere
        self._swap = swap
        self.tracker = self._tracker(elsewhere)

    def _tracker(self, elsewhere: Callable[[int], bool] | None = None) -> PresenceTracker:
        online, offline = self._delays
        return PresenceTracker(
            self._call_later,
            self._announce,
            online_delay=online,
            offline_delay=offline,
            elsewhere=elsewhere,
        )

    def connected(self, user_id: int) -> None:
        self.tracker.connected(user_id)

    def disconnected(self, user_id: int) -> None:
        self.tracker.disconnected(user_id)

    def left_elsewhere(self, user_ids: set[int]) -> None:
        for user_id in user_ids:
            self.tracker.left_elsewhere(user_id)

    def is_online(self, user_id: int) -> bool:
        return self.tracker.is_online(user_id) or self._elsewhere(user_id)

    async def audience(self, user_id: int) -> set[int]:
        return await self._chat.presence_audience(self._db.reader, user_id)

    async def unseen(self, user_id: int, among: set[int]) -> set[int]:
        """Those of `among` who never see `user_id` online, nor `user_id` them: a block
        either way. They stay in each other's lists, shown offline, so the blocked one
        cannot tell a block from someone who is simply away."""
        return await self._blocks.blocked_either(self._db.reader, user_id, among)

    def _call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(delay, callback)

    def _announce(self, user_id: int, online: bool) -> None:
        if self._closed:
            return
        task = asyncio.create_task(self._publish(user_id, online))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, user_id: int, online: bool) -> None:
        if self._swap is not None and await self._swap(user_id, online) is False:
            return  # already announced (by this or another process)
        try:
            audience = await self.audience(user_id)
            audience -= await self.unseen(user_id, audience)
            names = await UserDirectory().names_of(self._db.reader, [user_id])
        except Unavailable:  # the database is away (logged once, by the router): not a bug
            log.debug("presence of user %d not announced: the database is unavailable", user_id)
            return
        except Exception:
            log.exception("could not announce presence of user %d", user_id)
            return
        if user_id in names:
            frame = encode_event("presence.changed", wire.Presence(names[user_id], online))
            await self._hub.broadcast(audience, frame)

    async def close(self) -> None:
        self._closed = True
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
