"""Each server process mints snowflake ids under a node id leased from the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.connection import Connection
from protocol import chat
from protocol.ids import NODE_BITS, SEQUENCE_BITS
from server.node_lease import died_here
from storage.errors import StorageError
from storage.server.node_leases import NodeLeases
from tests.conftest import LiveServer, start_server


async def group(conn: Connection, name: str, member: str) -> chat.Conversation:
    made: chat.Conversation = await conn.call(
        "chat.group.create", chat.CreateGroup(name=name, members=[member])
    )
    return made


def node_of(snowflake: str) -> int:
    return (int(snowflake) >> SEQUENCE_BITS) & ((1 << NODE_BITS) - 1)


async def test_a_server_holds_a_lease_while_it_runs_and_mints_under_it(
    live: LiveServer,
) -> None:
    held = await NodeLeases(live.server.db).held()
    assert len(held) == 1
    node, holder, _ = held[0]
    session = await live.register("alice")
    await live.register("bob")
    conn = await live.connect(session.token)
    try:
        assert node_of((await group(conn, "hello", "bob")).id) == node
    finally:
        await conn.close()
    assert holder.split(":")[1].isdigit()  # host:pid:random, for an operator reading the table


async def test_a_second_server_on_one_database_without_a_bus_is_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    first = await start_server(tmp_path / "a", database_url=postgres_url)
    try:
        with pytest.raises(StorageError, match="several processes need --bus redis://"):
            await start_server(tmp_path / "b", database_url=postgres_url)
        # it left nothing behind: its lease is gone, the first one's is kept
        assert len(await NodeLeases(first.db).held()) == 1
    finally:
        await first.stop()


def test_a_lease_of_a_killed_process_on_this_machine_does_not_count_as_another_server() -> None:
    import os
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    assert died_here(f"{host}:{gone.pid}:ab12cd34")
    assert not died_here(f"{host}:{os.getpid()}:ab12cd34")  # alive
    assert not died_here(f"elsewhere.example:{gone.pid}:ab12cd34")  # cannot tell: counts
