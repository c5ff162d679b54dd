"""Public link downloads: `GET` or `HEAD /l/TOKEN` on the server's own port, answered as plain
HTTP where websockets would otherwise take the request as a handshake.

websockets answers a handshake it refuses with one whole `Response` (bytes), and gives the
handshake `open_timeout` seconds. A download is neither small nor quick, so this module writes
the response itself on the connection's transport, one block at a time (read, decompressed,
sliced to the range asked for, written with the transport's flow control: a slow reader holds
back the next read, never the server's memory), then closes the connection; websockets, which
finds it closed, sends nothing more. `LinkAwareConnection` lifts the handshake's timeout for
these requests only (a stalled reader is cut off after `STALL_SECONDS` instead).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from protocol import links as wire
from protocol.files import Codec
from server.accounts.failed_attempts import FailureCounts, FailureRule
from server.accounts.passwords import Passwords
from server.files.http_ranges import (
    ByteRange,
    RangeNotSatisfiable,
    basic_password,
    block_slices,
    content_disposition,
    content_type,
    requested_range,
)
from storage.content.blocks import BlockStore, decode_block
from storage.database import now_ms
from storage.errors import StorageError
from storage.server.credentials import secret_hash
from storage.server.links import LinkRepository, LinkTarget

log = logging.getLogger("roost.server")

OPEN_TIMEOUT = 10.0  # seconds for a request to arrive and a handshake to finish
STALL_SECONDS = 60.0  # a download whose reader takes nothing for this long is cut off
WRITE_PIECE = 256 << 10  # bytes handed to the transport between flow-control checks
# Wrong passwords: per address and link a few free, then a doubling delay; per link from
# anywhere a looser cap with a short ceiling, so guessing is slow and the owner's friends are
# never shut out for long (the rules of failed logins, server/accounts/failed_attempts.py).
PER_ADDRESS = FailureRule(free=5, max_delay=900.0)
PER_LINK = FailureRule(free=50, max_delay=60.0)
ASK_PASSWORD = ("WWW-Authenticate", 'Basic realm="Roost link", charset="UTF-8"')
NOT_FOUND = "no such link: it may have expired or been removed\n"


def is_link_request(path: str) -> bool:
    return path.startswith(wire.LINK_PATH_PREFIX)


class LinkAwareConnection(ServerConnection):
    """A connection whose opening handshake is timed here, not by websockets (`serve` gets
    `open_timeout=None`): the same limit for every request, lifted for a link download once
    its request line has arrived (streaming 1 GiB takes longer than a handshake may)."""

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        async with asyncio.timeout(OPEN_TIMEOUT) as deadline:
            await asyncio.wait(
                [self.request_rcvd, self.connection_lost_waiter],
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self.request is not None and is_link_request(self.request.path):
                deadline.reschedule(None)
            await super().handshake(*args, **kwargs)


def _headers(pairs: list[tuple[str, str]]) -> Headers:
    return Headers([*pairs, ("Cache-Control", "no-store"), ("Connection", "close")])


def _text(status: HTTPStatus, message: str, extra: list[tuple[str, str]] | None = None) -> Response:
    body = message.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return Response(status, status.phrase, _headers(headers + (extra or [])), body)


# What `share` passes between processes (in a bus AuthCount, beside the login counts).
LINK_PASSWORD_WRONG = "link_password_wrong"
LINK_PASSWORD_RIGHT = "link_password_right"


class LinkDownloads:
    def __init__(
        self,
        links: LinkRepository,
        blocks: BlockStore,
        passwords: Passwords,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._links = links
        self._blocks = blocks
        self._passwords = passwords
        self._per_address = FailureCounts(PER_ADDRESS, clock)
        self._per_link = FailureCounts(PER_LINK, clock)
        self._tell: Callable[[str, str, str], None] | None = None
        self.streaming: set[asyncio.Task[Any]] = set()
        self._closing = False

    def share(self, tell: Callable[[str, str, str], None]) -> None:
        """Pass every wrong and right password to the other server processes (`--bus`):
        `tell(what, address, link id)`, which they `apply`. A guesser then gets no more tries
        by spreading them over the processes behind a load balancer."""
        self._tell = tell

    def apply(self, what: str, address: str, link: str) -> None:
        """A count another process made (see `share`)."""
        if not link.isdigit():
            return
        if what == LINK_PASSWORD_WRONG:
            self._count_failure(address, int(link))
        elif what == LINK_PASSWORD_RIGHT:
            self._per_address.clear((address, int(link)))

    def close(self) -> None:
        """Cut every download still running (a shutdown must not wait for slow readers)."""
        self._closing = True
        for task in tuple(self.streaming):
            task.cancel()

    async def answer(
        self, connection: ServerConnection, request: Request, address: str
    ) -> Response:
        """The response to a link request; a download is written here and the connection
        closed, and what comes back is only for websockets, which sends nothing more."""
        method = getattr(request, "method", "GET")
        if method not in ("GET", "HEAD"):
            return _text(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD\n",
                         [("Allow", "GET, HEAD")])  # fmt: skip
        token = request.path.partition("?")[0][len(wire.LINK_PATH_PREFIX) :]
        if not wire.is_token(token):
            return _text(HTTPStatus.NOT_FOUND, NOT_FOUND)
        target = await self._links.target(secret_hash(token), now_ms())
        if target is None:
            return _text(HTTPStatus.NOT_FOUND, NOT_FOUND)
        if target.password_hash is not None:
            refusal = await self._check_password(target, request, address)
            if refusal is not None:
                return refusal
        try:
            wanted = requested_range(request.headers.get("Range"), target.size)
        except RangeNotSatisfiable:
            return _text(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range past the end\n",
                         [("Content-Range", f"bytes */{target.size}")])  # fmt: skip
        await self._stream(connection, target, wanted, body=method == "GET")
        what = "whole" if wanted is None else f"bytes {wanted.start}-{wanted.end}"
        log.info("link %d: %s of version %d (%s) to %s", target.link_id, method,
                 target.version_id, what, address)  # fmt: skip
        return _text(HTTPStatus.OK, "")  # never sent: the connection is closed

    async def _check_password(
        self, target: LinkTarget, request: Request, address: str
    ) -> Response | None:
        keys = (address, target.link_id), target.link_id
        wait = max(self._per_address.wait(keys[0]), self._per_link.wait(keys[1]))
        if wait > 0:
            return _text(HTTPStatus.TOO_MANY_REQUESTS,
                         f"too many wrong passwords; try again in {wait:.0f} s\n",
                         [("Retry-After", str(max(1, round(wait))))])  # fmt: skip
        given = basic_password(request.headers.get("Authorization"))
        if given is None:  # a browser asks for it; curl -u :PASSWORD sends it
            return _text(HTTPStatus.UNAUTHORIZED, "this link needs its password\n", [ASK_PASSWORD])
        if await self._passwords.verify(target.password_hash, given, requester=address):
            self._per_address.clear(keys[0])
            self._told(LINK_PASSWORD_RIGHT, address, target.link_id)
            return None
        self._count_failure(address, target.link_id)
        self._told(LINK_PASSWORD_WRONG, address, target.link_id)
        log.info("wrong password for link %d from %s", target.link_id, address)
        return _text(HTTPStatus.FORBIDDEN, "wrong password for this link\n")

    def _count_failure(self, address: str, link_id: int) -> None:
        self._per_address.failed((address, link_id))
        self._per_link.failed(link_id)

    def _told(self, what: str, address: str, link_id: int) -> None:
        if self._tell is not None:
            self._tell(what, address, str(link_id))

    def sweep(self) -> None:
        self._per_address.trim()
        self._per_link.trim()

    async def _stream(
        self, connection: ServerConnection, target: LinkTarget, wanted: ByteRange | None, *,
        body: bool,
    ) -> None:  # fmt: skip
        name = target.path.rsplit("/", 1)[-1]
        pairs = [
            ("Content-Type", content_type(name)),
            ("Content-Disposition", content_disposition(name)),
            ("Accept-Ranges", "bytes"),
            ("ETag", f'"{target.version_id}"'),
            ("Last-Modified", email.utils.formatdate(target.mtime_ms / 1000, usegmt=True)),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", "sandbox; default-src 'none'"),
        ]
        status = HTTPStatus.OK
        span = wanted or ByteRange(0, target.size - 1)
        if wanted is not None:
            status = HTTPStatus.PARTIAL_CONTENT
            pairs.append(("Content-Range", f"bytes {span.start}-{span.end}/{target.size}"))
        pairs.append(("Content-Length", str(max(0, span.length))))
        head = Response(status, status.phrase, _headers(pairs), b"")
        head.headers["Server"] = "Roost"
        transport = connection.transport
        task = asyncio.current_task()
        assert task is not None
        self.streaming.add(task)
        try:
            transport.write(head.serialize())
            if body and target.size > 0:
                await self._write_blocks(connection, target, span)
            await _drained(connection)
        except (TimeoutError, ConnectionError) as exc:
            log.info("link %d download cut short: %s", target.link_id, exc or type(exc).__name__)
            transport.abort()
        except StorageError as exc:  # the head is sent: all a reader can get now is a cut
            log.error("link %d: a block of version %d cannot be read: %s", target.link_id,
                      target.version_id, exc)  # fmt: skip
            transport.abort()
        except BaseException:  # cancelled (shutdown): the peer sees a cut, not a hang
            transport.abort()
            raise
        finally:
            self.streaming.discard(task)
        transport.close()
        try:
            async with asyncio.timeout(STALL_SECONDS):
                await asyncio.shield(connection.connection_lost_waiter)
        except TimeoutError:
            transport.abort()

    async def _write_blocks(
        self, connection: ServerConnection, target: LinkTarget, span: ByteRange
    ) -> None:
        transport = connection.transport
        for hash_, lo, hi in block_slices(target.blocks, span):
            stored = await asyncio.to_thread(self._blocks.get, bytes.fromhex(hash_))
            raw = memoryview(await asyncio.to_thread(_decoded, stored))[lo:hi]
            for at in range(0, len(raw), WRITE_PIECE):
                if transport.is_closing():
                    raise ConnectionError("the reader went away")
                if self._closing:  # a cancellation can be lost in a race: this cannot
                    raise asyncio.CancelledError
                transport.write(raw[at : at + WRITE_PIECE])
                await _drained(connection)


async def _drained(connection: ServerConnection) -> None:
    """Until the transport's buffer is low again; TimeoutError when the reader stalls."""
    async with asyncio.timeout(STALL_SECONDS):
        await connection.drain()


def _decoded(stored: bytes) -> bytes | memoryview:
    """A stored block is its codec byte and the payload (storage/content/blocks.py)."""
    return decode_block(Codec(stored[0]), memoryview(stored)[1:])
