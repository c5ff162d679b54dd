"""Redis going away and coming back: each process keeps serving its own connections (posts and
chat between people on the same process arrive live), /healthz says `"bus": "unavailable"`
(still 200: the database is what makes a process unusable); once Redis is back each says
`"bus": "ok"`, closes its connections with 1012 so clients catch up by their cursors, and
events cross processes again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
import pytest_asyncio

from client.connection import Connection
from protocol import chat as chat_wire
from protocol import social as social_wire
from tests.cluster.cluster import CLUSTER_LOOP, NODES, Cluster, closed, running_cluster
from tests.helpers import NO_RATE_LIMIT
from tests.server.chat_fixtures import message, next_event

pytestmark = CLUSTER_LOOP

A, B = 0, 1
RECONNECT_SECONDS = 20.0  # a process retries Redis with backoff


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    async with running_cluster(
        request.config, tmp_path_factory.mktemp("cluster"), *NO_RATE_LIMIT
    ) as running:
        yield running


async def test_without_redis_each_process_serves_its_own_and_catches_up_when_it_is_back(
    cluster: Cluster,
) -> None:
    sessions = {
        name: await cluster.register(node, name)
        for name, node in (("ann", A), ("bob", A), ("cat", B), ("dee", B))
    }
    conns: dict[str, Connection] = {}

    async def connect_all() -> None:
        for name, node in (("ann", A), ("bob", A), ("cat", B), ("dee", B)):
            conns[name] = await cluster.connect(node, sessions[name].token)

    await connect_all()
    try:
        for name in ("bob", "cat"):
            await conns[name].call("follow.add", social_wire.UserRef(username="ann"))
        before = await conns["ann"].call("chat.send", chat_wire.SendMessage(to="@cat", text="0"))
        assert message(await next_event(conns["cat"], "chat.message")).text == "0"
        early = await conns["ann"].call("post.create", social_wire.CreatePost(text="early"))
        thread = social_wire.GetThread(post_id=early.id)
        home = social_wire.HomeTimeline()
        # Read through B, so B holds them in its caches when Redis goes.
        assert (await conns["cat"].call("post.thread", thread)).post.like_count == 0
        assert [p.id for p in (await conns["cat"].call("timeline.home", home)).posts] == [early.id]
        for node in range(NODES):
            await cluster.wait_health(node, "bus", "ok")

        cluster.redis.stop()
        for node in range(NODES):
            await cluster.wait_health(node, "bus", "unavailable")
            health = await cluster.health(node)
            assert (health["status"], health["database"]) == ("ok", "ok"), health
            await cluster.nodes[node].logged("bus unavailable")

        # Same process: live as ever, on A and on B.
        sent = await conns["ann"].call(
            "chat.send", chat_wire.SendMessage(to="@bob", text="still here on A")
        )
        assert message(await next_event(conns["bob"], "chat.message")).seq == sent.seq
        sent = await conns["cat"].call(
            "chat.send", chat_wire.SendMessage(to="@dee", text="still here on B")
        )
        assert message(await next_event(conns["dee"], "chat.message")).seq == sent.seq
        post = await conns["ann"].call("post.create", social_wire.CreatePost(text="in the dark"))
        got = (await next_event(conns["bob"], "post.created")).data
        assert msgspec.json.decode(got, type=social_wire.Post).id == post.id
        # A read through B after an ack through A still shows the write: no invalidation can
        # cross, so B must not answer from what it cached.
        await conns["bob"].call("post.like", social_wire.PostRef(post_id=early.id))
        assert (await conns["cat"].call("post.thread", thread)).post.like_count == 1
        timeline = await conns["cat"].call("timeline.home", home)
        assert [p.id for p in timeline.posts] == [post.id, early.id]
        # Across processes: acked and stored now, caught up by cursor later.
        missed = await conns["ann"].call(
            "chat.send", chat_wire.SendMessage(to="@cat", text="while Redis was away")
        )

        cluster.redis.start()
        for node in range(NODES):
            await cluster.wait_health(node, "bus", "ok", seconds=RECONNECT_SECONDS)
            await cluster.nodes[node].logged("bus connected again")
        for conn in conns.values():  # told to reconnect and catch up
            assert (await closed(conn)).startswith("1012"), conn.url
        await connect_all()

        caught = await conns["cat"].call(
            "chat.catch_up",
            chat_wire.CatchUp(cursors=[chat_wire.Cursor(before.conversation, before.seq)]),
        )
        with_ann = [m for m in caught.messages if m.conversation == before.conversation]
        assert [(m.seq, m.text) for m in with_ann] == [(missed.seq, "while Redis was away")]
        timeline = await conns["cat"].call("timeline.home", home)
        assert [p.id for p in timeline.posts] == [post.id, early.id]

        after = await conns["ann"].call(
            "chat.send", chat_wire.SendMessage(to="@cat", text="Redis is back")
        )
        arrived = message(await next_event(conns["cat"], "chat.message"))
        assert (arrived.text, arrived.seq) == ("Redis is back", after.seq)
        assert not cluster.errors_logged()
        for process in cluster.nodes:  # said once, not at every retry
            assert sum("bus unavailable" in line for line in process.log) == 1, process.log
    finally:
        for conn in conns.values():
            await conn.close()
