"""Replayed writes are finished by the client, whoever replays them: a queued chat message lands
in the chat store, a queued post in the cached timelines, and a `WriteAcked` event says which
local id became which server id. Through a real server, by the client core and by the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from client.core import RoostClient
from client.events import WriteAcked
from server.app import RoostServer
from server.config import ServerConfig
from tests.helpers import PASSWORD, SECOND, Home, ServerProcess


async def serve_on(data: Path, port: int = 0) -> RoostServer:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=data, port=port, shutdown_grace=1.0)
    )
    await server.start()
    return server


async def test_a_chat_send_queued_and_replayed_by_the_cli_shows_as_sent_offline(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")

    await server_process.terminate()
    queued = await alice.ok("chat", "send", "@bob", "hello from a train")
    assert "queued" in queued.stderr

    await server_process.start()
    replayed = await alice.ok("whoami")  # the next command that reaches the server replays
    assert "sent 1 queued write" in replayed.stderr

    await server_process.terminate()
    history = await alice.ok("chat", "history", "@bob")
    assert history.stderr.startswith("offline:")
    assert "(queued)" not in history.stdout  # sent, not pending
    [line] = history.stdout.splitlines()
    assert line.startswith("#1 ") and line.endswith("alice: hello from a train")


async def test_a_replayed_post_and_message_are_kept_and_announced(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    server = await serve_on(tmp_path / "s")
    url = f"ws://127.0.0.1:{server.port}"
    async with client_home("bob") as bob:
        await bob.register(url, "bob", PASSWORD, "phone")
    async with client_home("alice") as alice:
        await alice.register(url, "alice", PASSWORD, "laptop")
        await alice.social.post("before the tunnel")
        await alice.social.home(limit=5)  # cached: the first page of 5
        port = server.port
        await server.stop()

        post = await alice.social.post("in the tunnel")
        reply = await alice.social.post("and a reply to it", reply_to=post.local_id)
        message = await alice.chat.send("@bob", "see you at 6")
        assert post.queued and reply.queued and message.queued
        assert post.local_id is not None

        events = alice.events()
        server = await serve_on(tmp_path / "s", port)
        await alice.connect()  # replays the outbox
        acked = [e for e in events.drain() if isinstance(e, WriteAcked)]
        assert [(e.client_id, e.op) for e in acked] == [
            (post.client_id, "post.create"),
            (reply.client_id, "post.create"),
            (message.client_id, "chat.send"),
        ]
        assert acked[0].local_id == post.local_id
        assert acked[0].created_id == acked[0].result.id
        assert acked[1].result.reply_to == acked[0].created_id  # the local id was swapped

        await server.stop()
        timeline = await alice.social.home(limit=5)
        assert timeline.offline
        assert [p.text for p in timeline.result.posts] == [
            "and a reply to it",
            "in the tunnel",
            "before the tunnel",
        ]
        history = await alice.chat.history("@bob", limit=10, before=None)
        assert history.offline
        assert [(m.seq, m.text) for m in history.result.messages] == [(1, "see you at 6")]
        assert await alice.chat.queued_sends("@bob") == []


async def test_a_cached_first_page_keeps_its_size_when_a_replayed_post_is_added(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    server = await serve_on(tmp_path / "s")
    url = f"ws://127.0.0.1:{server.port}"
    async with client_home("carol") as carol:
        await carol.register(url, "carol", PASSWORD, "laptop")
        for n in range(3):
            await carol.social.post(f"post {n}")
        page = (await carol.social.user_timeline("carol", limit=2)).result
        assert [p.text for p in page.posts] == ["post 2", "post 1"]
        port = server.port
        await server.stop()

        await carol.social.post("post 3")
        server = await serve_on(tmp_path / "s", port)
        await asyncio.wait_for(carol.connect(), 5 * SECOND)
        await server.stop()
        cached = await carol.social.user_timeline("carol", limit=2)
        assert cached.offline
        assert [p.text for p in cached.result.posts] == ["post 3", "post 2"]
        # The next older page starts after the last post shown.
        assert cached.result.next_before == cached.result.posts[-1].id
