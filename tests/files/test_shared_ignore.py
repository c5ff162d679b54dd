"""`.roostignore` at a shared folder's root, through the real server: it syncs like any file,
its rules apply on every member's device inside that folder, only owners and editors change
it; a device's own `.roostignore` at the top of its workspace stays on that device."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from client.errors import ServerError
from client.files import RemoteFiles
from client.sync.engine import SyncEngine
from client.sync.ignore import MARKER, Ignore
from client.sync.watch import run_forever
from protocol import files as wire
from tests.conftest import LiveServer
from tests.files.helpers import Device, device, share_with
from tests.helpers import SECOND


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(20 * SECOND):
        while not await check():
            await asyncio.sleep(0.05)


async def on_server(d: Device, path: str = "") -> list[str]:
    """Every live path under `path` as `roost files ls -r` shows it."""
    return [r.shown for r in await RemoteFiles(d.client).ls(path, recursive=True)]


async def shared_team(alice: Device, bob: Device, role: str, rules: str) -> None:
    """alice's folder Team with `rules` at its root, shared with bob, on both devices."""
    alice.write("Team/.roostignore", rules)
    alice.write("Team/plan.txt", "the plan")
    await alice.sync()
    await share_with(alice, "Team", bob, role)
    await alice.sync()
    await bob.sync()
    assert bob.read("Team/.roostignore") == rules.encode()


