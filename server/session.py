"""One WebSocket connection: who it is, its rate limit, and its ordered, bounded send queue.

Replies and events share one queue so a client sees them in the order the server produced
them. The queue drains through a writer task that exists only while there is something to
send, so an idle connection costs no task. A client that stops reading lets its queue grow;
past the limit it is disconnected and catches up by cursor when it reconnects, instead of
making the server hold (or wait on) its backlog.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from server.limits import TokenBucket
from storage.accounts import Identity

log = logging.getLogger("roost.server")

CLOSE_TOO_SLOW = 4008  # private-use close codes: 4000 + the nearest HTTP status
CLOSE_REVOKED = 4001
# Below this many unsent bytes in the socket's buffer, a frame is written at once, without a
# writer task (chat fan-out sends tens of thousands of small frames a second).
DIRECT_WRITE_BYTES = 64 << 10


class Session:
    __slots__ = (
        "_closer",
        "_closing",
        "_limit",
        "_outgoing",
        "_writer",
        "bucket",
        "identity",
        "on_kick",
        "ws",
    )

    def __init__(
        self,
        ws: ServerConnection,
        identity: Identity | None,
        bucket: TokenBucket,
        send_queue_frames: int,
        on_kick: Callable[[Session, int], None] | None = None,
    ) -> None:
        self.ws = ws
        self.identity = identity
        self.bucket = bucket
        self.on_kick = on_kick  # e.g. leave the hub at once, not when the close handshake ends
        self._outgoing: deque[bytes] | None = None  # made on first send: idle sockets stay small
        self._limit = send_queue_frames
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._closer: asyncio.Task[None] | None = None  # held so the task is not collected

    # Subscriber protocol (server.hub) -------------------------------------------------------
    @property
    def user_id(self) -> int:
        assert self.identity is not None
        return self.identity.user_id

    @property
    def device_id(self) -> int:
        assert self.identity is not None
        return self.identity.device_id

    def deliver(self, frame: bytes) -> None:
        if self._closing:
            return
        if self._writer is None and not self._outgoing and self._socket_has_room():
            # Nothing queued before it, so order holds. JSON goes as text, blocks as binary.
            broadcast([self.ws], frame, text=frame[:1] == b"{")
            return
        if self._outgoing is None:
            self._outgoing = deque()
        if len(self._outgoing) >= self._limit:
            log.warning("disconnecting %s: %d frames unsent", self._who(), len(self._outgoing))
            self.kick(CLOSE_TOO_SLOW, "too far behind; reconnect to catch up")
            return
        self._outgoing.append(frame)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())

    def kick(self, code: int, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._outgoing = None
        if self.on_kick is not None:
            self.on_kick(self, code)
        self._closer = asyncio.create_task(self.ws.close(code, reason))

    # ----------------------------------------------------------------------------------------
    def _socket_has_room(self) -> bool:
        transport = self.ws.transport
        return transport is not None and transport.get_write_buffer_size() < DIRECT_WRITE_BYTES

    async def _drain(self) -> None:
        try:
            while self._outgoing:
                frame = self._outgoing.popleft()
                # JSON replies and events go as text; block frames (RBLK...) as binary.
                await self.ws.send(frame, text=frame[:1] == b"{")  # blocks go as binary
        except ConnectionClosed:
            self._outgoing = None
        finally:
            self._writer = None

    @property
    def queued(self) -> int:
        """Frames waiting to be sent on this connection."""
        return len(self._outgoing) if self._outgoing else 0

    def _who(self) -> str:
        return f"device {self.identity.device_id}" if self.identity else "anonymous connection"
