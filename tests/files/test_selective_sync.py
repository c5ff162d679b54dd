"""Selective sync through the real server, client core and CLI: an excluded folder leaves this
device only, is not fetched, comes back when included, survives exclude/include cycles with
nothing lost on the server; files put into it here are kept and reported, never uploaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.errors import ClientError
from client.files import RemoteFiles
from client.sync.ignore import excluded_by
from client.sync.selective import workspace_path
from tests.conftest import LiveServer
from tests.files.helpers import Device, share_with
from tests.helpers import Home


def test_which_excluded_folder_a_path_is_in() -> None:
    excluded = {"Videos", "Docs/old"}
    assert excluded_by("Videos", excluded) == "Videos"
    assert excluded_by("Videos/a/b.mp4", excluded) == "Videos"
    assert excluded_by("Docs/old/x", excluded) == "Docs/old"
    assert excluded_by("Docs/older", excluded) is None
    assert excluded_by("VideosX/a", excluded) is None


def test_a_folder_named_on_disk_or_in_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "Photos").mkdir(parents=True)
    assert workspace_path("Photos/2024", root, cwd=tmp_path) == "Photos/2024"
    assert workspace_path(str(root / "Photos"), root) == "Photos"
    assert workspace_path("Photos", root, cwd=root) == "Photos"
    with pytest.raises(ClientError, match="not inside the synced folder"):
        workspace_path(str(tmp_path / "elsewhere"), root)
    with pytest.raises(ClientError, match="bad path"):
        workspace_path("a//../b", root, cwd=tmp_path)


async def server_files(device: Device) -> dict[str, int]:
    listing = await RemoteFiles(device.client).listing()
    return {p: e.size for p, e in listing.entries if not e.deleted}


async def test_an_excluded_folder_survives_cycles_with_nothing_lost(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    laptop, desktop = pair
    desktop.write("Videos/trip.mp4", b"\x00video" * 1000)
    desktop.write("Videos/2024/clip.mp4", b"clip")
    desktop.write("Docs/notes.txt", "notes")
    await desktop.sync()
    await laptop.sync()
    on_server = await server_files(desktop)
    cli = Home(laptop.client.home.path, live.url)

    for _ in range(2):
        said = await cli.ok("sync", "exclude", "Videos")
        assert "removed from this device only" in said.stderr
        assert not (laptop.root / "Videos").exists()
        assert laptop.read("Docs/notes.txt") == b"notes"
        await laptop.sync()  # not fetched, not deleted anywhere
        assert not (laptop.root / "Videos").exists()
        desktop.write("Videos/2024/clip.mp4", b"clip, edited on the desktop")
        await desktop.sync()
        await laptop.sync()
        assert not (laptop.root / "Videos").exists()
        on_server["Videos/2024/clip.mp4"] = len(b"clip, edited on the desktop")
        assert await server_files(desktop) == on_server
        assert desktop.read("Videos/trip.mp4") == b"\x00video" * 1000
        status = json.loads((await cli.ok("sync", "status", "--json")).stdout)
        assert status["excluded"] == ["Videos"]
        assert "excluded: Videos" in (await cli.ok("sync", "status")).stdout

        await cli.ok("sync", "include", "Videos")
        assert laptop.read("Videos/2024/clip.mp4") == b"clip, edited on the desktop"
        assert laptop.read("Videos/trip.mp4") == b"\x00video" * 1000
        assert await server_files(desktop) == on_server
        desktop.write("Videos/2024/clip.mp4", b"clip")
        await desktop.sync()
        await laptop.sync()
        on_server["Videos/2024/clip.mp4"] = 4
    assert json.loads((await cli.ok("sync", "status", "--json")).stdout)["excluded"] == []


async def test_edits_under_an_excluded_folder_are_refused_and_kept(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    laptop, desktop = pair
    laptop.write("Videos/trip.mp4", "trip")
    laptop.write("Videos/draft.tmp", "an editor's temp file: never on the server")
    await laptop.sync()
    cli = Home(laptop.client.home.path, live.url)
    refused = await cli.run("sync", "exclude", "Videos")
    assert refused.code != 0
    assert "Videos/draft.tmp" in refused.stderr and "not on the server" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert laptop.read("Videos/trip.mp4") == b"trip"  # refused: nothing removed
    (laptop.root / "Videos/draft.tmp").unlink()
    await cli.ok("sync", "exclude", "Videos")

    laptop.write("Videos/new-here.txt", "made while excluded")
    report = await laptop.sync()
    assert [p for p, _ in report.refused] == ["Videos"]
    assert "excluded on this device" in dict(report.refused)["Videos"]
    assert laptop.read("Videos/new-here.txt") == b"made while excluded"  # kept, not lost
    assert "Videos/new-here.txt" not in await server_files(laptop)
    await desktop.sync()
    assert not (desktop.root / "Videos/new-here.txt").exists()

    for bad, why in [
        (("sync", "exclude", "Videos"), "already excluded"),
        (("sync", "exclude", "Nowhere"), "no folder 'Nowhere'"),
        (("sync", "include", "Docs"), "not excluded"),
        (("sync", "include", "Videos/sub"), "inside Videos"),
        (("sync", "exclude"), "name the folder"),
    ]:
        result = await cli.run(*bad)
        assert result.code != 0 and why in result.stderr, (bad, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1

    await cli.ok("sync", "include", "Videos")  # the file made meanwhile goes up now
    await desktop.sync()
    assert desktop.read("Videos/new-here.txt") == b"made while excluded"
    assert desktop.read("Videos/trip.mp4") == b"trip"


async def test_a_member_excludes_a_shared_folder_and_the_owner_loses_nothing(
    alice_and_bob: tuple[Device, Device], live: LiveServer
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "the plan")
    alice.write("team/sub/notes.txt", "notes")
    await alice.sync()
    await share_with(alice, "team", bob, "editor")
    await bob.sync()
    assert bob.read("team/plan.txt") == b"the plan"
    cli = Home(bob.client.home.path, live.url)
    before = await server_files(alice)

    await cli.ok("sync", "exclude", "team")
    assert not (bob.root / "team").exists()
    await bob.sync()
    assert not (bob.root / "team").exists()  # the share's folder is not made again
    alice.write("team/plan.txt", "the plan, v2")
    await alice.sync()
    await bob.sync()
    assert not (bob.root / "team").exists()
    await cli.ok("sync", "include", "team")
    assert bob.read("team/plan.txt") == b"the plan, v2"
    assert bob.read("team/sub/notes.txt") == b"notes"
    await alice.sync()
    assert alice.read("team/sub/notes.txt") == b"notes"
    before["team/plan.txt"] = len(b"the plan, v2")
    assert await server_files(alice) == before