async def test_a_shared_rule_keeps_a_members_file_on_their_device_until_it_is_removed(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    await shared_team(alice, bob, "editor", "*.log\n")
    bob.write("Team/x.log", "bob's noise")
    bob.write("Team/notes.txt", "bob's notes")
    report = await bob.sync()
    assert report.uploaded == ["Team/notes.txt"]
    assert await on_server(alice, "Team") == [
        "Team/.roostignore",
        "Team/notes.txt",
        "Team/plan.txt",
    ]
    await alice.sync()
    assert not (alice.root / "Team/x.log").exists()

    alice.write("Team/.roostignore", "")  # the owner takes the rule out
    await alice.sync()
    report = await bob.sync()  # one run: fetch the rules, then the pass they allow
    assert report.downloaded == ["Team/.roostignore"] and report.uploaded == ["Team/x.log"]
    await alice.sync()
    assert alice.read("Team/x.log") == b"bob's noise"


async def test_a_shared_rule_keeps_what_others_already_sent_off_a_device_and_deletes_nothing(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    await shared_team(alice, bob, "editor", "")
    alice.write("Team/old.log", "synced before anyone ignored logs")
    await alice.sync()
    await bob.sync()
    assert bob.read("Team/old.log") == b"synced before anyone ignored logs"

    bob.write("Team/.roostignore", "*.log\n")  # an editor adds the rule for everyone
    assert (await bob.sync()).uploaded == ["Team/.roostignore"]
    (bob.root / "Team/old.log").unlink()  # ignored here now: the deletion stays here
    alice.write("Team/new.log", "made as the rule arrives")
    report = await alice.sync()
    assert report.downloaded == ["Team/.roostignore"] and not report.deleted_remote
    assert report.uploaded == []  # the rules came first
    alice.write("Team/later.log", "after")
    report = await bob.sync()
    assert not report.acted  # neither fetched nor deleted anywhere
    assert not (await alice.sync()).acted
    assert alice.read("Team/old.log") == b"synced before anyone ignored logs"
    assert alice.read("Team/new.log") == b"made as the rule arrives"
    assert await on_server(alice, "Team") == ["Team/.roostignore", "Team/old.log", "Team/plan.txt"]


async def test_rules_apply_in_the_very_pass_that_brings_them(
    alice_and_bob: tuple[Device, Device],
) -> None:
    """A member who joins does not fetch what the rules keep off, and a file written while
    the rules change is not sent: a pass fetches a share's new rules before anything else."""
    alice, bob = alice_and_bob
    alice.write("Team/old.log", "sent before the rule")
    alice.write("Team/plan.txt", "the plan")
    await alice.sync()
    alice.write("Team/.roostignore", "*.log\n")
    await alice.sync()
    await share_with(alice, "Team", bob, "editor")
    report = await bob.sync()
    assert sorted(report.downloaded) == ["Team/.roostignore", "Team/plan.txt"]
    assert bob.listing() == ["Team", "Team/.roostignore", "Team/plan.txt"]

    alice.write("Team/.roostignore", "*.log\n*.iso\n")
    await alice.sync()
    bob.write("Team/disk.iso", "written as the rule arrives")
    report = await bob.sync()
    assert report.downloaded == ["Team/.roostignore"] and not report.uploaded
    assert "Team/disk.iso" not in await on_server(alice, "Team")
    assert (await bob.sync()).acted is False
    assert bob.read("Team/disk.iso") == b"written as the rule arrives"


async def test_a_viewer_cannot_change_the_shared_rules(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    await shared_team(alice, bob, "viewer", "*.log\n")
    bob.write("Team/.roostignore", "")  # a viewer's edit, as any other: kept on bob's device
    report = await bob.sync()
    [copy] = report.conflicts
    assert copy.startswith("Team/.roostignore (conflicted copy from b1 ")
    assert report.kept_local == [copy] and not report.uploaded
    assert bob.read("Team/.roostignore") == b"*.log\n"  # the share's rules came back
    bob.write("Team/x.log", "bob's log")
    assert not (await bob.sync()).acted
    await alice.sync()
    assert alice.read("Team/.roostignore") == b"*.log\n"
    assert alice.listing() == ["Team", "Team/.roostignore", "Team/plan.txt"]
    files = RemoteFiles(bob.client)
    team = await files.locate("Team")
    [rules] = [e for e in await files.entries(team.namespace) if e.path == ".roostignore"]
    with pytest.raises(ServerError) as refused:  # nor by hand, past the client's rule
        await bob.client.call(
            "files.commit",
            wire.Commit(team.namespace.id, [wire.CommitItem(".roostignore", rules.version_id,
                                                           deleted=True)]),
        )  # fmt: skip
    assert refused.value.code == "forbidden"
    alice.write("Team/x.log", "alice's log")
    assert not (await alice.sync()).uploaded  # the share's rules still hold


async def test_my_own_rules_stay_on_my_device_and_apply_in_shares_too(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write(".roostignore", "*.bak\n")
    alice.write("draft.bak", "alice's backup")
    await shared_team(alice, bob, "editor", "")
    alice.write("Team/plan.bak", "alice's backup of the plan")
    bob.write("Team/bob.bak", "bob's")
    assert not (await alice.sync()).uploaded
    await bob.sync()
    assert ".roostignore" not in await on_server(alice)
    assert "Team/bob.bak" in await on_server(alice, "Team")  # alice's rules are alice's only
    assert bob.listing() == ["Team", "Team/.roostignore", "Team/bob.bak", "Team/plan.txt"]
    await alice.sync()
    assert not (alice.root / "Team/bob.bak").exists()  # ... and keep it off her device


async def test_a_bad_shared_rule_file_is_one_warning_and_the_sync_goes_on(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("Team/.roostignore", "!\n*.log\n")
    await alice.sync()
    await share_with(alice, "Team", bob, "editor")
    bob.write("Team/own.txt", "bob's own folder, before the share")
    report = await bob.sync()  # the share is mounted beside it, with its rules
    assert bob.read("Team (from alice)/.roostignore") == b"!\n*.log\n"
    assert report.warnings == [
        "Team (from alice)/.roostignore line 1: '!' is not a gitignore pattern: skipped, the"
        " other rules apply"
    ]
    bob.write("Team (from alice)/x.log", "noise")
    bob.write("Team (from alice)/notes.txt", "notes")
    report = await bob.sync()
    assert report.uploaded == ["Team (from alice)/notes.txt"]
    assert report.warnings == []  # said once, not every pass
    assert bob.read("Team/own.txt") == b"bob's own folder, before the share"


async def test_a_home_rule_file_an_older_roost_uploaded_is_deleted_nowhere(
    live: LiveServer, tmp_path: Path, pair: tuple[Device, Device]
) -> None:
    """Before, a workspace's own `.roostignore` synced between a user's devices: now each
    device keeps its copy, the server's stays, and none becomes a conflict."""
    a, b = pair
    for d in (a, b):
        d.engine.ignore = Ignore(d.root)  # as the older Roost read it: an ordinary file
    a.write(".roostignore", "*.log\n")
    await a.sync()
    await b.sync()
    assert b.read(".roostignore") == b"*.log\n"

    a.engine, b.engine = SyncEngine(a.client, a.root), SyncEngine(b.client, b.root)
    a.write(".roostignore", "*.log\n*.bak\n")  # edited here: stays here
    a.write("x.bak", "backup")
    assert not (await a.sync()).acted
    (b.root / ".roostignore").unlink()  # removed there: stays removed there only
    b.write("y.log", "now synced from the desktop")
    report = await b.sync()
    assert report.uploaded == ["y.log"] and not report.deleted_remote
    assert ".roostignore" in await on_server(a)
    versions = await RemoteFiles(a.client).history(".roostignore")
    assert [v.deleted for v in versions] == [False]  # the one an older Roost sent
    report = await a.sync()
    assert not report.acted and not report.conflicts
    assert a.read(".roostignore") == b"*.log\n*.bak\n"
    c = await device(live, tmp_path, "alice", "tablet")
    try:
        await c.sync()
        assert c.listing() == ["y.log"]  # nobody's rules but its own reach a new device
    finally:
        await c.client.close()


async def test_a_running_sync_sends_what_a_rule_taken_out_of_my_own_file_kept_back(
    live: LiveServer, tmp_path: Path
) -> None:
    """The device's own rule file never syncs, but a change to it still wakes a watching sync
    (else it would wait for the next poll, half a minute away)."""
    a = await device(live, tmp_path, "alice", "laptop", register=True)
    a.write(".roostignore", "*.log\n")
    a.write("x.log", "kept back, for now")
    stop = asyncio.Event()
    running = asyncio.create_task(run_forever(a.engine, stop))
    try:

        async def marked() -> bool:
            return (a.root / MARKER).exists()

        await eventually(marked)  # the first pass is done
        assert await on_server(a) == []
        a.write(".roostignore", "")

        async def sent() -> bool:
            return await on_server(a) == ["x.log"]

        await eventually(sent)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10 * SECOND)
        await a.client.close()
