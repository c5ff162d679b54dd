"""The plain rules of a link download: ranges, block slices, the file's name for a browser."""

from __future__ import annotations

import base64
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.files.http_ranges import (
    ByteRange,
    RangeNotSatisfiable,
    basic_password,
    block_slices,
    content_disposition,
    content_type,
    requested_range,
)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, ByteRange(0, 9)),
        ("bytes=90-", 100, ByteRange(90, 99)),
        ("bytes=90-500", 100, ByteRange(90, 99)),  # past the end: up to the end
        ("bytes=-10", 100, ByteRange(90, 99)),  # the last ten bytes
        ("bytes=-500", 100, ByteRange(0, 99)),
        ("bytes=0-1,5-6", 100, None),  # several ranges: the whole file, as RFC 9110 allows
        ("items=0-5", 100, None),
        ("bytes=9-2", 100, None),
        ("bytes=-", 100, None),
        ("bytes=0-0", 0, None),  # an empty file has no range to give
    ],
)
def test_requested_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert requested_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=500-600", "bytes=-0"])
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, 100)


@given(st.text(max_size=40), st.integers(0, 10**12))
def test_any_range_header_gives_a_range_inside_the_file_or_none(header: str, size: int) -> None:
    try:
        wanted = requested_range(header, size)
    except RangeNotSatisfiable:
        return
    if wanted is not None:
        assert 0 <= wanted.start <= wanted.end < size


@given(
    st.lists(st.integers(1, 50), min_size=1, max_size=12),
    st.data(),
)
def test_block_slices_cover_exactly_the_range(sizes: list[int], data: st.DataObject) -> None:
    content = b"".join(bytes([i]) * n for i, n in enumerate(sizes))
    start = data.draw(st.integers(0, len(content) - 1))
    end = data.draw(st.integers(start, len(content) - 1))
    blocks = [(f"h{i}", n) for i, n in enumerate(sizes)]
    by_hash = {f"h{i}": bytes([i]) * n for i, n in enumerate(sizes)}
    got = b"".join(by_hash[h][lo:hi] for h, lo, hi in block_slices(blocks, ByteRange(start, end)))
    assert got == content[start : end + 1]


def test_the_name_reaches_a_browser_whole_and_an_old_client_safely() -> None:
    header = content_disposition('été "plan"\\.pdf')
    plain, encoded = header.split("; ")[1], header.split("; ")[2]
    assert plain == 'filename="_t_ _plan__.pdf"'
    assert urllib.parse.unquote(encoded.removeprefix("filename*=UTF-8''")) == 'été "plan"\\.pdf'
    assert header.startswith("attachment;")  # downloaded, never shown on the server's origin


@given(st.text(min_size=1, max_size=60))
def test_any_name_makes_a_one_line_ascii_header(name: str) -> None:
    header = content_disposition(name)
    assert header.isascii() and "\n" not in header and "\r" not in header


def test_content_type_by_extension() -> None:
    assert content_type("a.pdf") == "application/pdf"
    assert content_type("photo.JPG") == "image/jpeg"
    assert content_type("no-extension") == "application/octet-stream"


def test_basic_password() -> None:
    def basic(text: str) -> str:
        return "Basic " + base64.b64encode(text.encode()).decode()

    assert basic_password(basic(":sesame")) == "sesame"
    assert basic_password(basic("anyone:pa:ss")) == "pa:ss"
    assert basic_password(basic("no colon")) is None
    assert basic_password("Bearer abc") is None
    assert basic_password("Basic !!!") is None
    assert basic_password(None) is None
