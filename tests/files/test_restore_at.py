"""`roost files restore DIR --at TIME` through the real server and CLI: the folder comes back
to its journal at that moment, as new versions, with nothing lost; --dry-run changes nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.errors import ClientError
from client.files import RemoteFiles
from client.restore_at import as_of, parse_time, step_for
from protocol import files as wire
from tests.conftest import LiveServer
from tests.files.helpers import Device
from tests.helpers import Home

NOW = datetime(2026, 12, 5, 14, 0, 0).astimezone()


def entry(path: str, at: int, blocks: list[str], deleted: bool = False) -> wire.Entry:
    return wire.Entry(str(at), "1", path, at, "file", 1, 0, deleted, blocks, None, "d", at)


def test_the_version_current_at_a_time_and_what_brings_it_back() -> None:
    versions = [entry("a", 30, ["h3"]), entry("a", 20, [], deleted=True), entry("a", 10, ["h1"])]
    assert as_of(versions, "a", 25).version_id == "20"  # type: ignore[union-attr]
    assert as_of(versions, "a", 5) is None
    assert as_of([entry("old", 1, ["h"])], "a", 5) is None  # before a move: the old path's
    current = versions[0]
    assert step_for(current, as_of(versions, "a", 15)).kind == "restore"  # type: ignore[union-attr]
    assert step_for(current, as_of(versions, "a", 25)).kind == "delete"  # type: ignore[union-attr]
    assert step_for(current, None).kind == "delete"  # type: ignore[union-attr]
    assert step_for(current, current) is None
    assert step_for(versions[1], None) is None  # deleted now and then


def test_times_people_type() -> None:
    assert parse_time("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_time("90m ago", NOW) == NOW - timedelta(minutes=90)
    assert parse_time("13:15", NOW) == NOW.replace(hour=13, minute=15)
    assert parse_time("2026-12-05 09:30", NOW) == NOW.replace(hour=9, minute=30)
    assert parse_time(NOW.isoformat(), NOW) == NOW
    with pytest.raises(ClientError, match="in the future"):
        parse_time("15:00", NOW)
    with pytest.raises(ClientError, match="too long ago"):
        parse_time("99999999999d", NOW)
    with pytest.raises(ClientError, match="not a time"):
        parse_time("yesterday-ish", NOW)


@given(
    st.one_of(
        st.text(max_size=30),
        st.from_regex(r"\d{1,16} ?(s|m|min|h|d)( ago)?", fullmatch=True),
        st.from_regex(r"\d{1,4}-\d{1,2}-\d{1,2}( \d{1,2}:\d{1,2})?", fullmatch=True),
    )
)
def test_any_text_is_a_time_or_one_clear_line(text: str) -> None:
    try:
        when = parse_time(text, NOW)
    except ClientError as exc:
        assert "\n" not in str(exc) and "--at" in str(exc)
    else:
        assert when <= NOW


async def test_a_folder_restored_to_a_time_matches_its_journal_then(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    laptop, desktop = pair
    laptop.write("docs/a.txt", "a then")
    laptop.write("docs/b.txt", "b then")
    laptop.write("docs/sub/c.txt", "c then")
    laptop.write("docs/old/y.txt", "in a folder deleted later")
    laptop.write("other.txt", "not in docs")
    await laptop.sync()
    await asyncio.sleep(0.05)
    moment = datetime.now().astimezone()
    await asyncio.sleep(0.05)
    laptop.write("docs/a.txt", "a edited badly")
    (laptop.root / "docs/b.txt").unlink()
    laptop.write("docs/new.txt", "made after")
    laptop.write("docs/later/x.txt", "in a folder made after")
    shutil.rmtree(laptop.root / "docs/old")
    laptop.write("other.txt", "edited, outside docs")
    await laptop.sync()

    cli = Home(laptop.client.home.path, live.url)
    dry = await cli.ok("files", "restore", "docs", "--at", moment.isoformat(), "--dry-run")
    assert "would restore: docs/a.txt" in dry.stdout
    assert "would restore: docs/b.txt" in dry.stdout
    assert "would delete: docs/new.txt" in dry.stdout
    assert "would delete: docs/later\n" in dry.stdout or "would delete: docs/later " in dry.stdout
    assert "would restore: docs/old/y.txt" in dry.stdout
    assert "c.txt" not in dry.stdout and "other" not in dry.stdout
    assert "nothing changed" in dry.stderr
    files = RemoteFiles(laptop.client)
    assert len(await files.history("docs/a.txt")) == 2  # the dry run wrote nothing

    done = await cli.ok("files", "restore", "docs", "--at", moment.isoformat(), "--json")
    changes = {c["path"]: c["action"] for c in json.loads(done.stdout)["changes"]}
    assert changes == {
        "docs/a.txt": "restore",
        "docs/b.txt": "restore",
        "docs/old": "restore",
        "docs/old/y.txt": "restore",
        "docs/new.txt": "delete",
        "docs/later": "delete",
        "docs/later/x.txt": "delete",
    }

    await desktop.sync()
    assert desktop.read("docs/a.txt") == b"a then"
    assert desktop.read("docs/b.txt") == b"b then"
    assert desktop.read("docs/sub/c.txt") == b"c then"
    assert not (desktop.root / "docs/new.txt").exists()
    assert not (desktop.root / "docs/later").exists()
    assert desktop.read("docs/old/y.txt") == b"in a folder deleted later"
    assert desktop.read("other.txt") == b"edited, outside docs"  # outside the folder: as now
    # Nothing lost: the bad edit and the newer file stay in the history.
    assert [v.size for v in await files.history("docs/a.txt")][1] == len("a edited badly")
    newer = await files.history("docs/new.txt")
    assert newer[0].deleted and not newer[1].deleted

    one = await cli.ok("files", "restore", "other.txt", "--at", moment.isoformat())
    assert "1 new version " in one.stderr
    await desktop.sync()
    assert desktop.read("other.txt") == b"not in docs"  # one file works too

    again = await cli.ok("files", "restore", "docs", "--at", moment.isoformat())
    assert "nothing to restore" in again.stderr
    bad = await cli.run("files", "restore", "docs", "--at", "someday")
    assert bad.code != 0 and "not a time" in bad.stderr and len(bad.stderr.splitlines()) == 1
    nowhere = await cli.run("files", "restore", "nowhere", "--at", "1h")
    assert nowhere.code != 0 and "no file or folder 'nowhere'" in nowhere.stderr
