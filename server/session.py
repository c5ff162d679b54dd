"""One WebSocket connection: who it is, its rate limit, and its ordered, bounded send queue.

Replies and events share one queue so a client sees them in the order the server produced
them. The queue drains through a writer task that exists only while there is something to
send, so an idle connection costs no task. A client that stops reading lets its queue grow;
past either limit (frames queued, or bytes of events queued) it is disconnected at once (no
closing handshake: a peer that does not read would never answer one) and catches up by cursor
when it reconnects, instead of making the server hold (or wait on) its backlog.

Replies are bounded differently: a reply is what the client asked for, so a client that asks
faster than it reads is slowed, not dropped. Every unsent byte (queued here or waiting in the
socket's buffer) and the room held for replies still being made (a block download: up to a
whole block) count toward the connection's reply budget; while they fill it, the read loop
takes no further request from that client (`room_for_reply`), so its requests wait in its own
socket, not in the server's memory. A slow link that keeps reading still gets every reply.

When nothing is queued and the socket's buffer has room, frames skip the queue: the frames a
connection is given during one turn of the event loop are handed to the socket in a single
write at the end of that turn (a group commit fans out many events at once; one syscall per
connection instead of one per frame).

A frame is put in its WebSocket framing when it is queued, once for all the connections an
event fans out to (`wire_frame`): a server's frames are neither masked nor compressed here, so
every connection is sent the same bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import struct
from collections import deque
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import OPEN

from server.config import Limits
from server.quota import UploadRoom
from server.rate_limits import TokenBucket
from storage.server.accounts import Identity

log = logging.getLogger("roost.server")

CLOSE_TOO_SLOW = 4008  # private-use close codes: 4000 + the nearest HTTP status
CLOSE_REVOKED = 4001
CLOSE_LOGIN_TIMEOUT = 1008  # policy violation: an anonymous connection past its deadline
# Below this many unsent bytes in the socket's buffer, a frame is written at the end of the loop
# turn, without a writer task (chat fan-out sends tens of thousands of small frames a second).
# The writer task also hands frames to the socket up to this much at a time, one write each.
DIRECT_WRITE_BYTES = 64 << 10

# Per event loop, the sessions holding frames to write at the end of the current turn. A plain
# dict (a weak one costs ~1 µs a look-up, once per connection per turn): each entry lives only
# from the first frame of a turn to the flush that pops it at the end of that turn.
_to_flush: dict[asyncio.AbstractEventLoop, list[Session]] = {}


def reply_fits(
    *, budget: int, reserve: int, reserved: int, held: int, buffered: int, buffer_high: int
) -> bool:
    """Whether a connection may take one more request whose reply may be `reserve` bytes.

    `reserved` is the room held for replies still being made, `held` the bytes of frames
    queued but not yet handed to the socket, `buffered` the bytes in the socket's buffer and
    `buffer_high` that buffer's high-water mark. An idle connection (nothing reserved or held,
    the socket below its mark) always takes one, so a reply larger than the whole budget still
    goes, alone."""
    if reserved == 0 and held == 0 and buffered <= buffer_high:
        return True
    return reserved + held + buffered + reserve <= budget


class Session:
    __slots__ = (
        "_batch",
        "_batch_bytes",
        "_closer",
        "_closing",
        "_event_bytes",
        "_limits",
        "_outgoing",
        "_queued_bytes",
        "_reserved",
        "_room_waiter",
        "_writer",
        "address",
        "announced",
        "bucket",
        "identity",
        "on_kick",
        "upload_room",
        "ws",
    )

    def __init__(
        self,
        ws: ServerConnection,
        identity: Identity | None,
        bucket: TokenBucket,
        limits: Limits,
        on_kick: Callable[[Session, int], None] | None = None,
        address: str = "",
    ) -> None:
        self.ws = ws
        self.identity = identity
        self.bucket = bucket
        self.address = address  # the client's address, for auth limits and log lines
        self.on_kick = on_kick  # e.g. leave the hub at once, not when the close handshake ends
        self.announced: set[str] | None = None  # files on their way (server.files.streaming)
        self.upload_room: UploadRoom | None = None  # what may be uploaded unchecked (files)
        # frames in their WebSocket framing, and whether each is an event; made on first send:
        # idle sockets stay small
        self._outgoing: deque[tuple[bytes, bool]] | None = None
        self._batch: list[bytes] | None = None  # framed, to write together at the turn's end
        self._batch_bytes = 0  # the socket's buffer plus the batch
        self._limits = limits  # shared by every session: one slot for both send limits
        self._event_bytes = 0  # bytes of the events in _outgoing
        self._queued_bytes = 0  # bytes of every frame in _outgoing
        self._reserved = 0  # room held for replies still being made (see room_for_reply)
        self._room_waiter: asyncio.Future[None] | None = None  # the read loop, waiting for room
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._closer: asyncio.Task[None] | None = None  # held so the task is not collected

    def on_its_way(self, upload_id: str) -> None:
        """This connection announced a file (`files.announce`): withdrawn if it closes first."""
        self.announced = (self.announced or set()) | {upload_id}

    def arrived(self, *upload_ids: str) -> None:
        """Committed or withdrawn: nothing of these to withdraw when the connection closes."""
        if self.announced:
            self.announced.difference_update(upload_ids)

    @property
    def closing(self) -> bool:
        """Kicked (its token revoked, its account deleted or disabled) or being cut off: a
        request of it still waiting for the database must not write any more."""
        return self._closing

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
        """Send an event (the hub's subscriber protocol)."""
        self._send(frame, event=True)

    def reply(self, frame: bytes, reserved: int = 0) -> None:
        """Send the reply to one of this connection's requests, giving back the room
        `room_for_reply` held for it."""
        self.give_back(reserved)
        self._send(frame, event=False)

    def give_back(self, reserved: int) -> None:
        """Return room `room_for_reply` held for a reply (sent, or never to be)."""
        if reserved:
            self._reserved -= reserved
            self._wake_reader()

    async def room_for_reply(self, reserve: int = 0) -> None:
        """Wait until this connection's unsent replies leave room in its budget for one more of
        up to `reserve` bytes, then hold that room until `reply(..., reserved=reserve)`.

        Only the read loop calls this, before it takes each request: while a client leaves its
        replies unread, its further requests stay unread too."""
        assert self._room_waiter is None, "one read loop per connection"
        limits = self._limits
        while not self._closing:
            transport = self.ws.transport
            if transport is None or transport.is_closing():
                break
            held = self._queued_bytes + self._batched_bytes()
            if reply_fits(
                budget=limits.reply_queue_bytes,
                reserve=reserve,
                reserved=self._reserved,
                held=held,
                buffered=transport.get_write_buffer_size(),
                buffer_high=transport.get_write_buffer_limits()[1],
            ):
                break
            if self._reserved or self._outgoing:  # a reply being made, or the writer, wakes us
                self._room_waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._room_waiter
                finally:
                    self._room_waiter = None
            elif self._batch:  # handed to the socket at the end of this turn
                await asyncio.sleep(0)
            else:  # only the socket's buffer holds bytes, above its high-water mark
                try:
                    await self.ws.drain()
                except (ConnectionClosed, OSError):
                    break
        self._reserved += reserve

    def _wake_reader(self) -> None:
        waiter = self._room_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _batched_bytes(self) -> int:
        return sum(map(len, self._batch)) if self._batch else 0

    def _send(self, payload: bytes, *, event: bool) -> None:
        if self._closing:
            return
        frame = wire_frame(payload)
        batch = self._batch
        if batch is not None:
            if self._batch_bytes < DIRECT_WRITE_BYTES:  # join this turn's write
                batch.append(frame)
                self._batch_bytes += len(frame)
                return
        elif self._writer is None and not self._outgoing:
            buffered = self._socket_buffered()
            if buffered < DIRECT_WRITE_BYTES:  # nothing queued before it, so order holds
                self._batch = [frame]
                self._batch_bytes = buffered + len(frame)
                _schedule_flush(self)
                return
        # Behind: the queue, drained by a writer task that waits for the socket.
        if self._outgoing is None:
            self._outgoing = deque()
        limits = self._limits
        if len(self._outgoing) >= limits.send_queue_frames:
            self._too_slow(f"{len(self._outgoing)} frames unsent")
            return
        if event:
            if self._event_bytes + len(frame) > limits.send_queue_bytes:
                self._too_slow(f"{self._event_bytes} bytes of events unsent")
                return
            self._event_bytes += len(frame)
        self._queued_bytes += len(frame)
        self._outgoing.append((frame, event))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())

    def set_role(self, role: str) -> None:
        """Promoted or demoted: the identity loaded at the handshake takes the new role, so the
        next op of this connection is checked against it."""
        if self.identity is not None:
            self.identity = dataclasses.replace(self.identity, role=role)

    @property
    def kicked(self) -> bool:
        """Closed by the server (revoked, disabled, too slow): it may run no more ops."""
        return self._closing

    def kick(self, code: int, reason: str) -> None:
        if self._stop_sending(code):
            self._closer = asyncio.create_task(self.ws.close(code, reason))

    def _stop_sending(self, code: int) -> bool:
        """Send nothing more; False if that was already so."""
        if self._closing:
            return False
        self._closing = True
        self._drop_queue()
        self._batch = None
        self._wake_reader()
        if self.on_kick is not None:
            self.on_kick(self, code)
        return True

    # ----------------------------------------------------------------------------------------
    def _too_slow(self, unsent: str) -> None:
        """Disconnect at once. A closing handshake would wait (until a keepalive ping timed out,
        up to 40 s) behind megabytes that the peer is not reading, holding them; the close
        frame goes out if the socket takes it, then the connection is cut."""
        log.warning("disconnecting %s: %s", self._who(), unsent)
        if not self._stop_sending(CLOSE_TOO_SLOW):
            return
        ws = self.ws
        if ws.protocol.state is OPEN and ws.send_in_progress is None:
            ws.protocol.send_close(CLOSE_TOO_SLOW, "too far behind; reconnect to catch up")
            ws.transport.write(b"".join(ws.protocol.data_to_send()))
        ws.transport.abort()  # the read loop then ends as for any lost connection

    def flush(self) -> None:
        """Hand this turn's frames to the socket in one write."""
        batch, self._batch = self._batch, None
        if batch:
            self._write(batch)

    def _write(self, frames: list[bytes]) -> bool:
        """Hand these framed frames to the socket in one write; False if it is closing."""
        ws = self.ws
        protocol = ws.protocol
        # As websockets' broadcast(): a closing connection gets nothing more.
        if protocol.state is not OPEN or ws.send_in_progress is not None:
            return False
        try:
            # Whatever websockets framed and has not written yet (it writes at once) goes first;
            # the state is OPEN, so that is frames only (no end-of-stream marker).
            pending = protocol.data_to_send()
            ws.transport.write(b"".join([*pending, *frames]) if pending else b"".join(frames))
        except Exception:
            log.exception("could not write to %s", self._who())
            return False
        return True

    def _socket_buffered(self) -> int:
        transport = self.ws.transport
        return DIRECT_WRITE_BYTES if transport is None else transport.get_write_buffer_size()

    async def _drain(self) -> None:
        """Hand queued frames to the socket up to DIRECT_WRITE_BYTES at a time, one write each,
        then wait until the socket's buffer is low again (not one awaited send per frame)."""
        self.flush()  # what this turn already batched goes first
        try:
            while self._outgoing:
                await self.ws.drain()  # returns at once while the buffer is below its mark
                self._wake_reader()  # the socket took some: a request may fit now
                outgoing = self._outgoing
                if not outgoing:  # dropped meanwhile
                    break
                frames: list[bytes] = []
                room = DIRECT_WRITE_BYTES - self._socket_buffered()
                while outgoing and (room > 0 or not frames):
                    frame, event = outgoing.popleft()
                    frames.append(frame)
                    room -= len(frame)
                    self._queued_bytes -= len(frame)
                    if event:
                        self._event_bytes -= len(frame)
                if not self._write(frames):
                    self._drop_queue()
        except (ConnectionClosed, OSError):
            self._drop_queue()
        finally:
            self._writer = None
            if not self._outgoing:  # caught up: give the deque back, as an idle socket has none
                self._drop_queue()
            self._wake_reader()

    def _drop_queue(self) -> None:
        self._outgoing = None
        self._event_bytes = 0
        self._queued_bytes = 0

    @property
    def queued(self) -> int:
        """Frames waiting to be sent on this connection."""
        return len(self._outgoing) if self._outgoing else 0

    def _who(self) -> str:
        return f"device {self.identity.device_id}" if self.identity else "anonymous connection"


