"""Names the sync client keeps for itself (`.roostignore`, `.roost-workspace`, its temp files,
`NAME (unshared)`): the server refuses them where they would collide, and the client is not
wedged by what an older server let through, nor by a folder of such a name on its own disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.errors import ServerError
from client.files import RemoteFiles
from client.sync.engine import HELD_BACK, MARKER_IS_A_FOLDER
from client.sync.ignore import IGNORE_FILE, MARKER, reserved_here
from protocol import files as wire
from protocol.errors import ErrorCode
from storage.server.files import NewVersion
from tests.conftest import LiveServer
from tests.files.helpers import Device


async def commit(d: Device, items: list[wire.CommitItem]) -> list[wire.Outcome]:
    home = (await RemoteFiles(d.client).locate("")).namespace
    result: wire.CommitResult = await d.client.call("files.commit", wire.Commit(home.id, items))
    return result.outcomes


def folder(path: str) -> wire.CommitItem:
    return wire.CommitItem(path=path, parent_id=None, kind=wire.Kind.DIR)


def empty_file(path: str) -> wire.CommitItem:
    return wire.CommitItem(path=path, parent_id=None)


async def test_the_server_refuses_folders_where_the_client_keeps_its_files(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, _ = alice_and_bob
    refused = [
        folder(".roostignore"),
        folder(".ROOST-WORKSPACE"),  # one name on a case-insensitive disk
        empty_file(".roost-workspace/inside.txt"),  # implies the folder
        empty_file(".roostignore/rules.txt"),
        empty_file("docs/.roost-tmp-1-2"),
        folder(".roost-tmp-x"),
    ]
    allowed = [empty_file(".roostignore"), folder("docs/.roostignore"), folder("docs")]
    outcomes = await commit(alice, refused + allowed)
    for item, outcome in zip(refused, outcomes, strict=False):
        assert outcome.code == ErrorCode.INVALID_ARGS, item.path
        assert outcome.message and "Roost" in outcome.message, outcome.message
    assert outcomes[1].message == (
        "bad path '.ROOST-WORKSPACE': '.ROOST-WORKSPACE' at the top is a file Roost itself"
        " keeps; it cannot be a folder"
    )
    assert [o.entry is not None for o in outcomes[len(refused) :]] == [True, True, True]


async def test_the_server_refuses_shares_named_like_the_clients_own_things(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, _ = alice_and_bob
    files = RemoteFiles(alice.client)
    for name in (".roostignore", ".Roost-Workspace", ".roost-tmp-9", "notes (unshared)"):
        with pytest.raises(ServerError, match="cannot be shared") as refused:
            await files.share(name, "bob", "viewer")
        assert refused.value.code == ErrorCode.INVALID_ARGS
    outcomes = await commit(alice, [folder("team"), folder("team/.roost-workspace")])
    assert [o.entry is not None for o in outcomes] == [True, True]  # not the top of the home
    with pytest.raises(ServerError, match=r"'team' cannot be shared: 'team/\.roost-workspace'"):
        await files.share("team", "bob", "viewer")  # it would be the top of the share
    assert await files.shares() == []  # nothing half-made
    await files.share("notes (unshared 2) x", "bob", "viewer")  # only the ending counts


async def old_server_data(
    live: LiveServer, owner: Device, ns_id: int, entries: list[tuple[str, str]]
) -> None:
    """Entries (path, kind) as an older server let them in: empty files and folders."""
    services = live.server._services
    assert services is not None
    user_id = int(owner.client.home.require_account().user_id)
    async with services.db.write() as tx:
        news = [
            (services.ids.next(), NewVersion(path, path.casefold(), kind, 0, 0, False, None, ()))
            for path, kind in entries
        ]
        await services.files.add_versions(tx, ns_id, news, user_id, "old", 0)


async def old_share(live: LiveServer, owner: Device, member: Device, name: str) -> int:
    """A share an older server made: no invitation, the member joined under its name."""
    services = live.server._services
    assert services is not None
    ns_id = services.ids.next()
    async with services.db.write() as tx:
        owner_id = int(owner.client.home.require_account().user_id)
        member_id = int(member.client.home.require_account().user_id)
        await services.files.create_shared(tx, ns_id, owner_id, name, 0)
        await services.files.set_member(tx, ns_id, member_id, "editor")
    return ns_id


async def test_old_server_data_with_such_folders_does_not_wedge_a_member(
    live: LiveServer, alice_and_bob: tuple[Device, Device]
) -> None:
    alice, bob = alice_and_bob
    bob.write(IGNORE_FILE, "*.tmp\n")
    bob.write("notes.txt", "bob's notes")
    bob.write("scratch.tmp", "never synced")
    await bob.sync()
    home = int((await RemoteFiles(bob.client).locate("")).namespace.id)
    await old_server_data(
        live,
        bob,
        home,
        [
            (".roostignore", "dir"),
            (".roostignore/old.txt", "file"),
            (".roost-workspace", "dir"),
            (".roost-workspace/x.txt", "file"),
        ],
    )
    ns = await old_share(live, alice, bob, ".roostignore")
    await old_server_data(live, alice, ns, [("agenda.txt", "file")])

    report = await bob.sync()
    assert bob.read(IGNORE_FILE) == b"*.tmp\n"  # bob's rules stay a file, still in use
    assert (bob.root / MARKER).is_file()
    assert report.conflicts == [] and report.uploaded == []
    assert [a.folder for a in report.mounted_aside] == [".roostignore (from alice)"]
    assert bob.read(".roostignore (from alice)/agenda.txt") == b""
    assert f"{IGNORE_FILE}: {HELD_BACK}" in report.warnings
    assert f"{MARKER}: {HELD_BACK}" in report.warnings
    again = await bob.sync()
    assert not again.acted and again.warnings == []  # said once
    bob.write("more.txt", "still syncing")
    assert (await bob.sync()).uploaded == ["more.txt"]
    listed = [e.path for e in await RemoteFiles(bob.client).entries(
        (await RemoteFiles(bob.client).locate("")).namespace
    ) if not e.deleted]  # fmt: skip
    assert not any("conflicted" in p for p in listed) and "scratch.tmp" not in listed
    # Deleting what the older server let in is allowed.
    refs = {e.path: e for e in await RemoteFiles(bob.client).entries(
        (await RemoteFiles(bob.client).locate("")).namespace
    )}  # fmt: skip
    gone = wire.CommitItem(".roostignore/old.txt", refs[".roostignore/old.txt"].version_id,
                           deleted=True)  # fmt: skip
    [outcome] = await commit(bob, [gone])
    assert outcome.entry is not None


async def test_a_local_folder_named_like_the_ignore_file_does_not_wedge_the_sync(
    alice_and_bob: tuple[Device, Device],
) -> None:
    _, bob = alice_and_bob
    bob.write(".roostignore/rules.txt", "*.log\n")  # a folder, where a file was meant
    bob.write("notes.txt", "hello")
    bob.write("debug.log", "not ignored: no rules apply")
    report = await bob.sync()
    assert sorted(report.uploaded) == ["debug.log", "notes.txt"]
    [warning] = report.warnings
    assert warning.startswith(".roostignore is a folder, not a file of ignore rules")
    assert (await bob.sync()).warnings == []  # said once, not every pass
    (bob.root / ".roostignore/rules.txt").unlink()
    (bob.root / ".roostignore").rmdir()
    bob.write(".roostignore", "*.log\n")
    report = await bob.sync()
    assert report.uploaded == [] and report.warnings == []  # the rules stay on this device
    bob.write("other.log", "ignored now")
    assert (await bob.sync()).uploaded == []


async def test_a_marker_that_is_a_folder_is_never_uploaded(
    alice_and_bob: tuple[Device, Device],
) -> None:
    _, bob = alice_and_bob
    bob.write("notes.txt", "hello")
    await bob.sync()
    (bob.root / MARKER).unlink()
    bob.write(f"{MARKER}/inside.txt", "a folder where the marker was")
    (bob.root / "notes.txt").unlink()  # while the marker is off, this is not a deletion
    report = await bob.sync()
    assert report.warnings == [MARKER_IS_A_FOLDER]
    assert report.uploaded == [] and report.deleted_remote == [] and report.conflicts == []
    assert bob.read("notes.txt") == b"hello"  # brought back: the base was not trusted
    assert bob.read(f"{MARKER}/inside.txt") == b"a folder where the marker was"
    files = RemoteFiles(bob.client)
    home = (await files.locate("")).namespace
    assert [e.path for e in await files.entries(home)] == ["notes.txt"]


NAME_PARTS = st.sampled_from(
    [".roostignore", ".ROOSTIGNORE", ".roost-workspace", ".roost-tmp-1", ".Roost-Tmp-", "a", ".r"]
)


@given(st.lists(NAME_PARTS, min_size=1, max_size=3).map("/".join), st.booleans())
def test_what_the_server_refuses_the_client_never_sends(path: str, is_dir: bool) -> None:
    """The client's rule (`reserved_here`) covers every live entry the server refuses at the
    top of a workspace, so a pass never offers what every commit would turn down."""
    kind = wire.Kind.DIR if is_dir else wire.Kind.FILE
    if wire.reserved_problem(path, kind):
        assert reserved_here(path, is_dir), path


def test_share_names_the_client_treats_specially() -> None:
    assert wire.share_name_problem("team") is None
    assert wire.share_name_problem("team (unshared)")
    assert wire.share_name_problem("team (unshared 12)")
    assert wire.share_name_problem("team (unshared) 2") is None
    assert wire.share_name_problem(".roostignore")
    assert wire.share_name_problem(".roost-tmp-1")
    assert wire.kept_copy_name("team", 3) == "team (unshared 3)"
    assert wire.share_name_problem(wire.kept_copy_name("x", 7))


def test_a_mount_is_never_a_reserved_name(tmp_path: Path) -> None:
    from client.sync.mounts import mount_points

    shares = [
        wire.Namespace("1", ".roostignore", "shared", "editor", "alice", 1),
        wire.Namespace("2", "team", "shared", "editor", "alice", 1),
        wire.Namespace("3", "Team", "shared", "viewer", "carol", 1),
        wire.Namespace("4", "mine", "shared", "owner", "bob", 1),
    ]
    got = mount_points(shares, {}, on_disk={"mine", "TEAM"}, synced_before=set())
    assert got == {
        "1": ".roostignore (from alice)",
        "2": "team (from alice)",
        "3": "Team (from carol)",
        "4": "mine",  # bob's own folder, shared by him
    }
    kept = mount_points(shares, {"2": "team", "1": ".roostignore"}, on_disk={"team"},
                        synced_before=set())  # fmt: skip
    assert kept["2"] == "team" and kept["1"] == ".roostignore (from alice)"
