"""Hands each client event to every stream open on it: `RoostClient.events()` opens one.

A stream is subscribed when it is made, not when it is first awaited, so an event published
between `client.events()` and the first `async for` step is not lost. A reader that falls
more than `STREAM_SIZE` events behind loses the oldest (the cursors' catch-up fills the gap
for chat and files) and is told how many in `EventStream.dropped`.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from client.events import ClientEvent

STREAM_SIZE = 10_000


class EventStream:
    """`async for event in stream`; ends once `close()` is called (or the client closes)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[ClientEvent | None] = asyncio.Queue(STREAM_SIZE)
        self.dropped = 0
        self._closed = False
        bus._streams.add(self)

    def _put(self, event: ClientEvent | None) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()  # the oldest goes: the newest matter more
                self.dropped += 1

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ClientEvent:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    def drain(self) -> list[ClientEvent]:
        """The events already waiting, without waiting for more."""
        waiting = []
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is not None:
                waiting.append(event)
        return waiting

    async def next(self, timeout: float) -> ClientEvent:
        """The next event within `timeout` seconds (TimeoutError otherwise)."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._streams.discard(self)
            self._put(None)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._streams: set[EventStream] = set()

    @property
    def listened(self) -> bool:
        return bool(self._streams)

    def open(self) -> EventStream:
        return EventStream(self)

    def publish(self, event: ClientEvent) -> None:
        for stream in tuple(self._streams):
            stream._put(event)

    def close(self) -> None:
        for stream in tuple(self._streams):
            stream.close()
