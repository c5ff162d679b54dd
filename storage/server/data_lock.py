"""One server per data folder: `roost serve` holds an `flock` on `DATA/serve.lock` for its whole
life, so a second server (or a restore) on the same folder is refused before it touches
anything. The kernel drops the lock when the process ends, however it ends (`kill -9`
too), so nothing stale is ever left to clean up; the pid in the file is only for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from storage.errors import StorageError

SERVE_LOCK = "serve.lock"


class DataFolderInUse(StorageError):
    """Another process holds the data folder."""


class DataFolderLock:
    """The lock a running server holds on its data folder; `release` (or the process's end)
    gives it back."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def lock_data_folder(data_dir: Path, holder: str = "roost serve") -> DataFolderLock:
    """Take `data_dir` for this process (`holder` says what it is, for the message another
    process gets), or raise DataFolderInUse naming the holder and its pid."""
    path = data_dir / SERVE_LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(f"cannot open {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid, other = _holder_in(fd)
        os.close(fd)
        who = "another roost serve" if other == "roost serve" else other
        raise DataFolderInUse(
            f"{who} is using {data_dir}" + (f" (pid {pid})" if pid else "")
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {holder}\n".encode(), 0)
    return DataFolderLock(fd, path)


@contextlib.contextmanager
def data_folder_unused(data_dir: Path, *, holder: str, doing: str) -> Iterator[None]:
    """Hold `data_dir` as a server would while `holder` (e.g. "roost admin restore") changes
    it, so no server can start meanwhile; refuse if one is running (the error ends "stop it
    before `doing`")."""
    if not data_dir.is_dir():
        yield
        return
    try:
        held = lock_data_folder(data_dir, holder)
    except DataFolderInUse as exc:
        raise DataFolderInUse(f"{exc}: stop it before {doing}") from None
    try:
        yield
    finally:
        held.release()


def _holder_in(fd: int) -> tuple[int | None, str]:
    """The pid and the kind of process the lock file names ("PID HOLDER")."""
    try:
        pid, _, holder = os.pread(fd, 256, 0).decode().strip().partition(" ")
    except (OSError, UnicodeDecodeError):
        return None, "roost serve"
    return (int(pid) if pid.isdigit() else None), (holder or "roost serve")
