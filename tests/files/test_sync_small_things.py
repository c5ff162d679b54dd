"""Sync behaves in the small things as Dropbox and Syncthing do: other programs' temporary
files stay on their device (unless `.roostignore` says otherwise), and a file still being
written is synced once, when it rests. Two devices through the real server."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from client.files import RemoteFiles
from client.sync.engine import SyncEngine, settle_ms_from_env
from client.sync.ignore import DEFAULT_IGNORED, Ignore
from client.sync.scan import still_written
from tests.files.helpers import Device

TEMP_NAMES = [
    "report.pdf.part",
    "setup.exe.crdownload",
    "draft.tmp",
    "~$budget.xlsx",
    ".#notes.org",
    ".notes.txt.swp",
    ".DS_Store",
    "photos/Thumbs.db",
]


REAL_NAMES = [
    "report.pdf",
    "setup.exe",
    "draft.tmpl",
    "budget.xlsx",
    "notes.org",
    "notes.txt",
    "DS_Store.txt",
    "photos/thumbs.jpg",
]


@pytest.mark.parametrize(("temp", "real"), zip(TEMP_NAMES, REAL_NAMES, strict=True))
def test_each_default_temp_name_is_ignored_and_its_real_file_is_not(
    tmp_path: Path, temp: str, real: str
) -> None:
    ignore = Ignore(tmp_path)
    assert ignore.ignored(temp)
    assert not ignore.ignored(real)


def test_the_defaults_are_the_documented_list() -> None:
    ops = (Path(__file__).parents[2] / "docs" / "OPERATIONS.md").read_text()
    assert all(f"`{pattern}`" in ops for pattern in DEFAULT_IGNORED)


def test_a_roostignore_negation_syncs_a_default_again(tmp_path: Path) -> None:
    (tmp_path / ".roostignore").write_text("!*.part\n")
    ignore = Ignore(tmp_path)
    assert not ignore.ignored("movie.mkv.part")
    assert ignore.ignored("draft.tmp")  # the other defaults still hold


def test_only_a_changed_file_modified_within_the_window_is_still_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    st = path.stat()
    now = time.time_ns()
    assert still_written(st, now, 1_500_000_000)
    assert not still_written(st, now + 2_000_000_000, 1_500_000_000)
    assert not still_written(st, now, 0)  # no window: everything is stable


def test_the_settle_window_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOST_SYNC_SETTLE_MS", "250")
    assert settle_ms_from_env() == 250
    monkeypatch.setenv("ROOST_SYNC_SETTLE_MS", "soon")
    assert settle_ms_from_env() == 1500  # a typo falls back to the default
    monkeypatch.delenv("ROOST_SYNC_SETTLE_MS")
    assert settle_ms_from_env() == 1500


async def test_temp_files_stay_on_their_device_until_roostignore_lets_them_through(
    pair: tuple[Device, Device],
) -> None:
    a, b = pair
    for name in TEMP_NAMES:
        a.write(name, "half written")
    a.write("report.pdf", "the real one")
    uploaded = (await a.sync()).uploaded
    assert sorted(uploaded) == ["photos", "report.pdf"]
    await b.sync()
    assert b.listing() == ["photos", "report.pdf"]

    a.write(".roostignore", "!*.part\n")
    assert (await a.sync()).uploaded == ["report.pdf.part"]  # the rules stay on the laptop
    await b.sync()
    assert "report.pdf.part" not in b.listing()  # the desktop's rules still skip it
    b.write(".roostignore", "!*.part\n")
    await b.sync()
    assert b.read("report.pdf.part") == b"half written"
    assert "draft.tmp" not in b.listing()


async def test_a_file_still_being_written_is_synced_once_when_it_rests(
    pair: tuple[Device, Device],
) -> None:
    a, b = pair
    a.engine = SyncEngine(a.client, a.root, settle_ms=600)
    path = a.write("video.bin", b"")
    piece = os.urandom(256 << 10)

    async def write_slowly() -> None:  # as a download or a copy writes: piece by piece
        with open(path, "wb") as f:
            for _ in range(8):
                f.write(piece)
                f.flush()
                await asyncio.sleep(0.2)

    writer = asyncio.create_task(write_slowly())
    await asyncio.sleep(0.05)
    report = await a.sync()  # starts while the file grows; waits for it to rest
    await writer
    assert report.uploaded == ["video.bin"] and report.settling == []
    history = await RemoteFiles(a.client).history("video.bin")
    assert [v.size for v in history] == [8 * len(piece)]  # one version: the whole file
    await b.sync()
    assert b.read("video.bin") == piece * 8
