"""The conflict inbox through the real server, client core and CLI: a conflict made by two
devices is listed with both sides, diffed, and resolved on every device."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from client.sync.conflicts import conflicted_copy_name, parse_copy_name
from tests.conftest import LiveServer
from tests.files.helpers import Device, share_with
from tests.helpers import Home

names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"), min_size=1
)


@given(st.lists(names, min_size=1, max_size=3), names, st.datetimes(datetime(2000, 1, 1)))
def test_a_copy_name_says_its_file_device_and_time(
    parts: list[str], device: str, when: datetime
) -> None:
    path = "/".join(parts)
    copy = conflicted_copy_name(path, device, when)
    said = parse_copy_name(copy)
    assert said is not None
    assert said.original == path
    assert said.when == when.replace(microsecond=0)
    assert parse_copy_name(path) is None or "(conflicted copy from" in path


async def conflict(laptop: Device, desktop: Device) -> str:
    """Both edit notes.txt; the laptop syncs second and keeps its edit as a conflicted copy."""
    laptop.write("notes.txt", "line one\nline two\n")
    await laptop.sync()
    await desktop.sync()
    desktop.write("notes.txt", "line one\nline two from the desktop\n")
    laptop.write("notes.txt", "line one\nline two from the laptop\n")
    await desktop.sync()
    report = await laptop.sync()
    [copy] = report.conflicts
    await desktop.sync()
    assert desktop.read(copy) == b"line one\nline two from the laptop\n"
    return copy


async def test_theirs_on_one_device_resolves_it_on_all(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    laptop, desktop = pair
    copy = await conflict(laptop, desktop)
    cli = Home(desktop.client.home.path, live.url)
    listed = json.loads((await cli.ok("conflicts", "--json")).stdout)["conflicts"]
    assert [(c["path"], c["copy"]) for c in listed] == [("notes.txt", copy)]
    assert listed[0]["mine"]["device"] == "laptop"
    assert listed[0]["theirs"]["device"] == "desktop"
    table = (await cli.ok("conflicts")).stdout
    assert "laptop" in table and "desktop" in table and copy in table

    diff = (await cli.ok("conflicts", "diff", "notes.txt")).stdout
    assert "-line two from the desktop" in diff
    assert "+line two from the laptop" in diff

    missing = await cli.run("conflicts", "keep", "notes.txt")
    assert missing.code != 0 and "exactly one of --mine" in missing.stderr
    await cli.ok("conflicts", "keep", "notes.txt", "--theirs")
    await desktop.sync()
    await laptop.sync()
    for device in (laptop, desktop):
        assert not (device.root / copy).exists()
        assert device.read("notes.txt") == b"line one\nline two from the desktop\n"
    assert "no conflicted copies" in (await cli.ok("conflicts")).stderr
    gone = await cli.run("conflicts", "diff", "notes.txt")
    assert gone.code != 0 and "no conflicted copy 'notes.txt'" in gone.stderr


async def test_mine_and_both_resolve_it_on_all(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    laptop, desktop = pair
    copy = await conflict(laptop, desktop)
    cli = Home(desktop.client.home.path, live.url)
    await cli.ok("conflicts", "keep", copy, "--mine")
    await desktop.sync()
    await laptop.sync()
    for device in (laptop, desktop):
        assert device.read("notes.txt") == b"line one\nline two from the laptop\n"
        assert not (device.root / copy).exists()

    copy = await conflict(laptop, desktop)
    await cli.ok("conflicts", "keep", copy, "--both")
    await desktop.sync()
    await laptop.sync()
    for device in (laptop, desktop):
        assert device.read("notes.txt") == b"line one\nline two from the desktop\n"
        assert device.read("notes (laptop).txt") == b"line one\nline two from the laptop\n"
        assert not (device.root / copy).exists()


async def test_a_viewer_sees_a_shares_conflicts_but_cannot_resolve_or_restore(
    alice_and_bob: tuple[Device, Device], live: LiveServer
) -> None:
    alice, bob = alice_and_bob
    copy = "team/doc (conflicted copy from phone 2026-01-02 030405).txt"
    alice.write("team/doc.txt", "theirs\n")
    alice.write(copy, "mine\n")
    alice.write("team/pic.bin", b"\x00\xff" * 10)
    alice.write("team/pic (conflicted copy from phone 2026-01-02 030405).bin", b"\x00\x01")
    await alice.sync()
    await share_with(alice, "team", bob, "viewer")
    cli = Home(bob.client.home.path, live.url)
    listed = json.loads((await cli.ok("conflicts", "--json")).stdout)["conflicts"]
    assert {c["copy"] for c in listed} == {copy, copy.replace("doc", "pic").replace("txt", "bin")}
    binary = await cli.ok("conflicts", "diff", "team/pic.bin")
    assert binary.stdout.startswith("binary files differ")
    for args in (
        ("conflicts", "keep", "team/doc.txt", "--theirs"),
        ("files", "restore", "team", "--at", "1h"),
    ):
        refused = await cli.run(*args)
        assert refused.code != 0 and "viewer" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert "team/" + copy.partition("/")[2] in (await cli.ok("conflicts")).stdout


async def test_a_diff_shows_an_escape_sequence_instead_of_sending_it(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    """A share member's edit that carries a terminal command reaches the diff as text."""
    laptop, desktop = pair
    laptop.write("notes.txt", "line one\n")
    await laptop.sync()
    await desktop.sync()
    desktop.write("notes.txt", "line one\x1b]52;c;aGk=\x07\x1b[2J\n")
    laptop.write("notes.txt", "line one, calmly\n")
    await desktop.sync()
    await laptop.sync()
    cli = Home(desktop.client.home.path, live.url)
    diff = (await cli.ok("conflicts", "diff", "notes.txt")).stdout
    assert "\x1b" not in diff and "\x07" not in diff
    assert "+line one, calmly" in diff and "2J" in diff  # shown, in a visible form
