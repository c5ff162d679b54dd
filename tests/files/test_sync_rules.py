"""Sync rules through the real server: conflicts, inserts, offline edits, versions, resume."""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from client.files import RemoteFiles
from client.sync import scan
from client.sync.decide import Action
from client.sync.engine import PassReport, SyncEngine
from client.sync.transfer import Transfer
from storage.content.chunker import Chunk, chunk_bytes
from tests.conftest import LiveServer
from tests.files.helpers import Device


def conflicted(d: Device) -> list[str]:
    return [p for p in d.listing() if "conflicted copy from" in p]


async def test_concurrent_edits_keep_both_everywhere(pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.write("doc.txt", "base")
    await a.sync()
    await b.sync()
    a.write("doc.txt", "from laptop")
    b.write("doc.txt", "from desktop")
    await a.sync()
    report = await b.sync()
    assert len(report.conflicts) == 1
    copy = report.conflicts[0]
    assert copy.startswith("doc (conflicted copy from desktop ") and copy.endswith(").txt")
    assert b.read("doc.txt") == b"from laptop"
    assert b.read(copy) == b"from desktop"
    await a.sync()
    assert a.read(copy) == b"from desktop" and a.read("doc.txt") == b"from laptop"
    assert a.listing() == b.listing()


async def test_a_run_that_did_all_it_planned_ends_after_one_pass(
    pair: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    a.write("notes/one.txt", "1")
    a.write("two.txt", "2")
    passes = 0
    one_pass = a.engine.sync_pass

    async def counted() -> PassReport:
        nonlocal passes
        passes += 1
        return await one_pass()

    monkeypatch.setattr(a.engine, "sync_pass", counted)
    report = await a.sync()
    assert sorted(report.uploaded) == ["notes", "notes/one.txt", "two.txt"]
    assert passes == 1  # no second pass only to find nothing left
    assert not (await a.sync()).acted  # and indeed nothing was left
    await b.sync()
    assert b.read("notes/one.txt") == b"1" and b.read("two.txt") == b"2"


async def test_edit_beats_delete_both_ways(pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.write("x.txt", "one")
    a.write("y.txt", "one")
    await a.sync()
    await b.sync()
    (a.root / "x.txt").unlink()  # deleted here, edited there
    b.write("x.txt", "edited")
    a.write("y.txt", "edited")  # edited here, deleted there
    (b.root / "y.txt").unlink()
    await a.sync()
    await b.sync()
    await a.sync()
    for d in (a, b):
        assert d.read("x.txt") == b"edited" and d.read("y.txt") == b"edited"
    assert not conflicted(a) and not conflicted(b)


async def test_insert_in_the_middle_moves_only_nearby_blocks(pair: tuple[Device, Device]) -> None:
    a, b = pair
    data = random.Random(5).randbytes(24 << 20)
    a.write("big.bin", data)
    await a.sync()
    first = a.sent
    assert first >= 10
    await b.sync()
    middle = len(data) // 2
    changed = data[:middle] + b"x" * 100 + data[middle:]
    a.write("big.bin", changed)
    await a.sync()
    assert 1 <= a.sent - first <= 2  # content-defined chunks: only the edited one(s) move
    fetched = b.engine.transfer.counters.blocks_fetched if b.engine.transfer else 0
    await b.sync()
    assert b.read("big.bin") == changed
    assert b.engine.transfer is not None
    assert b.engine.transfer.counters.blocks_fetched - fetched <= 2  # the rest come from disk


async def test_a_large_new_file_travels_while_it_is_hashed(
    pair: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a slow disk, a large file's blocks are on the server before its scan ends; each
    is sent once, and progress counts each once."""
    a, b = pair
    monkeypatch.setattr(scan, "EARLY_BYTES", 1 << 20)
    real_chunks = scan.chunk_stream_parallel

    def slow_disk(stream: BinaryIO) -> Iterator[Chunk]:
        for c in real_chunks(stream):
            time.sleep(0.05)
            yield c

    monkeypatch.setattr(scan, "chunk_stream_parallel", slow_disk)
    data = random.Random(11).randbytes(12 << 20)
    a.write("video.bin", data)
    progress: list[int] = []
    sent_before_plan: list[int] = []

    def planned(_: object) -> None:
        assert a.engine.transfer is not None
        sent_before_plan.append(a.engine.transfer.counters.blocks_sent)

    a.engine = SyncEngine(
        a.client, a.root, on_block=lambda h, n: progress.append(n), on_plan=planned
    )
    await a.engine.run_once()
    unique = list(dict.fromkeys(c.hash for c in chunk_bytes(data)))
    assert sent_before_plan[0] >= len(unique) // 2  # most went while the disk was read
    assert a.engine.transfer is not None
    assert sorted(a.engine.transfer.counters.sent_hashes) == sorted(unique)  # each once
    assert sum(progress) == len(data)
    await b.sync()
    assert b.read("video.bin") == data


async def test_offline_edits_are_found_by_the_start_scan(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    a, b = pair
    a.write("a.txt", "1")
    await a.sync()
    await b.sync()
    await b.client.close()  # desktop goes away; edits happen while nothing runs
    (b.root / "a.txt").write_text("edited offline")
    (b.root / "new").mkdir()
    (b.root / "new/file.txt").write_text("made offline")
    a.write("from-a.txt", "while desktop was off")
    await a.sync()
    await b.client.__aenter__()
    b.engine = SyncEngine(b.client, b.root)  # a fresh start, as after a reboot
    report = await b.engine.run_once()
    assert report.hashed == 2  # only the two changed files were re-read
    await a.sync()
    assert a.read("a.txt") == b"edited offline"
    assert a.read("new/file.txt") == b"made offline"
    assert b.read("from-a.txt") == b"while desktop was off"


async def test_a_workspace_deleted_or_replaced_whole_deletes_nothing_anywhere(
    pair: tuple[Device, Device],
) -> None:
    a, b = pair
    a.write("docs/plan.txt", "the plan")
    a.write("notes.txt", "notes")
    await a.sync()
    await b.sync()

    shutil.rmtree(a.root)  # the whole folder gone: deleted, moved, or its drive unmounted
    a.root.mkdir()
    shown = {s.path: s.action for s in (await a.engine.preview()).paths}
    assert shown == dict.fromkeys(["docs", "docs/plan.txt", "notes.txt"], Action.DOWNLOAD)
    report = await a.sync()
    assert report.restored == [""] and not report.deleted_remote
    assert a.listing() == ["docs", "docs/plan.txt", "notes.txt"]  # all of it back
    await b.sync()
    assert b.read("docs/plan.txt") == b"the plan"

    # An empty folder in its place (a mount point whose drive is not mounted) is the same.
    for path in sorted(a.root.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert (await a.sync()).restored == [""]
    assert a.read("notes.txt") == b"notes"

    # With its marker, a folder whose files are deleted deletes them: that is the person's.
    (a.root / "notes.txt").unlink()
    report = await a.sync()
    assert report.deleted_remote == ["notes.txt"] and not report.restored
    await b.sync()
    assert not (b.root / "notes.txt").exists()


class Unreadable:
    """`os` as the scan sees it, with permission denied on some paths: the tests run as root,
    which reads any file whatever its mode, so the error a person's chmod gives is injected."""

    def __init__(self, denied: set[Path]) -> None:
        self.denied = denied

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    def scandir(self, path: Path) -> Iterator[os.DirEntry[str]]:
        if Path(path) in self.denied:
            raise PermissionError(13, "Permission denied", str(path))
        return os.scandir(path)


async def test_what_this_device_may_not_read_is_never_taken_for_deleted(
    pair: tuple[Device, Device], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    a.write("private/diary.txt", "dear diary")
    a.write("photo.jpg", "pixels")
    a.write("notes.txt", "notes")
    await a.sync()
    await b.sync()

    denied = {b.root / "private", b.root / "photo.jpg"}
    monkeypatch.setattr(scan, "os", Unreadable(denied))
    real_hash = scan.hash_file

    def hash_file(path: Path, on_chunk: scan.OnChunk | None = None) -> object:
        if path in denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_hash(path, on_chunk)

    monkeypatch.setattr(scan, "hash_file", hash_file)
    (b.root / "photo.jpg").write_text("edited: so it must be read again")
    (b.root / "notes.txt").unlink()
    a.write("private/diary.txt", "a new entry, from the laptop")
    report = await b.sync()
    assert report.deleted_remote == ["notes.txt"]  # a real deletion still travels
    assert sorted(p for p, _ in report.refused) == ["photo.jpg", "private"]
    assert all("permission denied" in why for _, why in report.refused)
    assert (b.root / "private/diary.txt").read_text() == "dear diary"  # not written over
    await a.sync()
    assert a.read("private/diary.txt") == b"a new entry, from the laptop"
    assert a.read("photo.jpg") == b"pixels"  # nothing deleted on the server or the laptop

    monkeypatch.undo()  # readable again: it syncs as usual
    report = await b.sync()
    assert not report.refused
    assert b.read("private/diary.txt") == b"a new entry, from the laptop"
    await a.sync()
    assert a.read("photo.jpg") == b"edited: so it must be read again"


async def test_history_and_restore_including_a_deleted_file(pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.write("r.txt", "v1")
    await a.sync()
    a.write("r.txt", "v2 longer")
    await a.sync()
    (a.root / "r.txt").unlink()
    await a.sync()
    files = RemoteFiles(a.client)
    versions = await files.history("r.txt")
    assert [v.deleted for v in versions] == [True, False, False]
    first = versions[-1]
    restored = await files.restore("r.txt", first.version_id)
    assert restored.parent_id == versions[0].version_id and not restored.deleted
    assert len(await files.history("r.txt")) == 4  # a restore is a new version
    await a.sync()
    await b.sync()
    assert a.read("r.txt") == b"v1" == b.read("r.txt")


async def test_an_interrupted_upload_resumes_with_only_the_missing_blocks(
    pair: tuple[Device, Device],
) -> None:
    a, b = pair
    data = random.Random(9).randbytes(20 << 20)
    a.write("movie.bin", data)

    class Killed(Exception):
        pass

    sent: list[str] = []

    def die_after_three(h: str, n: int) -> None:
        sent.append(h)
        if len(sent) == 3:
            raise Killed

    a.engine = SyncEngine(a.client, a.root, on_block=die_after_three, window=1)
    with pytest.raises(Killed):
        await a.engine.run_once()
    await a.client.close()
    await a.client.__aenter__()
    hashes = list(dict.fromkeys(c.hash for c in chunk_bytes(data)))
    assert len(hashes) > 10
    # The three acked blocks are stored, and any that were on their way when it died.
    lacking = await Transfer(await a.client.connect()).missing(None, hashes)
    assert len(lacking) <= len(hashes) - 3
    a.engine = SyncEngine(a.client, a.root)  # a new process, same home
    await a.engine.run_once()
    assert a.engine.transfer is not None
    # Only blocks the server lacked; fewer when one still on its way landed after we asked.
    resent = a.engine.transfer.counters.sent_hashes
    assert 0 < len(resent) <= len(lacking) and set(resent) <= set(lacking)
    assert not set(resent) & set(sent)
    await b.sync()
    assert b.read("movie.bin") == data


async def test_roostignore_keeps_paths_local(pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.write(".roostignore", "*.log\nbuild/\n")
    a.write("app.log", "noise")
    a.write("build/out.o", "binary")
    a.write("src/main.c", "int main;")
    await a.sync()
    await b.sync()
    assert b.listing() == ["src", "src/main.c"]  # the rules themselves stay on the laptop
    assert os.path.exists(a.root / "app.log")
    listed = [r.shown for r in await RemoteFiles(a.client).ls(recursive=True)]
    assert listed == ["src", "src/main.c"]


async def test_ignoring_what_was_synced_deletes_it_nowhere(pair: tuple[Device, Device]) -> None:
    a, b = pair
    a.write("old.log", "synced before anyone ignored logs")
    a.write("build/out.o", "binary")
    await a.sync()
    await b.sync()

    a.write(".roostignore", "*.log\nbuild/\n")
    report = await a.sync()
    assert not report.acted  # the rules stay on the laptop; nothing deleted on the server
    listed = [r.shown for r in await RemoteFiles(a.client).ls(recursive=True)]
    assert "old.log" in listed and "build/out.o" in listed  # still on the server
    b.write(".roostignore", "*.log\nbuild/\n")  # each device says what it keeps to itself
    report = await b.sync()
    assert not report.acted
    assert b.read("old.log") == b"synced before anyone ignored logs"

    b.write("old.log", "changed on the desktop, where logs are ignored now")
    (b.root / "build/out.o").unlink()
    assert not (await b.sync()).acted  # neither sent nor deleted
    await a.sync()
    assert a.read("old.log") == b"synced before anyone ignored logs"
    assert a.read("build/out.o") == b"binary"
