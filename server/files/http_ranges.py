"""Plain rules of an HTTP file download, without sockets: which bytes a `Range` header asks for,
which parts of which blocks hold them, and the headers that name the file for a browser."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\%]')


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file (answered 416)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive, as HTTP writes it

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a `Range` header asks for, or None for the whole file. A header this
    server does not serve as a range (several ranges, another unit, bad syntax) is ignored,
    as RFC 9110 allows: the whole file is the answer."""
    if header is None or size == 0:
        return None
    m = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if m is None or (not m[1] and not m[2]):
        return None
    if not m[1]:  # bytes=-N: the last N bytes
        suffix = int(m[2])
        if suffix == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(m[1])
    end = size - 1 if not m[2] else min(int(m[2]), size - 1)
    if start >= size:
        raise RangeNotSatisfiable
    if end < start:
        return None  # bytes=5-2 is invalid syntax: ignored
    return ByteRange(start, end)


def block_slices(
    blocks: Sequence[tuple[str, int]], wanted: ByteRange
) -> Iterator[tuple[str, int, int]]:
    """(hash, from, to) for each block holding part of `wanted`, in order: the bytes
    [from, to) of that block's raw content."""
    offset = 0
    for hash_, size in blocks:
        block_end = offset + size  # exclusive
        if block_end > wanted.start and offset <= wanted.end:
            lo = max(wanted.start, offset) - offset
            hi = min(wanted.end + 1, block_end) - offset
            yield hash_, lo, hi
        if offset > wanted.end:
            return
        offset = block_end


def content_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def content_disposition(name: str) -> str:
    """`attachment` with the file's name twice: plain ASCII for old clients, and UTF-8
    (RFC 6266, RFC 8187) for every browser since 2012."""
    plain = _UNSAFE_IN_QUOTES.sub("_", name) or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


def basic_password(header: str | None) -> str | None:
    """The password of an `Authorization: Basic` header (any user name), or None."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon else None
