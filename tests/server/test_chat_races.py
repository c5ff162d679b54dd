"""Chat writes racing for real: two server processes on one database (PostgreSQL runs their
transactions side by side), and two people starting the same direct conversation at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from client.connection import Connection
from protocol import chat as wire
from protocol.types import Empty
from tests.conftest import LiveServer, start_server

ROUNDS = 4  # 8 accounts: under the per-address registration limit
SENDS = 15  # per connection


async def send(conn: Connection, to: str, text: str) -> wire.Message:
    sent: wire.Message = await conn.call("chat.send", wire.SendMessage(to=to, text=text))
    return sent


async def history(conn: Connection, to: str) -> list[wire.Message]:
    page: wire.MessagePage = await conn.call("chat.history", wire.History(to=to, limit=200))
    return sorted(page.messages, key=lambda m: m.seq)


async def test_sends_through_two_servers_to_one_group_get_gap_free_seqs(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    bus = redis_url.rsplit("/", 1)[0] + "/8"  # a Roost of its own on the session's Redis
    servers = [
        await start_server(tmp_path / name, database_url=postgres_url, bus_url=bus)
        for name in ("a", "b")
    ]
    conns: list[Connection] = []
    try:
        a, b = (LiveServer(s) for s in servers)
        names = [f"user{i}" for i in range(4)]
        tokens = [(await a.register(name)).token for name in names]
        # two of them on each process
        conns = [await (a if i % 2 == 0 else b).connect(t) for i, t in enumerate(tokens)]
        group: wire.Conversation = await conns[0].call(
            "chat.group.create", wire.CreateGroup(name="race", members=names[1:])
        )
        to = group.id

        async def burst(i: int) -> list[wire.Message]:
            return [await send(conns[i], to, f"{names[i]} {n}") for n in range(SENDS)]

        acked = [m for sent in await asyncio.gather(*map(burst, range(4))) for m in sent]
        seqs = sorted(m.seq for m in acked)
        assert len(set(seqs)) == len(acked), "two sends were given the same seq"
        stored = await history(conns[1], to)
        texts = [m.text for m in stored if m.kind == "text"]
        assert sorted(texts) == sorted(m.text for m in acked)  # every acked one, once
        assert [m.seq for m in stored] == list(range(1, len(stored) + 1))  # no gap
    finally:
        for conn in conns:
            await conn.close()
        for server in servers:
            await server.stop()


async def test_two_people_starting_the_same_direct_conversation_share_one(
    live: LiveServer,
) -> None:
    for round_ in range(ROUNDS):
        one, two = f"ann{round_}", f"ben{round_}"
        ann = await live.connect((await live.register(one)).token)
        ben = await live.connect((await live.register(two)).token)
        try:
            first, second = await asyncio.gather(
                send(ann, f"@{two}", "hi ben"), send(ben, f"@{one}", "hi ann")
            )
            assert first.conversation == second.conversation
            listed: wire.ConversationList = await ann.call("chat.list", Empty())
            assert len(listed.conversations) == 1
            assert sorted(m.seq for m in await history(ben, f"@{one}")) == [1, 2]
        finally:
            await ann.close()
            await ben.close()
