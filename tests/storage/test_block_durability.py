"""A rename is only as durable as its folder: stored blocks and landed downloads have their
folders synced before they are acknowledged or recorded, so a machine crash cannot lose them."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.sync.transfer import TempFile, land_files
from storage.content import blocks
from storage.content.blocks import LocalBlockStore


class Synced:
    """What was made durable while a test ran: inodes fsynced, filesystems syncfs'd."""

    def __init__(self) -> None:
        self.inodes: set[int] = set()
        self.devices: set[int] = set()

    def covers(self, path: Path) -> bool:
        st = path.stat()
        return st.st_ino in self.inodes or st.st_dev in self.devices


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Synced:
    """Records every fsync and syncfs (the real calls still run)."""
    seen = Synced()
    real_fsync, real_syncfs = os.fsync, blocks._syncfs

    def fsync(fd: int) -> None:
        seen.inodes.add(os.fstat(fd).st_ino)
        real_fsync(fd)

    def syncfs(path: Path) -> None:
        seen.devices.add(path.stat().st_dev)
        assert real_syncfs is not None
        real_syncfs(path)

    monkeypatch.setattr(os, "fsync", fsync)
    if real_syncfs is not None:
        monkeypatch.setattr(blocks, "_syncfs", syncfs)
    return seen


@pytest.mark.parametrize("size", [13_000, (1 << 20) + 4097])
def test_a_stored_block_has_its_file_and_folder_synced(
    tmp_path: Path, synced: Synced, size: int
) -> None:
    store = LocalBlockStore(tmp_path / "blocks")
    data = b"\x00" + os.urandom(size)
    digest = hashlib.sha256(data[1:]).digest()
    store.put(digest, memoryview(data))  # the server stores a view into the frame received
    folder = tmp_path / "blocks" / digest.hex()[:2]
    assert store.get(digest) == data
    assert synced.covers(folder / digest.hex()[2:])  # the bytes
    assert synced.covers(folder)  # the rename
    assert synced.covers(tmp_path / "blocks")  # the new folder
    assert [p.name for p in folder.iterdir()] == [digest.hex()[2:]]  # no temp file left


async def test_a_landed_download_has_its_folder_synced(tmp_path: Path, synced: Synced) -> None:
    dest = tmp_path / "docs" / "report.txt"
    dest.parent.mkdir()
    out = TempFile(dest.with_name(".roost-tmp-x"))
    await out.add(b"downloaded", [])
    assert land_files([(out, dest, None)]) == [None]
    assert dest.read_bytes() == b"downloaded"
    assert synced.covers(dest.parent)


async def test_a_large_download_written_past_the_cache_is_fsynced(
    tmp_path: Path, synced: Synced
) -> None:
    dest = tmp_path / "video.bin"
    out = TempFile(dest.with_name(".roost-tmp-big"), large=True)
    data = os.urandom(5 << 20) + b"tail"
    for i in range(0, len(data), 1 << 20):
        await out.add(data[i : i + (1 << 20)], [])
    await out.written()  # pieces are written in the background while more arrive
    assert land_files([(out, dest, None)]) == [None]
    assert dest.read_bytes() == data
    assert synced.covers(dest) and synced.covers(dest.parent)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(1, 3 << 20), min_size=1, max_size=12),
    st.booleans(),
    st.integers(0, 2**32),
)
async def test_a_download_written_while_more_arrives_holds_every_block_in_order(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], large: bool, seed: int
) -> None:
    rng = random.Random(seed)
    pieces = [rng.randbytes(n) for n in sizes]
    folder = tmp_path_factory.mktemp("land")
    out = TempFile(folder / ".roost-tmp-x", large=large)
    lengths: list[int] = []
    for piece in pieces:
        await out.add(piece, lengths)
    await out.written()
    assert land_files([(out, folder / "f.bin", None)]) == [None]
    assert (folder / "f.bin").read_bytes() == b"".join(pieces)
    assert lengths == sizes


async def test_a_piece_that_fails_to_write_fails_the_download_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write in the background that fails (a full disk) is the download's failure: it is
    raised by the next piece or by `written`, and nothing is landed or kept."""
    out = TempFile(tmp_path / ".roost-tmp-x")
    real_write = TempFile._write

    def failing_write(self: TempFile, pieces: object = None) -> None:
        if pieces is not None:
            raise OSError(28, "No space left on device")
        real_write(self)

    monkeypatch.setattr(TempFile, "_write", failing_write)
    with pytest.raises(OSError, match="No space"):
        for _ in range(4 * 16):
            await out.add(os.urandom(1 << 20), [])
        await out.written()
    await out.settled()
    out.keep(tmp_path / "f.bin", [], [])  # as an interrupted download would: nothing kept
    assert list(tmp_path.iterdir()) == []


async def test_many_downloads_landed_together_are_all_durable(
    tmp_path: Path, synced: Synced
) -> None:
    """Past `SYNCFS_OVER` files, one syncfs of their filesystem stands in for their fsyncs."""
    batch = []
    for i in range(blocks.SYNCFS_OVER + 4):
        dest = tmp_path / f"folder{i}" / "note.txt"
        dest.parent.mkdir()
        out = TempFile(dest.with_name(".roost-tmp-x"))
        await out.add(f"note {i}".encode(), [])
        batch.append((out, dest, None))
    assert land_files(batch) == [None] * len(batch)
    for i, (_, dest, _) in enumerate(batch):
        assert dest.read_bytes() == f"note {i}".encode()
        assert synced.covers(dest) and synced.covers(dest.parent)


def test_large_blocks_read_back_whole_here_and_in_another_process(tmp_path: Path) -> None:
    """Large blocks go to disk past the page cache and read back past it too: every block
    reads back whole, in this process and in another; a deleted one is gone."""
    store = LocalBlockStore(tmp_path / "blocks")
    stored = [b"\x00" + os.urandom((1 << 20) + i) for i in range(12)]
    digests = [hashlib.sha256(s[1:]).digest() for s in stored]
    for d, s in zip(digests, stored, strict=True):
        store.put(d, memoryview(s))
    other = LocalBlockStore(tmp_path / "blocks")  # e.g. another server process
    for d, s in zip(digests, stored, strict=True):
        assert store.get(d) == s
        assert other.get(d) == s
        assert store.stored_size(d) == len(s)
    store.delete(digests[-1])
    with pytest.raises(blocks.BlockMissing):
        store.get(digests[-1])
