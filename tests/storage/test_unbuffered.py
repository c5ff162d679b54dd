"""Large new files written past the page cache (O_DIRECT) hold exactly the bytes given, at
their exact length, whatever the piece sizes; a filesystem that refuses O_DIRECT still gets
the file, written the usual way."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.content import unbuffered
from storage.content.unbuffered import PIECE, SequentialFile


def write_pieces(path: Path, pieces: list[bytes]) -> SequentialFile:
    out = SequentialFile(path)
    try:
        for piece in pieces:
            out.write(piece)
        out.finish()
        os.fsync(out.fileno())
    finally:
        out.close()
    return out


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, PIECE + 5000), max_size=5), st.integers(0, 2**32))
def test_the_file_holds_exactly_what_was_written(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], seed: int
) -> None:
    rng = random.Random(seed)
    pieces = [rng.randbytes(n) for n in sizes]
    path = tmp_path_factory.mktemp("direct") / "file.bin"
    out = write_pieces(path, pieces)
    assert path.read_bytes() == b"".join(pieces)
    assert out.size == sum(sizes)


def test_a_large_file_on_a_disk_goes_past_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = random.Random(1).randbytes(3 * PIECE + 123)
    out = write_pieces(path, [data[i : i + 1_000_000] for i in range(0, len(data), 1_000_000)])
    assert path.read_bytes() == data
    if not out.direct:
        pytest.skip("this filesystem refuses O_DIRECT (the buffered path is tested below)")


def test_a_filesystem_refusing_o_direct_still_gets_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def refusing_write(fd: int, data: object) -> int:  # as some network filesystems do
        if os.get_blocking(fd) and unbuffered._O_DIRECT and _is_direct(fd):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", refusing_write)
    data = random.Random(2).randbytes(PIECE + 77)
    out = write_pieces(tmp_path / "f.bin", [data])
    assert (tmp_path / "f.bin").read_bytes() == data
    assert not out.direct


def _is_direct(fd: int) -> bool:
    import fcntl

    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & unbuffered._O_DIRECT)


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        SequentialFile(tmp_path / "taken")
    assert (tmp_path / "taken").read_bytes() == b"keep me"


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([0, 1, 4095, 4096, 4097, 1 << 20, PIECE, unbuffered.WHOLE_FILE_MAX]))
def test_a_whole_file_written_at_once_holds_exactly_its_bytes(
    tmp_path_factory: pytest.TempPathFactory, size: int
) -> None:
    folder = tmp_path_factory.mktemp("whole")
    data = random.Random(size).randbytes(size)
    unbuffered.write_new_file(folder / "a", data, fsync=True)
    unbuffered.write_new_file(folder / "b", memoryview(data), fsync=False)
    assert (folder / "a").read_bytes() == data
    assert (folder / "b").read_bytes() == data


def test_a_whole_file_is_refused_over_its_limit_and_never_overwrites(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        unbuffered.write_new_file(tmp_path / "x", bytes(unbuffered.WHOLE_FILE_MAX + 1), fsync=False)
    assert not (tmp_path / "x").exists()
    (tmp_path / "taken").write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        unbuffered.write_new_file(tmp_path / "taken", b"other", fsync=False)
    assert (tmp_path / "taken").read_bytes() == b"keep me"


def test_a_whole_file_on_a_filesystem_refusing_o_direct_is_written_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def refusing_write(fd: int, data: object) -> int:
        if unbuffered._O_DIRECT and _is_direct(fd):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", refusing_write)
    data = random.Random(3).randbytes(300_001)
    unbuffered.write_new_file(tmp_path / "f.bin", data, fsync=True)
    assert (tmp_path / "f.bin").read_bytes() == data


@settings(max_examples=30, deadline=None)
@given(st.integers(0, unbuffered.WHOLE_FILE_MAX), st.booleans(), st.integers(0, 2**32))
def test_a_stored_block_reads_back_exactly_from_the_disk_or_the_cache(
    tmp_path_factory: pytest.TempPathFactory, size: int, through_cache: bool, seed: int
) -> None:
    data = random.Random(seed).randbytes(size)
    path = tmp_path_factory.mktemp("read") / "block"
    if through_cache:  # written buffered: the page cache holds it
        path.write_bytes(data)
    else:  # written past the cache: read from the disk
        unbuffered.write_new_file(path, data, fsync=True)
    assert unbuffered.read_whole_file(path) == data
    assert unbuffered.read_whole_file(path) == data  # and again, whichever way it went


def test_a_filesystem_refusing_o_direct_reads_still_get_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refusing_open(path: object, flags: int, *args: object) -> int:
        if unbuffered._O_DIRECT and flags & unbuffered._O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)  # type: ignore[arg-type]

    data = random.Random(3).randbytes(PIECE + 99)
    (tmp_path / "f.bin").write_bytes(data)
    fd = os.open(tmp_path / "f.bin", os.O_RDONLY)
    try:  # out of the page cache, so the read goes for the disk
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    monkeypatch.setattr(os, "open", refusing_open)
    assert unbuffered.read_whole_file(tmp_path / "f.bin") == data
