"""An ack means committed: acknowledged writes survive kill -9 of the server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from client.connection import Connection
from protocol import accounts as wire
from protocol.profiles import SetProfile
from tests.helpers import PASSWORD, Home, ServerProcess


async def test_acked_write_survives_kill_9(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    await alice.ok("profile", "set", "--bio", "must survive")
    await server_process.kill()
    await server_process.start()
    profile = json.loads((await alice.ok("profile", "show", "--json")).stdout)
    assert profile["bio"] == "must survive"


async def test_burst_of_acked_writes_survives_kill_9(server_process: ServerProcess) -> None:
    """Many clients write at once; the server dies right after the last ack; every ack holds."""
    url = server_process.url
    anon = Connection(url)
    await anon.open()
    sessions = [
        await anon.call("auth.register", wire.Credentials(username=f"user{i}", password=PASSWORD))
        for i in range(6)
    ]
    await anon.close()
    conns = [Connection(url, s.token) for s in sessions]
    await asyncio.gather(*(c.open() for c in conns))

    async def writes(i: int, conn: Connection) -> int:
        acked = 0
        for n in range(25):
            await conn.call("profile.set", SetProfile(bio=f"user{i} write {n}"))
            acked = n
        return acked

    acked = await asyncio.gather(*(writes(i, c) for i, c in enumerate(conns)))
    await server_process.kill()  # no clean shutdown, no final checkpoint
    await server_process.start()

    check = Connection(url, sessions[0].token)
    await check.open()
    from protocol.profiles import GetProfile

    for i, n in enumerate(acked):
        profile = await check.call("profile.get", GetProfile(username=f"user{i}"))
        assert profile.bio == f"user{i} write {n}"
    await check.close()
