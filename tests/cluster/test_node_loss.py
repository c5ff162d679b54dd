"""Losing a process mid-load: one of the cluster's three is SIGKILLed while people chat in
bursts and an author posts to followers spread over all three (each client through a TCP proxy
that prefers its process and moves it to the next one up when its own is gone). The clients of
the dead process reconnect through the proxy to another one, replay their outboxes and catch
up by cursors; every acknowledged message and post is there exactly once.

Each run prints its seed (when the kill falls); ROOST_NODE_LOSS_SEED=S repeats it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import pytest_asyncio

from client.core import RoostClient
from client.events import NewMessage
from protocol import chat as chat_wire
from tests.cluster.cluster import CLUSTER_LOOP, Cluster, running_cluster
from tests.helpers import NO_RATE_LIMIT, SECOND
from tests.reliability.workloads import ChatBurst, PostFanOut, sign_in
from tests.server.chat_fixtures import message, next_event
from tests.tcp_proxy import TcpProxy

pytestmark = CLUSTER_LOOP

DOOMED = 0  # the process that is killed
FOLLOWERS_PER_PROCESS = 2
SCENARIO_SECONDS = 120  # in normal runs about 5


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    async with running_cluster(
        request.config, tmp_path_factory.mktemp("cluster"), *NO_RATE_LIMIT
    ) as running:
        yield running


async def pump(client: RoostClient, live: list[chat_wire.Message]) -> None:
    """Hear every chat message pushed to this device (the client keeps each before it is
    handed on), as a long-running client does."""
    async with client.events() as stream:
        async for event in stream:
            if isinstance(event, NewMessage):
                live.append(event.message)


@pytest.mark.timeout(180)  # the scenario's own limit, and the cluster's start
async def test_the_clients_of_a_killed_process_move_to_another_and_lose_nothing_acked(
    cluster: Cluster, tmp_path: Path
) -> None:
    seed = int(os.environ.get("ROOST_NODE_LOSS_SEED") or random.randrange(2**32))
    print(f"node loss: ROOST_NODE_LOSS_SEED={seed}")
    rng = random.Random(seed)
    proxies = [await cluster.proxy(prefer=node) for node in range(3)]
    clients: list[RoostClient] = []

    async def client(name: str, through: TcpProxy) -> RoostClient:
        c = await sign_in(through.url, tmp_path / "homes" / name, name, register=True)
        clients.append(c)
        return c

    try:
        # A hang fails here, with the line it waited on, not in pytest-timeout's dump.
        async with asyncio.timeout(SCENARIO_SECONDS * SECOND):
            # Chatters on every process, two on the doomed one; a member who only reads, there too.
            chatters = [await client(f"chatter{i}", proxies[i % 3]) for i in range(4)]
            reader = await client("reader", proxies[DOOMED])
            burst = ChatBurst(chatters, rng)
            group = await chatters[1].call(
                "chat.group.create",
                chat_wire.CreateGroup(
                    name="node loss", members=[f"chatter{i}" for i in (0, 2, 3)] + ["reader"]
                ),
            )
            burst.group = group.id
            author = await client("author", proxies[DOOMED])
            followers = [
                await client(f"follower{node}_{i}", proxies[node])
                for node in range(3)
                for i in range(FOLLOWERS_PER_PROCESS)
            ]
            posts = PostFanOut(author, followers)
            await posts.setup()

            await reader.chat.catch_up()  # its cursor: the group's `created` entry
            live: list[chat_wire.Message] = []
            pumping = asyncio.create_task(pump(reader, live))

            running = [asyncio.create_task(w.run(0)) for w in (burst, posts)]
            await asyncio.sleep(rng.uniform(0.3, 0.8) * SECOND)
            killed_at = datetime.now(UTC)
            await cluster.nodes[DOOMED].kill()
            burst.replays.killed_at = posts.replays.killed_at = killed_at
            await asyncio.sleep(0.3 * SECOND)  # the others keep serving their own meanwhile
            burst.stop.set()
            posts.stop.set()
            async with asyncio.timeout(30 * SECOND):
                done = await asyncio.gather(*running, return_exceptions=True)
            assert not [r for r in done if isinstance(r, BaseException)], done
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping

            # Live delivery crossed processes before the kill: the reader (on the doomed process)
            # got messages from chatters connected elsewhere.
            assert {m.sender for m in live} & {"chatter1", "chatter2"}, live
            cut_off = len(burst.queued) + len(posts.queued)  # replayed by verify() below
            async with asyncio.timeout(60 * SECOND):
                await burst.verify()  # reconnects all, replays outboxes, then checks the history
                await posts.verify()
            print(
                f"{len(burst.acked)} messages, {len(posts.acked)} posts acked; {cut_off} replayed"
            )

            # The doomed process's clients came back through their proxy to another process.
            doomed_port = cluster.nodes[DOOMED].port
            moved = [port for port in proxies[DOOMED].opened if port != doomed_port]
            assert moved, proxies[DOOMED].opened

            # The reader catches up by its cursors: it holds each entry once, none missing.
            await reader.chat.catch_up()
            bodies, more = await reader.chat_store.page(group.id, before=None, limit=100_000)
            held = [msgspec.json.decode(b, type=chat_wire.Message) for b in bodies]
            assert not more
            assert [m.seq for m in held] == list(range(1, len(held) + 1)), "a gap or a repeat"
            texts = {m.text for m in held}
            assert set(burst.acked) <= texts, set(burst.acked) - texts
            history = await chatters[1].call(
                "chat.history", chat_wire.History(to=group.id, limit=1)
            )
            assert history.messages[-1].seq == len(held)  # and nothing newer exists

            # Started again on its folder, the lost process rejoins: events reach it again.
            await cluster.nodes[DOOMED].start()
            token = reader.home.token()
            assert token is not None
            back = await cluster.connect(DOOMED, token)
            try:
                sent = await chatters[1].call(
                    "chat.send", chat_wire.SendMessage(to=group.id, text="welcome back")
                )
                arrived = message(await next_event(back, "chat.message"))
                assert (arrived.seq, arrived.text) == (sent.seq, "welcome back")
            finally:
                await back.close()

            assert not cluster.errors_logged()
    finally:
        for c in clients:
            with contextlib.suppress(Exception):
                await c.close()
