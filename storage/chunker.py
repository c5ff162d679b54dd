"""Content-defined chunking (FastCDC 2020 via pyfastcdc) + SHA-256, streamed from a file so
memory stays bounded whatever the file's size.

`check_compiled()` runs at start-up: the pure-Python fallback is about 150x slower, and a sync
client silently running on it would look broken.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pyfastcdc

AVG_SIZE = 768 << 10  # pyfastcdc's real average is avg + min: about 1 MiB
MIN_SIZE = 256 << 10
MAX_SIZE = 4 << 20
_READ = 16 << 20


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
        return list(chunk_stream(f))


def chunk_bytes(data: bytes) -> list[Chunk]:
    return [
        Chunk(p.offset, p.length, hashlib.sha256(p.data).digest()) for p in _cutter().cut_buf(data)
    ]
