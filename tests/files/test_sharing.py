"""Shared folders through the real server: viewers, editors, strangers, revocation."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from client.errors import ClientError, ServerError
from client.files import RemoteFiles
from client.sync import scan
from protocol import files as wire
from storage.content.blocks import LocalBlockStore
from storage.content.chunker import chunk_bytes
from tests.conftest import LiveServer
from tests.files.helpers import Device, device, share_with


async def test_viewer_editor_and_stranger(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)  # viewer
    carol = await device(live, tmp_path, "carol", "c1", register=True)  # editor
    dave = await device(live, tmp_path, "dave", "d1", register=True)  # not a member
    try:
        alice.write("team/plan.txt", "draft")
        alice.write("private/diary.txt", "secret")
        await alice.sync()
        sent = alice.sent
        files = RemoteFiles(alice.client)
        info = await files.share("team", "bob", "viewer")
        assert [(m.username, m.role, m.pending) for m in info.members] == [
            ("alice", "owner", False),
            ("bob", "viewer", True),  # invited, not yet a member
        ]
        await RemoteFiles(bob.client).accept("team")
        await share_with(alice, "team", carol, "editor")
        await alice.sync()
        assert alice.sent == sent  # sharing moved no bytes
        assert alice.listing() == ["private", "private/diary.txt", "team", "team/plan.txt"]

        for d in (bob, carol, dave):
            await d.sync()
        assert bob.read("team/plan.txt") == b"draft" == carol.read("team/plan.txt")
        assert not (bob.root / "private").exists() and not (carol.root / "private").exists()
        assert dave.listing() == []

        carol.write("team/plan.txt", "carol's edit")
        carol.write("team/notes.txt", "new from carol")
        await carol.sync()
        bob.write("team/plan.txt", "bob tries")
        bob.write("team/bob-only.txt", "mine")
        report = await bob.sync()
        [copy] = report.conflicts
        assert sorted(report.kept_local) == sorted(["team/bob-only.txt", copy])
        assert bob.read("team/plan.txt") == b"carol's edit"  # the share's version came back
        assert bob.read(copy) == b"bob tries"  # bob's edit survives locally
        await alice.sync()
        assert alice.read("team/plan.txt") == b"carol's edit"
        assert alice.read("team/notes.txt") == b"new from carol"
        assert not (alice.root / "team/bob-only.txt").exists()  # never uploaded
        assert not (alice.root / copy).exists()

        share_ns = next(n for n in await RemoteFiles(bob.client).namespaces() if n.kind == "shared")
        with pytest.raises(ServerError) as refused:
            await bob.client.call(
                "files.commit",
                wire.Commit(share_ns.id, [wire.CommitItem(path="x.txt", parent_id=None)]),
            )
        assert refused.value.code == "forbidden"
        with pytest.raises(ServerError) as hidden:
            await dave.client.call("files.changes", wire.GetChanges(share_ns.id))
        assert hidden.value.code == "not_found"
        alice_home = next(n for n in await files.namespaces() if n.kind == "home")
        with pytest.raises(ServerError) as hidden:
            await bob.client.call("files.changes", wire.GetChanges(alice_home.id))
        assert hidden.value.code == "not_found"
        with pytest.raises(ClientError):
            await RemoteFiles(bob.client).put(bob.root / copy, "team/upload.txt")

        shares = await RemoteFiles(bob.client).shares()
        assert [(s.folder, s.owner, s.role) for s in shares] == [("team", "alice", "viewer")]
        await files.unshare("team", "bob")
        assert await RemoteFiles(bob.client).shares() == []
        with pytest.raises(ServerError):
            await bob.client.call("files.changes", wire.GetChanges(share_ns.id))
    finally:
        for d in (alice, bob, carol, dave):
            await d.client.close()


async def test_a_viewers_large_edit_never_reaches_the_server(
    live: LiveServer, alice_and_bob: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large files start uploading while they are hashed, but not in a read-only share."""
    monkeypatch.setattr(scan, "EARLY_BYTES", 1 << 20)
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "draft")
    await alice.sync()
    await share_with(alice, "team", bob, "viewer")
    await bob.sync()
    data = random.Random(3).randbytes(6 << 20)
    bob.write("team/film.bin", data)
    bob.write("mine/film.bin", data[: 3 << 20])
    report = await bob.sync()
    assert report.kept_local == ["team/film.bin"]
    mine = {c.digest for c in chunk_bytes(data[: 3 << 20])}
    only_in_share = {c.digest for c in chunk_bytes(data)} - mine
    stored = LocalBlockStore(live.server.config.data_dir / "blocks")
    assert only_in_share and not any(stored.has(d) for d in only_in_share)
    assert all(stored.has(d) for d in mine)  # the copy in bob's own folder went up


async def test_share_refuses_bad_requests(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        files = RemoteFiles(alice.client)
        with pytest.raises(ServerError, match="no user"):
            await files.share("team", "nobody", "viewer")
        with pytest.raises(ServerError, match="top-level"):
            await files.share("a/b", "alice", "viewer")
        with pytest.raises(ServerError, match="already own"):
            await files.share("team", "alice", "editor")
    finally:
        await alice.client.close()


async def test_a_file_is_not_shared_and_a_folder_is_one_folder_whatever_its_case(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("readme.txt", "hello")
    alice.write("Team/plan.txt", "the plan")
    await alice.sync()
    files = RemoteFiles(alice.client)
    with pytest.raises(ServerError, match=r"'readme\.txt' is a file; only a folder"):
        await files.share("readme.txt", "bob", "viewer")
    with pytest.raises(ServerError, match="is a file"):
        await files.share("README.TXT", "bob", "viewer")

    info = await share_with(alice, "team", bob, "editor")
    assert info.folder == "Team"
    again = await files.share("TEAM", "bob", "viewer")  # the same share, a new role
    assert again.namespace_id == info.namespace_id
    assert [m.role for m in again.members] == ["owner", "viewer"]
    await alice.sync()  # the owner's workspace still syncs, nothing lost
    assert alice.listing() == ["Team", "Team/plan.txt", "readme.txt"]
    assert alice.read("readme.txt") == b"hello"
    await bob.sync()
    assert bob.listing() == ["Team", "Team/plan.txt"]

    await files.unshare("team", "bob")
    assert [s.folder for s in await files.shares()] == ["Team"]
    await bob.sync()
    assert bob.read("Team (unshared)/plan.txt") == b"the plan"
