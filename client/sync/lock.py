"""One sync engine per Roost home and per workspace folder at a time (as Syncthing and Dropbox
refuse a second instance): an OS advisory lock (`flock`) on a file in the home and on the folder
itself, held while an engine runs. Nor can a folder inside a synced one, or around one, be
synced at the same time: each folder above and inside it is tested for a sync's lock.

Two engines would write the same sync index, and one's start-up sweep of temp files would
delete the other's downloads in flight. The OS drops a `flock` when its process dies, so a
killed sync never leaves a stale lock. The holder writes its pid and folder into the home's lock
file so that the one refused can say who holds it. POSIX only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from client.errors import SyncBusy

LOCK_FILE = "sync.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as far as can be told (a holder that is still starting has said
    nothing yet)."""

    pid: int | None = None
    root: str | None = None
    watching: bool = False
    other_home: bool = False  # holds the folder from another Roost home


def busy_message(root: Path, holder: Holder, *, watching: bool) -> str:
    """The one line a refused engine shows."""
    who = _who(holder.pid)
    if holder.other_home:
        return f"{root} is already being synced by {who} from another Roost home; stop it first"
    if holder.root is not None and holder.root != str(root):
        return (
            f"this Roost home is already syncing {holder.root} in {who}; stop it first"
            " (a home syncs one folder)"
        )
    if holder.watching and not watching:
        return (
            f"{root} is already being synced by {who}, which keeps it in sync:"
            " --once has nothing to add; stop it first to run one"
        )
    return f"{root} is already being synced by {who}; stop it first"


class SyncLock:
    """Held from `acquire` until `release` (or until the process ends)."""

    def __init__(self, home_fd: int, folder_fd: int) -> None:
        self._fds: list[int] = [home_fd, folder_fd]

    @classmethod
    def acquire(cls, home: Path, root: Path, *, watching: bool) -> SyncLock:
        """Lock the home, then the folder (created if missing); `SyncBusy` when either is held
        elsewhere, before anything in the folder changes."""
        home.mkdir(parents=True, exist_ok=True)
        home_fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(home_fd):
            holder = _read_holder(home_fd)
            os.close(home_fd)
            raise SyncBusy(busy_message(root, holder, watching=watching))
        try:
            root.mkdir(parents=True, exist_ok=True)
            folder_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except BaseException:
            os.close(home_fd)
            raise
        if not _try_lock(folder_fd):
            holder = Holder(pid=_flock_holder_pid(folder_fd), other_home=True)
            os.close(folder_fd)
            os.close(home_fd)
            raise SyncBusy(busy_message(root, holder, watching=watching))
        overlap = _synced_around(root)
        if overlap is not None:
            os.close(folder_fd)
            os.close(home_fd)
            raise SyncBusy(overlap)
        about = {"pid": os.getpid(), "root": str(root), "watching": watching}
        os.ftruncate(home_fd, 0)
        os.pwrite(home_fd, json.dumps(about).encode(), 0)
        return cls(home_fd, folder_fd)

    def release(self) -> None:
        fds, self._fds = self._fds, []
        if fds:
            with contextlib.suppress(OSError):
                os.ftruncate(fds[0], 0)  # no pid left behind for the next one to quote
        for fd in fds:
            os.close(fd)  # closing drops the flock

    def __del__(self) -> None:
        try:
            self.release()  # an engine dropped without release(): still let go
        except Exception:  # late in interpreter shutdown: the OS frees it anyway
            pass


def home_holder(home: Path) -> Holder | None:
    """Who syncs from this Roost home now (`roost sync status`), or None. A shared lock,
    let go at once, fails only against a running sync's own."""
    try:
        fd = os.open(home / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None  # never synced from here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    finally:
        os.close(fd)
    return None


def _synced_around(root: Path) -> str | None:
    """Why `root` cannot be synced when a folder above it or inside it is being synced (from
    any home): two engines would each take the other's files for their own. None if neither.
    Each folder is only tested: a shared lock, let go at once, fails against a sync's own."""
    for folder in root.parents:
        if (holder := _holder(folder)) is not None:
            return (
                f"{root} is inside {folder}, which {_who(holder.pid)} is syncing; a folder"
                " inside a synced folder syncs with it, not on its own"
            )
    for parent, dirs, _ in os.walk(root):
        for name in dirs:
            folder = Path(parent) / name
            if (holder := _holder(folder)) is not None:
                return (
                    f"{folder} inside {root} is already being synced by {_who(holder.pid)};"
                    " stop it first (a synced folder cannot hold another)"
                )
    return None


def _holder(folder: Path) -> Holder | None:
    """Who syncs this folder, if anyone does."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None  # unreadable, or gone meanwhile: nobody syncs it from here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return Holder(pid=_flock_holder_pid(fd))
    finally:
        os.close(fd)  # closing drops the shared lock, if it was taken
    return None


def _who(pid: int | None) -> str:
    return "another roost process" + (f" (pid {pid})" if pid else "")


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_holder(fd: int) -> Holder:
    try:
        about = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return Holder(
            pid=int(about["pid"]) if "pid" in about else None,
            root=str(about["root"]) if "root" in about else None,
            watching=bool(about.get("watching", False)),
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return Holder()  # the holder is still writing it: say less, refuse all the same


def _flock_holder_pid(fd: int) -> int | None:
    """The pid holding a `flock` on this file, from Linux's /proc/locks (elsewhere: unknown).
    A line reads `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF` (device major:minor in
    hex, then the inode); a waiter's line has `->` after the number and is skipped."""
    st = os.fstat(fd)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == key:
            with contextlib.suppress(ValueError):
                return int(parts[4])
    return None
