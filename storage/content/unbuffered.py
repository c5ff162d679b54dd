"""Writing a large new file front to back without filling the page cache (O_DIRECT), and
reading a whole one back the same way when the cache does not hold it.

Bytes written through the page cache cost kernel time to cache first, and more again to
write back; for a file that is written once and not read soon (a large download landing)
that is pure overhead. Where the OS and filesystem allow it, the bytes go from an aligned
buffer straight to the disk instead; elsewhere (tmpfs, macOS, some network filesystems) the
same calls write through the cache as usual. Either way the caller still fsyncs before
relying on the file: O_DIRECT skips the cache, not the file's metadata.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
from pathlib import Path

ALIGN = 4096  # O_DIRECT wants offsets, lengths and the buffer's address aligned to the block size
PIECE = 4 << 20  # bytes gathered before each write (a multiple of ALIGN)
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)


class SequentialFile:
    """A new file (created, never existing before) written front to back; `finish` sets its
    exact length. Not thread-safe: one writer."""

    def __init__(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self.direct = bool(_O_DIRECT)
        try:
            self._fd = os.open(path, flags | _O_DIRECT, 0o644)
        except OSError as exc:
            if exc.errno != errno.EINVAL or not _O_DIRECT:
                raise
            self.direct = False  # the filesystem refuses O_DIRECT: buffered, as usual
            self._fd = os.open(path, flags, 0o644)
        self._buffer = mmap.mmap(-1, PIECE) if self.direct else None  # page-aligned memory
        self._filled = 0
        self.size = 0

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self._buffer is None:
            self._write_all(data)
            return
        view = memoryview(data)
        while view:
            n = min(len(view), PIECE - self._filled)
            self._buffer[self._filled : self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]
            if self._filled == PIECE:
                self._write_all(self._buffer)
                self._filled = 0

    def finish(self) -> None:
        """Write what is gathered and give the file its exact length (the last aligned write
        may run past it). Then the caller fsyncs and closes."""
        if self._buffer is None or not self._filled:
            return
        padded = -(-self._filled // ALIGN) * ALIGN
        self._buffer[self._filled : padded] = bytes(padded - self._filled)
        self._write_all(memoryview(self._buffer)[:padded])
        self._filled = 0
        os.ftruncate(self._fd, self.size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._buffer is not None:
            self._buffer.close()
            self._buffer = None

    def _write_all(self, data: bytes | memoryview | mmap.mmap) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except OSError as exc:
                if exc.errno != errno.EINVAL or not self.direct:
                    raise
                self._stop_direct()  # opened with O_DIRECT, but this filesystem refuses it
                continue
            view = view[n:]

    def _stop_direct(self) -> None:
        import fcntl  # POSIX only, as O_DIRECT is

        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
        self.direct = False


_aligned = threading.local()  # one reusable aligned buffer per thread (block stores' workers)
WHOLE_FILE_MAX = PIECE + ALIGN  # a stored block: a codec byte and up to 4 MiB
WHOLE_FILE_STEP = 1 << 20  # written through the buffer this much at a time


def write_new_file(path: Path, data: bytes | memoryview, *, fsync: bool) -> None:
    """Create `path` holding exactly `data` (at most WHOLE_FILE_MAX bytes) past the page cache,
    through this thread's small aligned buffer (a fresh mapping per file would fault in its
    pages each time); durable when `fsync`. Buffered where the filesystem refuses O_DIRECT."""
    view = memoryview(data)
    if len(view) > WHOLE_FILE_MAX:
        raise ValueError(f"write_new_file takes at most {WHOLE_FILE_MAX} bytes")
    buffer: mmap.mmap | None = getattr(_aligned, "buffer", None)
    if buffer is None and _O_DIRECT:
        buffer = _aligned.buffer = mmap.mmap(-1, WHOLE_FILE_STEP)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = -1
    if buffer is not None:
        try:
            fd = os.open(path, flags | _O_DIRECT, 0o644)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    try:
        if fd >= 0 and buffer is not None:
            try:
                _write_aligned(fd, view, buffer)
            except OSError as exc:  # opened with O_DIRECT, yet this filesystem refuses it
                if exc.errno != errno.EINVAL:
                    raise
                os.close(fd)
                fd = -1
                os.unlink(path)
        if fd < 0:
            fd = os.open(path, flags, 0o644)
            _write_fully(fd, view)
        if fsync:
            os.fsync(fd)
    finally:
        if fd >= 0:
            os.close(fd)


def _write_aligned(fd: int, view: memoryview, buffer: mmap.mmap) -> None:
    """Every write a whole number of aligned blocks; the file cut to its length at the end."""
    for start in range(0, len(view), WHOLE_FILE_STEP):
        part = view[start : start + WHOLE_FILE_STEP]
        padded = -(-len(part) // ALIGN) * ALIGN
        buffer[: len(part)] = part
        buffer[len(part) : padded] = bytes(padded - len(part))
        _write_fully(fd, memoryview(buffer)[:padded])
    os.ftruncate(fd, len(view))


def _write_fully(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


_RWF_NOWAIT: int = getattr(os, "RWF_NOWAIT", 0)


def read_whole_file(path: Path) -> bytes:
    """The bytes of a file of at most WHOLE_FILE_MAX bytes: from the page cache when all of
    it is there, else straight from the disk into this thread's aligned buffer. A block
    written past the cache and read back through it cost kernel time to fill the cache with
    pages nobody reads again (about 0.9 CPU s per GiB here, against 0.15 s)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(fd).st_size
        if size > WHOLE_FILE_MAX or not (_O_DIRECT and _RWF_NOWAIT):
            return _read_fully(fd, size)
        cached = bytearray(size)
        try:  # RWF_NOWAIT: what the cache holds, never waiting on the disk
            if os.preadv(fd, [cached], 0, _RWF_NOWAIT) == size:
                return cached  # type: ignore[return-value]  # bytes-like, as below: no copy
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EOPNOTSUPP, errno.EINVAL):
                raise
        del cached
        direct = _read_direct(path, size)
        return direct if direct is not None else _read_fully(fd, size)
    finally:
        os.close(fd)


def _read_direct(path: Path, size: int) -> bytes | None:
    """None where the filesystem refuses O_DIRECT. Read a step at a time through the aligned
    buffer the thread writes with: a whole block's buffer per thread cost the server ~16 MiB."""
    buffer: mmap.mmap | None = getattr(_aligned, "buffer", None)
    if buffer is None:
        buffer = _aligned.buffer = mmap.mmap(-1, WHOLE_FILE_STEP)
    try:
        fd = os.open(path, os.O_RDONLY | _O_DIRECT | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return None
        raise
    out = bytearray(size)
    try:
        got = 0
        while got < size:
            try:
                n = os.preadv(fd, [buffer], got)
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    return None
                raise
            n = min(n, size - got)
            if n <= 0:
                del out[got:]  # cut short meanwhile: the caller's checks see it
                break
            out[got : got + n] = memoryview(buffer)[:n]
            got += n
        return out  # type: ignore[return-value]  # bytes-like; a copy to bytes costs 0.1 s/GiB
    finally:
        os.close(fd)


def _read_fully(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    at = 0
    while at < size and (part := os.pread(fd, size - at, at)):
        parts.append(part)
        at += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)
