"""Shared pieces of the chat tests: a server with short presence delays, connected users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from client.connection import Connection
from protocol import chat as wire
from protocol.envelope import Event
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.helpers import SECOND


@pytest.fixture
async def chat_live(tmp_path: Path, database_url: str | None) -> AsyncIterator[LiveServer]:
    config = ServerConfig(
        registration="open",
        data_dir=tmp_path / "server",
        database_url=database_url,
        port=0,
        shutdown_grace=5.0,
        presence_online_delay=0.2 * SECOND,
        presence_offline_delay=0.1 * SECOND,
    )
    server = RoostServer(config)
    await server.start()
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def next_event(conn: Connection, name: str, timeout: float = 5.0) -> Event:
    """The next event of this name (others before it are dropped)."""
    async with asyncio.timeout(timeout * SECOND):
        while True:
            event = await conn.events.get()
            if event.event == name:
                return event


async def quiet(conn: Connection, name: str) -> list[Event]:
    """Events of this name already received, after a round trip flushed the socket."""
    await conn.call("auth.whoami")
    found = []
    while not conn.events.empty():
        event = conn.events.get_nowait()
        if event.event == name:
            found.append(event)
    return found


def message(event: Event) -> wire.Message:
    return msgspec.json.decode(event.data, type=wire.Message)


def receipt(event: Event) -> wire.Receipt:
    return msgspec.json.decode(event.data, type=wire.Receipt)
