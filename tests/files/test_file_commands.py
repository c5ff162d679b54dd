"""The file commands of a member of a share, through the real server and client core: a
shared folder fetched whole writes no dotfile and nothing outside its target; a viewer can
neither remove nor move."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from client.errors import ClientError
from client.file_commands import FileCommands
from client.files import RemoteFiles
from tests.files.helpers import Device, share_with


async def test_a_member_gets_a_shared_folder_without_dotfiles_or_escapes(
    alice_and_bob: tuple[Device, Device], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/.bashrc", "alias ls='rm -rf ~'")
    alice.write("team/sub/..evil", "x")
    alice.write("team/plan.txt", "the plan")
    await alice.sync()
    await share_with(alice, "team", bob, "viewer")
    commands = FileCommands(RemoteFiles(bob.client))
    out = tmp_path / "bob-got"
    plan = await commands.plan_get("team", out)
    await commands.get_folder(plan)
    got = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert got == ["bashrc", "plan.txt", "sub/evil"]  # no dotfile; nothing outside `out`
    with pytest.raises(ClientError, match="viewer"):
        await commands.remove("team/plan.txt")
    with pytest.raises(ClientError, match="viewer"):
        await commands.move("team/plan.txt", "team/other.txt")


async def test_names_typed_in_nfd_are_the_nfc_paths_they_look_like(
    pair: tuple[Device, Device],
) -> None:
    laptop, desktop = pair
    nfc = "Café"
    nfd = unicodedata.normalize("NFD", nfc)
    commands = FileCommands(RemoteFiles(laptop.client))
    made = await commands.make_folder(nfd)
    assert made.path == nfc
    with pytest.raises(ClientError, match="exists"):
        await commands.make_folder(nfc)
    with pytest.raises(ClientError, match="already there"):
        await commands.move(nfc, nfd)
    await commands.move(nfd, f"{nfd} 2026")
    await desktop.sync()
    assert desktop.listing() == [f"{nfc} 2026"]


async def test_a_move_keeps_history_and_usage_counts_content_once_on_every_engine(
    pair: tuple[Device, Device],
) -> None:
    laptop, desktop = pair
    laptop.write("docs/plan.txt", "v1")
    laptop.write("docs/copy.txt", "v1")  # the same content: stored once
    await laptop.sync()
    laptop.write("docs/plan.txt", "v2!")
    await laptop.sync()
    files = RemoteFiles(laptop.client)
    commands = FileCommands(files)
    await commands.move("docs", "archive")
    history = await files.history("archive/plan.txt")
    assert [(v.path, v.size) for v in history] == [
        ("archive/plan.txt", 3), ("docs/plan.txt", 3), ("docs/plan.txt", 2),
    ]  # fmt: skip
    await files.restore("archive/plan.txt", history[-1].version_id)
    await desktop.sync()
    assert desktop.listing() == ["archive", "archive/copy.txt", "archive/plan.txt"]
    assert desktop.read("archive/plan.txt") == b"v1"
    space = await laptop.client.call("files.usage")
    assert (space.current_files, space.current_bytes, space.current_stored) == (2, 4, 2)
    assert space.old_stored == 3  # "v2!" is only in old versions now


async def test_an_editor_of_a_share_renames_inside_it_and_the_owner_sees_it(
    alice_and_bob: tuple[Device, Device],
) -> None:
    alice, bob = alice_and_bob
    alice.write("team/plan.txt", "alice wrote this")
    await alice.sync()
    await share_with(alice, "team", bob, "editor")
    commands = FileCommands(RemoteFiles(bob.client))
    await commands.make_folder("team/done")
    await commands.move("team/plan.txt", "team/done")  # into the folder, as mv does
    with pytest.raises(ClientError, match="different places"):
        await commands.move("team/done/plan.txt", "mine.txt")
    await alice.sync()
    assert alice.listing() == ["team", "team/done", "team/done/plan.txt"]
    history = await RemoteFiles(alice.client).history("team/done/plan.txt")
    assert [v.device for v in history] == [bob.client.home.require_account().device_name, "a1"]
