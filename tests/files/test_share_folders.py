"""Folder edge cases of sharing: a share named like a member's own folder is mounted beside
it, never merged; a removed member keeps their copy on the device, never uploaded."""

from __future__ import annotations

import shutil
from pathlib import Path

from client.files import RemoteFiles
from protocol.files import mount_name
from tests.conftest import LiveServer
from tests.files.helpers import Device, device, share_with


def test_mount_names_avoid_what_the_member_already_has() -> None:
    assert mount_name("Photos", "alice", set()) == "Photos"
    assert mount_name("Photos", "alice", {"photos"}) == "Photos (from alice)"
    taken = {"photos", "photos (from alice)"}
    assert mount_name("Photos", "alice", taken) == "Photos (from alice 2)"
    long = "x" * 255
    assert len(mount_name(long, "alice", {long}).encode()) <= 255


async def test_a_share_named_like_my_own_folder_is_mounted_beside_it(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("Photos/beach.jpg", "alice's beach")
    bob.write("Photos/cat.jpg", "bob's own cat")
    await alice.sync()
    await bob.sync()
    await share_with(alice, "Photos", bob, "editor")
    [info] = await RemoteFiles(alice.client).shares()
    assert [(m.username, m.mounted_as) for m in info.members] == [
        ("alice", None),
        ("bob", "Photos (from alice)"),
    ]
    await bob.sync()
    assert bob.read("Photos/cat.jpg") == b"bob's own cat"
    assert not (bob.root / "Photos/beach.jpg").exists()
    assert bob.read("Photos (from alice)/beach.jpg") == b"alice's beach"
    [share] = await RemoteFiles(bob.client).shares()
    assert share.folder == "Photos (from alice)"

    bob.write("Photos (from alice)/dog.jpg", "for alice")
    await bob.sync()
    await alice.sync()
    assert alice.read("Photos/dog.jpg") == b"for alice"
    assert not (alice.root / "Photos/cat.jpg").exists()  # bob's own stays his

    # The mount is kept even once bob's own folder is gone: nothing moves under him.
    (bob.root / "Photos/cat.jpg").unlink()
    (bob.root / "Photos").rmdir()
    await bob.sync()
    await bob.sync()
    assert bob.read("Photos (from alice)/dog.jpg") == b"for alice"
    assert not (bob.root / "Photos").exists()
    names = [r.shown for r in await RemoteFiles(bob.client).ls(recursive=True)]
    assert "Photos (from alice)/beach.jpg" not in names  # the home holds none of it


async def test_a_removed_member_keeps_a_copy_that_never_reaches_their_home(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "the plan")
    await alice.sync()
    files = RemoteFiles(alice.client)
    await share_with(alice, "team", bob, "editor")
    await bob.sync()
    bob.write("team/draft.txt", "bob's draft")
    await bob.sync()

    await files.unshare("team", "bob")
    report = await bob.sync()
    assert report.detached == ["team (unshared)"]
    assert not (bob.root / "team").exists()
    assert bob.read("team (unshared)/plan.txt") == b"the plan"
    assert bob.read("team (unshared)/draft.txt") == b"bob's draft"
    bob.write("team (unshared)/later.txt", "edited after")
    await bob.sync()
    listed = [r.shown for r in await RemoteFiles(bob.client).ls(recursive=True)]
    assert listed == []  # nothing of it reached bob's home
    # Renamed, it is an ordinary folder of bob's and syncs.
    (bob.root / "team (unshared)").rename(bob.root / "old team")
    await bob.sync()
    listed = [r.shown for r in await RemoteFiles(bob.client).ls(recursive=True)]
    assert "old team/draft.txt" in listed and "old team/later.txt" in listed
    # The share itself is untouched for alice.
    await alice.sync()
    assert alice.read("team/draft.txt") == b"bob's draft"
    assert not (alice.root / "team/later.txt").exists()


async def test_editing_a_file_just_after_sharing_its_folder_is_no_conflict(
    live: LiveServer, tmp_path: Path
) -> None:
    """Sharing copies the folder's files into the share under new version ids; the owner's
    next edit is made on the same bytes, so it uploads as an edit, and the member who then
    edits an older copy is the one who gets a conflicted copy, of their own version."""
    alice = await device(live, tmp_path, "alice", "laptop", register=True)
    bob = await device(live, tmp_path, "bob", "phone", register=True)
    try:
        alice.write("club/agenda.md", "agenda")
        await alice.sync()
        await share_with(alice, "club", bob, "editor")
        await bob.sync()
        alice.write("club/agenda.md", "agenda by alice")
        bob.write("club/agenda.md", "agenda by bob")
        report = await alice.sync()
        assert report.conflicts == []
        assert alice.listing() == ["club", "club/agenda.md"]
        report = await bob.sync()
        [copy] = report.conflicts
        assert copy.startswith("club/agenda (conflicted copy from phone ")
        assert bob.read("club/agenda.md") == b"agenda by alice"
        assert bob.read(copy) == b"agenda by bob"
        await alice.sync()
        assert alice.listing() == bob.listing()
    finally:
        await alice.client.close()
        await bob.client.close()


async def test_a_file_where_a_share_arrives_stays_and_the_share_mounts_beside_it(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "the plan")
    await alice.sync()
    await bob.sync()
    bob.write("team", "bob's note, made offline")  # the server has never seen it
    info = await share_with(alice, "team", bob, "viewer")
    assert info.folder == "team"  # the server could not know of the file

    report = await bob.sync()
    assert report.conflicts == []
    assert [(a.name, a.owner, a.folder) for a in report.mounted_aside] == [
        ("team", "alice", "team (from alice)")
    ]
    assert bob.read("team") == b"bob's note, made offline"  # untouched
    assert bob.read("team (from alice)/plan.txt") == b"the plan"
    assert "team" in report.uploaded  # into bob's home, as his own file
    files = RemoteFiles(bob.client)
    home = next(ns for ns in await files.namespaces() if ns.kind == "home")
    assert [(e.path, e.kind) for e in await files.entries(home)] == [("team", "file")]
    again = await bob.sync()
    assert not again.acted and again.mounted_aside == []  # said once; the mount stays
    assert bob.read("team (from alice)/plan.txt") == b"the plan"


async def test_a_member_renaming_a_shared_folder_empties_it_for_nobody(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "the plan")
    await alice.sync()
    await share_with(alice, "team", bob, "editor")
    await bob.sync()

    (bob.root / "team").rename(bob.root / "club")
    report = await bob.sync()
    assert report.restored == ["team"] and not report.deleted_remote
    assert bob.read("team/plan.txt") == b"the plan"  # the share, back where it was
    assert bob.read("club/plan.txt") == b"the plan"  # and bob's copy, now his own
    await alice.sync()
    assert alice.read("team/plan.txt") == b"the plan"  # nothing deleted for alice
    mine = [r.shown for r in await RemoteFiles(bob.client).ls(recursive=True)]
    assert mine == ["club", "club/plan.txt", "team"]

    shutil.rmtree(bob.root)  # the whole workspace, share and all: said once
    assert (await bob.sync()).restored == [""]
    assert bob.listing() == ["club", "club/plan.txt", "team", "team/plan.txt"]
