"""Limits an operator sets and a user runs into: per-user rate buckets, text lengths, storage
quota and file size, seen through the real server and the client core."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from client.errors import ClientError, ServerError
from client.files import RemoteFiles
from protocol import files as wire
from protocol.chat import SendMessage
from protocol.social import CreatePost
from server.config import Limits
from tests.conftest import LiveServer, start_server
from tests.files.helpers import Device, device, share_with


async def test_all_connections_of_a_user_share_one_rate_bucket(tmp_path: Path) -> None:
    server = await start_server(tmp_path / "s", Limits(ops_per_second=0.5, ops_burst=3))
    live = LiveServer(server)
    try:
        fred = await live.register("fred")
        laptop, phone = await live.connect(fred.token), await live.connect(fred.token)
        for conn in (laptop, phone, laptop):
            await conn.call("auth.whoami")
        with pytest.raises(ServerError) as refused:
            await phone.call("auth.whoami")  # a new connection buys no new requests
        assert refused.value.code == "rate_limited"
        assert 1.0 < (refused.value.retry_after or 0) <= 2.0
        assert refused.value.message == "rate limited: retry in 2 s"

        gina = await live.register("gina")  # anonymous connections have their own buckets
        other = await live.connect(gina.token)
        await other.call("auth.whoami")  # and so does every other user
        for conn in (laptop, phone, other):
            await conn.close()
    finally:
        await server.stop()


async def test_reconnecting_does_not_reset_a_spent_rate_limit(tmp_path: Path) -> None:
    """Buckets are forgotten to keep the server's memory flat, but only once full: a user who
    spent the burst and reconnects (every connection gone meanwhile) is still limited."""
    server = await start_server(tmp_path / "s", Limits(ops_per_second=0.2, ops_burst=3))
    live = LiveServer(server)
    try:
        fred = await live.register("fred")
        conn = await live.connect(fred.token)
        for _ in range(3):
            await conn.call("auth.whoami")
        await conn.close()
        while server.hub.is_online(int(fred.user_id)) or len(server._sessions):
            await asyncio.sleep(0.01)
        server._rates.sweep()  # as the server does every few seconds
        again = await live.connect(fred.token)
        with pytest.raises(ServerError) as refused:
            await again.call("auth.whoami")
        assert refused.value.code == "rate_limited"
        await again.close()
    finally:
        await server.stop()


async def test_buckets_of_users_who_left_are_forgotten_once_refilled(tmp_path: Path) -> None:
    server = await start_server(tmp_path / "s", Limits(ops_per_second=50, ops_burst=5))
    live = LiveServer(server)
    try:
        users = [await live.register(f"user{i}") for i in range(4)]
        conns = [await live.connect(u.token) for u in users]
        for conn in conns:
            for _ in range(5):  # each spends the whole burst
                await conn.call("auth.whoami")
        assert len(server._rates) == 4
        stays = conns.pop()
        stays_bucket = server._rates.bucket_for(int(users[-1].user_id))
        await asyncio.gather(*(c.close() for c in conns))
        while len(server._sessions) > 1:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # 5 tokens at 50/s: refilled
        server._rates.sweep()
        assert len(server._rates) == 1  # the connected user's bucket stays, in use
        assert server._rates.bucket_for(int(users[-1].user_id)) is stays_bucket
        await stays.close()
    finally:
        await server.stop()


async def test_post_and_chat_text_lengths_are_the_operators(tmp_path: Path) -> None:
    server = await start_server(tmp_path / "s", Limits(max_post_chars=10, max_message_chars=5))
    live = LiveServer(server)
    try:
        await live.register("bob")
        conn = await live.connect((await live.register("ann")).token)
        with pytest.raises(ServerError) as long_post:
            await conn.call("post.create", CreatePost(text="x" * 11))
        assert long_post.value.code == "invalid_args"
        assert "at most 10 characters" in long_post.value.message
        await conn.call("post.create", CreatePost(text="x" * 10))
        with pytest.raises(ServerError) as long_message:
            await conn.call("chat.send", SendMessage(to="@bob", text="hello!"))
        assert "at most 5 characters" in long_message.value.message
        await conn.call("chat.send", SendMessage(to="@bob", text="hello"))
        usage = await conn.call("account.usage")
        assert (usage.max_post_chars, usage.max_message_chars) == (10, 5)
        await conn.close()
    finally:
        await server.stop()


@pytest.fixture
async def tight(tmp_path: Path):  # type: ignore[no-untyped-def]
    limits = Limits(quota_bytes=10_000, max_file_bytes=6_000)
    server = await start_server(tmp_path / "s", limits)
    alice = await device(LiveServer(server), tmp_path, "alice", "laptop", register=True)
    try:
        yield alice, RemoteFiles(alice.client)
    finally:
        await alice.client.close()
        await server.stop()


def _file(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


async def _commit_anyway(files: RemoteFiles, local: Path, path: str) -> wire.Outcome:
    """Upload and commit without the client's own checks, as another client could."""
    home = (await files.locate("")).namespace
    blocks, size = await files.upload_blocks(local)
    transfer = await files.transfer()
    item = wire.CommitItem(path=path, parent_id=None, size=size, blocks=blocks)
    [outcome] = await transfer.commit(home.id, [item])
    return outcome


