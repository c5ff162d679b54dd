"""The event bus without a server: streams subscribe when made, each hears every event, a
slow reader loses the oldest (and is told how many), closing ends the stream."""

from __future__ import annotations

import pytest

from client import event_bus
from client.event_bus import EventBus
from client.events import LinkChanged, PostDeleted


async def test_a_stream_hears_what_was_published_before_its_first_step() -> None:
    bus = EventBus()
    first, second = bus.open(), bus.open()
    bus.publish(PostDeleted("1"))
    bus.publish(LinkChanged("connected"))
    assert await first.next(1.0) == PostDeleted("1")
    assert second.drain() == [PostDeleted("1"), LinkChanged("connected")]
    assert await first.next(1.0) == LinkChanged("connected")


async def test_closing_ends_the_stream_and_stops_its_delivery() -> None:
    bus = EventBus()
    stream = bus.open()
    bus.publish(PostDeleted("1"))
    stream.close()
    bus.publish(PostDeleted("2"))
    assert [e async for e in stream] == [PostDeleted("1")]
    assert not bus.listened


async def test_closing_the_bus_ends_every_stream() -> None:
    bus = EventBus()
    streams = [bus.open() for _ in range(3)]
    bus.close()
    for stream in streams:
        assert [e async for e in stream] == []


async def test_a_reader_that_falls_behind_loses_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_bus, "STREAM_SIZE", 3)
    bus = EventBus()
    stream = bus.open()
    for n in range(5):
        bus.publish(PostDeleted(str(n)))
    assert stream.dropped == 2
    assert stream.drain() == [PostDeleted("2"), PostDeleted("3"), PostDeleted("4")]


async def test_waiting_for_an_event_that_does_not_come_times_out() -> None:
    stream = EventBus().open()
    with pytest.raises(TimeoutError):
        await stream.next(0.05)
    async with stream:
        pass
    assert [e async for e in stream] == []
