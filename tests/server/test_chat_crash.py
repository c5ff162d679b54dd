"""An acked chat message survives `kill -9` of the server in the middle of a burst."""

from __future__ import annotations

import asyncio
import contextlib

from client.connection import Connection
from client.errors import ClientError
from protocol import accounts
from protocol import chat as wire
from tests.helpers import PASSWORD, ServerProcess


async def test_no_acked_message_is_lost_when_the_server_is_killed_mid_burst(
    server_process: ServerProcess,
) -> None:
    url = server_process.url
    anon = Connection(url)
    await anon.open()
    sessions = [
        await anon.call(
            "auth.register", accounts.Credentials(username=f"user{i}", password=PASSWORD)
        )
        for i in range(6)
    ]
    await anon.close()
    conns = [Connection(url, s.token) for s in sessions]
    await asyncio.gather(*(c.open() for c in conns))
    group = await conns[0].call(
        "chat.group.create",
        wire.CreateGroup(name="burst", members=[f"user{i}" for i in range(1, 6)]),
    )
    acked: list[wire.Message] = []

    async def burst(i: int, conn: Connection) -> None:
        for n in range(10_000):  # bounded; the kill ends it long before
            try:
                sent = await conn.call("chat.send", wire.SendMessage(to=group.id, text=f"{i}-{n}"))
            except ClientError:
                return
            acked.append(sent)

    senders = [asyncio.create_task(burst(i, c)) for i, c in enumerate(conns)]
    while len(acked) < 300:  # mid-burst: sends are in flight on every connection
        await asyncio.sleep(0.01)
    await server_process.kill()
    await asyncio.gather(*senders)
    for conn in conns:
        with contextlib.suppress(Exception):
            await conn.close()

    await server_process.start()
    check = Connection(url, sessions[0].token)
    await check.open()
    stored: dict[int, tuple[str, str]] = {}
    before = None
    for _ in range(1000):
        page = await check.call("chat.history", wire.History(to=group.id, limit=500, before=before))
        stored.update({m.seq: (m.sender, m.text) for m in page.messages})
        if not page.more:
            break
        before = page.messages[0].seq
    await check.close()
    assert len(acked) >= 300
    for m in acked:
        assert stored.get(m.seq) == (m.sender, m.text)
    assert sorted(stored) == list(range(1, len(stored) + 1))  # still gap-free