async def test_a_file_over_the_size_limit_is_refused_before_its_bytes_are_sent(
    tight: tuple[Device, RemoteFiles], tmp_path: Path
) -> None:
    alice, files = tight
    big = _file(tmp_path, "big.bin", 7_000)
    with pytest.raises(ClientError, match=r"this server takes files up to 5\.9 KiB"):
        await files.put(big)
    assert (await files.transfer()).counters.blocks_sent == 0

    outcome = await _commit_anyway(files, big, "big.bin")  # the server refuses it too
    assert outcome.entry is None and outcome.code == "too_large"
    with pytest.raises(ClientError, match=r"no file 'big\.bin'"):
        await files.history("big.bin")

    alice.write("sync/big.bin", os.urandom(7_000))  # sync reports it instead of sending it
    alice.write("sync/small.bin", os.urandom(100))
    report = await alice.sync()
    assert "sync/small.bin" in report.uploaded and "sync/big.bin" not in report.uploaded
    assert [ws for ws, _ in report.refused] == ["sync/big.bin"]


async def test_quota_counts_kept_versions_until_they_are_purged(
    tight: tuple[Device, RemoteFiles], tmp_path: Path
) -> None:
    _, files = tight
    await files.put(_file(tmp_path, "a.bin", 5_000))
    usage = await files.client.call("account.usage")
    assert (usage.used_bytes, usage.quota_bytes) == (5_000, 10_000)

    second = _file(tmp_path, "b.bin", 5_001)
    with pytest.raises(ClientError, match=r"^quota exceeded: 4.9 KiB of 9.8 KiB used"):
        await files.put(second)
    outcome = await _commit_anyway(files, second, "b.bin")
    assert outcome.code == "quota_exceeded"
    assert (outcome.message or "").startswith("quota exceeded: 4.9 KiB of 9.8 KiB used")
    assert (await files.client.call("account.usage")).used_bytes == 5_000  # nothing written

    # A batch is checked item by item: the first fits, the second does not.
    home = (await files.locate("")).namespace
    one, two = _file(tmp_path, "c1", 3_000), _file(tmp_path, "c2", 3_000)
    items = []
    for local in (one, two):
        blocks, size = await files.upload_blocks(local)
        items.append(wire.CommitItem(path=local.name, parent_id=None, size=size, blocks=blocks))
    first, refused = await (await files.transfer()).commit(home.id, items)
    assert first.entry is not None and refused.code == "quota_exceeded"

    # Deleting never needs space, but frees none while the old version is kept...
    current = (await files.history("a.bin"))[0]
    tombstone = wire.CommitItem(path="a.bin", parent_id=current.version_id, deleted=True)
    [gone] = await (await files.transfer()).commit(home.id, [tombstone])
    assert gone.entry is not None and gone.entry.deleted
    assert (await files.client.call("account.usage")).used_bytes == 8_000
    # ...until it is purged: then the space is free again.
    purged = await files.purge("a.bin")
    assert (purged.versions, purged.bytes) == (1, 5_000)
    assert [v.deleted for v in await files.history("a.bin")] == [True]
    assert (await files.client.call("account.usage")).used_bytes == 3_000
    await files.put(second)


async def test_attachments_count_against_the_quota(
    tight: tuple[Device, RemoteFiles], tmp_path: Path
) -> None:
    _, files = tight
    await files.attach(_file(tmp_path, "photo.jpg", 6_000))
    with pytest.raises(ClientError, match="quota exceeded"):
        await files.attach(_file(tmp_path, "other.jpg", 6_000))
    assert (await files.client.call("account.usage")).used_bytes == 6_000


async def test_only_the_owner_may_purge_and_only_what_exists(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a", register=True)
    bob = await device(live, tmp_path, "bob", "b", register=True)
    try:
        alice.write("team/plan.txt", "v1")
        await alice.sync()
        await share_with(alice, "team", bob, "editor")
        await bob.sync()
        with pytest.raises(ServerError) as not_owner:
            await RemoteFiles(bob.client).purge("team/plan.txt")
        assert not_owner.value.code == "forbidden"
        with pytest.raises(ServerError) as missing:
            await RemoteFiles(alice.client).purge("nothing.txt")
        assert missing.value.code == "not_found"
    finally:
        await alice.client.close()
        await bob.client.close()
