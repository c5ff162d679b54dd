"""What server processes tell each other over the bus (server/redis_bus.py), as msgpack.

Each message names the process it came from (`origin`, its snowflake node id), so a process
skips its own: it applied them locally before sending.
"""

from __future__ import annotations

import msgspec


class Deliver(msgspec.Struct, tag="d", array_like=True, frozen=True):
    """An event frame for every connection of these users (hub.publish)."""

    origin: int
    users: list[int]
    frame: bytes


class Broadcast(msgspec.Struct, tag="b", array_like=True, frozen=True):
    """As Deliver, spread out over time (hub.broadcast: presence)."""

    origin: int
    users: list[int]
    frame: bytes


class KickDevice(msgspec.Struct, tag="kd", array_like=True, frozen=True):
    origin: int
    device: int
    code: int
    reason: str


class KickUser(msgspec.Struct, tag="ku", array_like=True, frozen=True):
    origin: int
    user: int
    code: int
    reason: str


class SetRole(msgspec.Struct, tag="r", array_like=True, frozen=True):
    origin: int
    user: int
    role: str


class Here(msgspec.Struct, tag="h", array_like=True, frozen=True):
    """The user's first connection on `origin` opened."""

    origin: int
    user: int


class Gone(msgspec.Struct, tag="g", array_like=True, frozen=True):
    """The user's last connection on `origin` closed."""

    origin: int
    user: int


class Roster(msgspec.Struct, tag="ro", array_like=True, frozen=True):
    """Every user connected to `origin` now; with `ask`, the others answer with theirs (a
    process that just joined, or came back after losing the bus, knows nobody)."""

    origin: int
    users: list[int]
    ask: bool = False


class Alive(msgspec.Struct, tag="a", array_like=True, frozen=True):
    """`origin` is still there; one that stays silent long enough is forgotten."""

    origin: int


class Leaving(msgspec.Struct, tag="l", array_like=True, frozen=True):
    """`origin` is shutting down: forget its users now."""

    origin: int


class AuthCount(msgspec.Struct, tag="au", array_like=True, frozen=True):
    """A failed or successful login, or a registration counted or taken back, on `origin`
    (server/accounts/failed_attempts.py: every process counts them all); or a link's password
    tried (`what` one of server/files/downloads.py's LINK_PASSWORD_*, `username` the link id)."""

    origin: int
    what: str
    address: str
    username: str


class Forget(msgspec.Struct, tag="f", array_like=True, frozen=True):
    """Cached copies a write made stale: posts, home timelines (all of them with
    `all_homes`), and readers' block and mute lists; `everything` drops every cache."""

    origin: int
    posts: list[int] = []
    homes: list[int] = []
    all_homes: bool = False
    hiding: list[int] = []
    everything: bool = False


Message = (
    Deliver
    | Broadcast
    | KickDevice
    | KickUser
    | SetRole
    | Here
    | Gone
    | Roster
    | Alive
    | Leaving
    | AuthCount
)
CacheMessage = Forget

_encoder = msgspec.msgpack.Encoder()
_events = msgspec.msgpack.Decoder(Message)
_caches = msgspec.msgpack.Decoder(CacheMessage)


def encode(message: Message | Forget) -> bytes:
    return _encoder.encode(message)


def decode_event(data: bytes) -> Message:
    """A message from the events channel; msgspec.DecodeError if it is not one."""
    return _events.decode(data)


def decode_forget(data: bytes) -> tuple[int, Forget]:
    """A message from the cache channel: "EPOCH FORGET" (the epoch is added in Redis, by the
    script that publishes it: see redis_bus.FORGET_SCRIPT); ValueError or msgspec.DecodeError
    if it is not one."""
    epoch, space, body = data.partition(b" ")
    if not space or not epoch.isdigit():
        raise ValueError("cache message without an epoch")
    return int(epoch), _caches.decode(body)