# The last payload put in its framing, and its frame: an event fanned out to many connections
# is framed once. Not kept for large ones (a block download is sent to one connection).
_last_framed: tuple[bytes, bytes] = (b"", b"")


def wire_frame(payload: bytes) -> bytes:
    """A frame as a server sends it (RFC 6455: final, unmasked, no extension): JSON as text,
    anything else (a block, RBLK...) as binary. The same object again for the same payload in
    a row, as a fan-out asks: one framing for every recipient, not one each (websockets'
    send_text cost ~2 µs a frame here; the frames fanned out can be 15,000 a second)."""
    global _last_framed
    last_payload, last_frame = _last_framed
    if payload is last_payload:
        return last_frame
    opcode = 0x81 if payload[:1] == b"{" else 0x82  # FIN + text or binary
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", opcode, length)
    elif length < 65536:
        header = struct.pack("!BBH", opcode, 126, length)
    else:
        header = struct.pack("!BBQ", opcode, 127, length)
    frame = header + payload
    if length < DIRECT_WRITE_BYTES:
        _last_framed = (payload, frame)
    return frame


def _schedule_flush(session: Session) -> None:
    loop = asyncio.get_running_loop()
    pending = _to_flush.get(loop)
    if pending is None:
        pending = _to_flush[loop] = []
        loop.call_soon(_flush_all, loop)
    pending.append(session)


def _flush_all(loop: asyncio.AbstractEventLoop) -> None:
    for session in _to_flush.pop(loop, ()):
        session.flush()
