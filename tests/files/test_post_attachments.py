"""Post attachments through the real server and client: uploaded through the block store,
shown on every post view, downloaded by post id, and readable only by their owner or while
a live post carries them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from client.errors import ClientError, ServerError
from client.files import RemoteFiles, media_destinations
from client.social import Social
from client.sync.transfer import Transfer
from protocol import files as files_wire
from protocol import social as wire
from tests.conftest import LiveServer
from tests.files.helpers import Device, device


async def _refused(call: Awaitable[Any]) -> str:
    with pytest.raises(ServerError) as refused:
        await call
    return refused.value.code


def _files(post: wire.Post) -> list[tuple[str, int]]:
    return [(a.name, a.size) for a in post.attachments]


async def test_a_post_shows_its_attachments_wherever_it_appears(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)
    try:
        await Social(bob.client).follow("alice")
        photo = tmp_path / "cat.jpg"
        photo.write_bytes(os.urandom(2 << 20))
        notes = tmp_path / "notes.txt"
        notes.write_text("whiskers")
        written = await Social(alice.client).post_files("look @bob #cats", [photo, notes])
        post = written.result
        assert post is not None and not written.queued
        expected = [("cat.jpg", 2 << 20), ("notes.txt", 8)]
        assert _files(post) == expected

        bob_social = Social(bob.client)
        [on_home] = (await bob_social.home()).result.posts
        [on_profile] = (await bob_social.user_timeline("alice")).result.posts
        thread = (await bob_social.thread(post.id)).result
        found = (await bob_social.search("cats")).result.posts
        mention = (await bob_social.notifications()).result.notifications[0]
        assert mention.post is not None
        for shown in (on_home, on_profile, thread.post, found[0], mention.post):
            assert _files(shown) == expected
            assert [a.id for a in shown.attachments] == [a.id for a in post.attachments]
        reply = (await bob_social.post("purr", reply_to=post.id)).result
        assert reply is not None and reply.attachments == []  # none unless given
        reposted = (await bob_social.repost(post.id)).result
        assert reposted is not None and reposted.original is not None
        assert _files(reposted.original) == expected

        got = await RemoteFiles(bob.client).download_media(reposted.id, tmp_path / "got")
        assert [d.name for _, d in got] == ["cat.jpg", "notes.txt"]
        assert got[0][1].read_bytes() == photo.read_bytes()
        assert got[1][1].read_text() == "whiskers"
        [(one, dest)] = await RemoteFiles(bob.client).download_media(
            post.attachments[1].id, tmp_path / "one.txt"
        )
        assert one.name == "notes.txt" and dest.read_text() == "whiskers"
    finally:
        await alice.client.close()
        await bob.client.close()


async def _bob_can_read(bob: Device, att: files_wire.Attachment) -> bool:
    """Whether bob may read the attachment: by id, by block download, and by hash claim."""
    h = att.blocks[0]
    transfer = Transfer(await bob.client.connect())
    try:
        got = await RemoteFiles(bob.client).media_get(att.id, bob.root / "peek", force=True)
    except ServerError as exc:
        assert exc.code == "not_found"
        assert await _refused(transfer.fetch_block(h)) == "not_found"
        assert await transfer.missing(None, [h]) == [h]  # held by the server, not for him
        claim = files_wire.Attach(name="mine.bin", size=att.size, blocks=att.blocks)
        assert await _refused(bob.client.call("files.attach", claim)) == "not_found"
        return False
    assert got[0].blocks == att.blocks
    assert hashlib.sha256(await transfer.fetch_block(h)).hexdigest() == h
    assert await transfer.missing(None, [h]) == []
    return True


async def test_an_attachment_is_readable_by_its_owner_or_while_a_live_post_carries_it(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)
    try:
        secret = tmp_path / "secret.bin"
        secret.write_bytes(os.urandom(300_000))
        att = await RemoteFiles(alice.client).attach(secret)
        assert not await _bob_can_read(bob, att)  # unattached: alice's alone
        bob_posts = Social(bob.client)
        refused = bob_posts.client.call(
            "post.create", wire.CreatePost(text="mine now", attachments=[att.id])
        )
        assert await _refused(refused) == "not_found"  # not even told it exists

        first = (await Social(alice.client).post("public", attachments=[att.id])).result
        second = (await Social(alice.client).post("again", attachments=[att.id])).result
        assert first is not None and second is not None
        assert await _bob_can_read(bob, att)
        stolen = bob.client.call(
            "post.create", wire.CreatePost(text="mine now", attachments=[att.id])
        )
        assert await _refused(stolen) == "forbidden"  # he sees it, but it is not his to post

        await Social(alice.client).delete(first.id)
        assert await _bob_can_read(bob, att)  # the second post still carries it
        await Social(alice.client).delete(second.id)
        assert not await _bob_can_read(bob, att)
        gone = RemoteFiles(bob.client).download_media(second.id, tmp_path / "x")
        assert await _refused(gone) == "not_found"
        await RemoteFiles(alice.client).media_get(att.id, tmp_path / "back.bin")
        assert (tmp_path / "back.bin").read_bytes() == secret.read_bytes()  # still hers
    finally:
        await alice.client.close()
        await bob.client.close()


async def test_a_post_refuses_unknown_repeated_or_too_many_attachments(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        f = tmp_path / "a.txt"
        f.write_text("a")
        att = await RemoteFiles(alice.client).attach(f)
        call = alice.client.call
        unknown = wire.CreatePost(text="x", attachments=["12345"])
        assert await _refused(call("post.create", unknown)) == "not_found"
        huge = "9" * 19  # a valid id shape past the 64-bit range
        too_big = wire.CreatePost(text="x", attachments=[huge])
        assert await _refused(call("post.create", too_big)) == "invalid_args"
        for op, args in (
            ("media.get", files_wire.GetAttachment(huge)),
            ("media.post", files_wire.GetPostMedia(huge)),
        ):
            assert await _refused(call(op, args)) == "invalid_args"
        five = wire.CreatePost(text="x", attachments=[att.id] * 5)
        assert await _refused(call("post.create", five)) == "invalid_args"
        twice = (await Social(alice.client).post("x", attachments=[att.id, att.id])).result
        assert twice is not None and [a.id for a in twice.attachments] == [att.id]
        plain = (await Social(alice.client).post("no files")).result
        assert plain is not None
        with pytest.raises(ClientError, match="has no attachments"):
            await RemoteFiles(alice.client).download_media(plain.id, tmp_path / "out")
        with pytest.raises(ClientError, match="at most 4"):
            await Social(alice.client).post_files("x", [f] * 5)
        with pytest.raises(ClientError, match="is not a file"):
            await Social(alice.client).post_files("x", [tmp_path / "nope"])
    finally:
        await alice.client.close()


def test_media_destinations(tmp_path: Path) -> None:
    assert media_destinations(["a.txt"], None) == [Path("a.txt")]
    assert media_destinations(["a.txt"], tmp_path / "b.txt") == [tmp_path / "b.txt"]
    assert media_destinations(["a.txt"], tmp_path) == [tmp_path / "a.txt"]
    assert media_destinations(["a.txt", "A.txt", "a.txt", "README"], tmp_path / "new") == [
        tmp_path / "new" / "a.txt",
        tmp_path / "new" / "A (2).txt",
        tmp_path / "new" / "a (3).txt",
        tmp_path / "new" / "README",
    ]
    assert media_destinations(["x", "x"], None) == [Path("x"), Path("x (2)")]
