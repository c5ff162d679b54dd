"""A TCP proxy on a free loopback port standing in for a load balancer in front of several
`roost serve` processes: each new connection goes to the first backend of its list that
accepts, or (`rotate`) to the next one in turn, again passing over any that refuses. So when a
test kills a process, its clients' reconnections land on the others.

Bytes are passed through untouched (the WebSocket handshake included); when either side
closes, both do, as a load balancer's connection does when its backend dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import Sequence

CONNECT_SECONDS = 2.0
CHUNK = 64 << 10


class TcpProxy:
    def __init__(
        self, backends: Sequence[int], *, rotate: bool = False, bytes_per_second: int | None = None
    ) -> None:
        """`backends`: the loopback ports to send connections to, in order of preference;
        `rotate`: start each connection's search one further along (round-robin);
        `bytes_per_second`: a slow link, each way (None: as fast as loopback; may be changed
        while connections pass)."""
        self.bytes_per_second = bytes_per_second
        if not backends:
            raise ValueError("a proxy needs at least one backend port")
        self.backends = list(backends)
        self.rotate = rotate
        self.port = 0
        self.opened: Counter[int] = Counter()  # backend port -> connections it was given
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and cut every connection passing through."""
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def order(self) -> list[int]:
        """The backends in the order the next connection tries them."""
        first = next(self._turn) % len(self.backends) if self.rotate else 0
        return self.backends[first:] + self.backends[:first]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            backend = await self._connect(self.order())
            if backend is None:
                return  # nobody accepts: the client sees its connection closed
            port, (back_reader, back_writer) = backend
            self.opened[port] += 1
            try:
                await _pipe_both_ways(reader, writer, back_reader, back_writer, self)
            finally:
                await _close(back_writer)
        finally:
            await _close(writer)
            self._pipes.discard(task)

    async def _connect(
        self, ports: list[int]
    ) -> tuple[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None:
        for port in ports:
            try:
                async with asyncio.timeout(CONNECT_SECONDS):
                    return port, await asyncio.open_connection("127.0.0.1", port)
            except (OSError, TimeoutError):
                continue
        return None


async def _pipe_both_ways(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    back_reader: asyncio.StreamReader,
    back_writer: asyncio.StreamWriter,
    proxy: TcpProxy,
) -> None:
    """Copy each way until one side ends; then the other way is cut too."""
    ways = [
        asyncio.create_task(_copy(client_reader, back_writer, proxy)),
        asyncio.create_task(_copy(back_reader, client_writer, proxy)),
    ]
    try:
        await asyncio.wait(ways, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for way in ways:
            way.cancel()
        await asyncio.gather(*ways, return_exceptions=True)


async def _copy(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: TcpProxy
) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
            if proxy.bytes_per_second:
                await asyncio.sleep(len(chunk) / proxy.bytes_per_second)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
