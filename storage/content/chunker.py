"""Content-defined chunking (FastCDC 2020 via pyfastcdc) + SHA-256, streamed from a file so
memory stays bounded whatever the file's size.

Both the cutting and the hashing release the GIL, so a large file is cut in one thread while
the chunks already cut are hashed in others: on two cores that halves the time to hash it.

`check_compiled()` runs at start-up: the pure-Python fallback is about 150x slower, and a sync
client silently running on it would look broken.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pyfastcdc

AVG_SIZE = 768 << 10  # pyfastcdc's real average is avg + min: about 1 MiB
MIN_SIZE = 256 << 10
MAX_SIZE = 4 << 20
PIECE = 4 << 20  # a large file is read and cut in pieces this big
HASH_THREADS = 2
PIECES_AHEAD = 1  # a piece is hashed while the next is cut: memory stays a few pieces


class ChunkerUnavailable(RuntimeError):
    pass


def check_compiled() -> None:
    """Refuse to run on pyfastcdc's pure-Python fallback."""
    if not pyfastcdc.FastCDC.__module__.startswith("pyfastcdc.cy"):
        raise ChunkerUnavailable(
            "pyfastcdc's compiled extension is missing (pure Python is ~150x slower);"
            " reinstall pyfastcdc for this platform"
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    offset: int
    length: int
    digest: bytes

    @property
    def hash(self) -> str:
        return self.digest.hex()


def _cutter() -> pyfastcdc.FastCDC:
    return pyfastcdc.FastCDC(AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE)


def chunk_stream(stream: BinaryIO) -> Iterator[Chunk]:
    for piece in _cutter().cut_stream(stream):
        yield Chunk(piece.offset, piece.length, hashlib.sha256(piece.data).digest())


def chunk_file(path: Path) -> list[Chunk]:
    """Every chunk of a file (offsets, lengths, digests); the bytes are not kept."""
    with open(path, "rb", buffering=0) as f:
        return list(chunk_stream_parallel(f))


def chunk_stream_parallel(stream: BinaryIO) -> Iterator[Chunk]:
    """As `chunk_stream`, hashing in worker threads while the next piece is read and cut.

    A piece is cut whole; its last chunk may be cut short by the piece's end, so unless the
    stream has ended it is cut again at the start of the next piece. Every earlier cut point
    depends only on the bytes before it, so the chunks are those `chunk_stream` finds."""
    cutter, pool = _cutter(), _hash_pool()
    pending: deque[list[tuple[int, int, Future[bytes]]]] = deque()
    carry, base = b"", 0  # carry: the bytes of the last, unfinished chunk; base: its offset
    while True:
        piece = stream.read(PIECE)
        data = carry + piece if carry else piece
        if not data:
            break
        cuts = [(c.offset, c.length, c.data) for c in cutter.cut_buf(data)]
        if not piece:  # the stream has ended: every cut is final
            carry, next_base = b"", base + len(data)
        elif len(cuts) == 1:  # one chunk so far: read more before cutting it
            carry = data
            continue
        else:
            offset, _, view = cuts.pop()
            carry, next_base = bytes(view), base + offset
        pending.append([(base + off, n, pool.submit(_digest, view)) for off, n, view in cuts])
        base = next_base
        while len(pending) > PIECES_AHEAD:
            yield from _resolved(pending.popleft())
        if not piece:
            break
    while pending:
        yield from _resolved(pending.popleft())


def _resolved(cuts: list[tuple[int, int, Future[bytes]]]) -> Iterator[Chunk]:
    for offset, length, digest in cuts:
        yield Chunk(offset, length, digest.result())


def _digest(view: memoryview) -> bytes:
    return hashlib.sha256(view).digest()


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _hash_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="roost-hash")
        return _pool


def chunk_bytes(data: bytes) -> list[Chunk]:
    return [
        Chunk(p.offset, p.length, hashlib.sha256(p.data).digest()) for p in _cutter().cut_buf(data)
    ]
