"""The plain logic, without sockets: three-way decisions, conflict names, paths, chunking."""

from __future__ import annotations

import io
import random
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.files import list_under
from client.sync.conflicts import conflicted_copy_name
from client.sync.decide import Action, Content, Version, decide, for_viewer
from protocol.errors import RoostError
from protocol.files import MAX_BLOCK_BYTES, Codec, Entry, path_problem, validate_path
from storage.content import chunker
from storage.content.blocks import (
    BadBlock,
    BlockMissing,
    LocalBlockStore,
    decode_block,
    encode_block,
    verify_block,
)
from storage.content.chunker import (
    MAX_SIZE,
    check_compiled,
    chunk_bytes,
    chunk_stream,
    chunk_stream_parallel,
)

A, B, C = Content("file", ("a",)), Content("file", ("b",)), Content("file", ("c",))
V1, V2 = Version("1", A), Version("2", B)


@pytest.mark.parametrize(
    ("local", "synced", "remote", "expected"),
    [
        (A, V1, V1, Action.NOTHING),
        (B, V1, V1, Action.UPLOAD),  # edited here
        (A, V1, V2, Action.DOWNLOAD),  # edited there
        (C, V1, V2, Action.CONFLICT),  # edited on both sides
        (B, V1, V2, Action.RECORD),  # both made the same edit
        (None, V1, V1, Action.DELETE_REMOTE),
        (A, V1, Version("2", None), Action.DELETE_LOCAL),
        (None, V1, V2, Action.DOWNLOAD),  # deleted here, edited there: the edit wins
        (B, V1, Version("2", None), Action.UPLOAD),  # edited here, deleted there
        (A, None, None, Action.UPLOAD),  # new here
        (None, None, V1, Action.DOWNLOAD),  # new there
        (A, None, V1, Action.RECORD),  # same new file on both sides
        (B, None, V1, Action.CONFLICT),  # different new files at one path
        (None, None, Version("1", None), Action.RECORD),
        (None, Version("1", None), Version("1", None), Action.NOTHING),
        # the same bytes under a new id (a folder's first share copies its versions)
        (A, V1, Version("3", A), Action.RECORD),
        (B, V1, Version("3", A), Action.UPLOAD),  # an edit on top of them is no conflict
        (None, V1, Version("3", A), Action.DELETE_REMOTE),
    ],
)
def test_three_way(local: Content | None, synced: Version | None, remote: Version | None,
                   expected: Action) -> None:  # fmt: skip
    assert decide(local, synced, remote) == expected


@given(
    st.sampled_from([None, A, B, C]),
    st.sampled_from([None, V1]),
    st.sampled_from([None, V1, V2, Version("3", A)]),
)
def test_a_local_change_is_never_lost(
    local: Content | None, synced: Version | None, remote: Version | None
) -> None:
    action = decide(local, synced, remote)
    local_changed = local != (synced.content if synced else None)
    if local_changed and local is not None:
        # the local bytes are uploaded, kept as a conflicted copy, or already equal remote's
        assert action in (Action.UPLOAD, Action.CONFLICT, Action.RECORD)


def test_viewer_changes_stay_local() -> None:
    assert for_viewer(Action.UPLOAD, B, V1) == Action.CONFLICT
    assert for_viewer(Action.UPLOAD, A, None) == Action.KEEP_LOCAL
    assert for_viewer(Action.DELETE_REMOTE, None, V1) == Action.DOWNLOAD
    assert for_viewer(Action.DOWNLOAD, A, V2) == Action.DOWNLOAD


def test_conflicted_copy_names() -> None:
    when = datetime(2026, 11, 21, 9, 5, 7)
    assert (
        conflicted_copy_name("a/report.final.txt", "my laptop", when)
        == "a/report.final (conflicted copy from my laptop 2026-11-21 090507).txt"
    )
    assert (
        conflicted_copy_name("Makefile", "pc", when)
        == "Makefile (conflicted copy from pc 2026-11-21 090507)"
    )
    first = conflicted_copy_name("x.txt", "pc", when)
    assert conflicted_copy_name("x.txt", "pc", when, {first}).endswith(" 2).txt")
    assert "/" not in conflicted_copy_name("x", "a/b", when)


@pytest.mark.parametrize(
    "bad", ["", "/etc/passwd", "a/../b", "..", "./a", "a//b", "a/", "a\\b", "a\x00b", "a\nb",
            "x" * 256, "a/" * 600],
)  # fmt: skip
def test_bad_paths_are_refused(bad: str) -> None:
    assert path_problem(bad) is not None
    with pytest.raises(RoostError):
        validate_path(bad)


@given(st.text(max_size=300))
def test_path_validation_never_lets_traversal_through(path: str) -> None:
    if path_problem(path) is None:
        parts = path.split("/")
        assert not path.startswith("/") and ".." not in parts and "" not in parts
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in path)
        assert not any(c in BIDI_CONTROLS for c in path)


BIDI_CONTROLS = "".join(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
NAME_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\" + BIDI_CONTROLS
)
NAMES = st.text(NAME_CHARS, min_size=1, max_size=20).filter(lambda p: p not in (".", ".."))


@given(st.lists(NAMES, min_size=1, max_size=5))
def test_plain_names_are_accepted(parts: list[str]) -> None:
    assert path_problem("/".join(parts)) is None


def entry(path: str, kind: str = "file") -> Entry:
    return Entry(path, "ns", path, 1, kind, 1, 0, False, [], None, "pc", 0)


@given(st.lists(st.lists(st.sampled_from("abc"), min_size=1, max_size=4), max_size=12))
def test_a_listing_shows_one_level_and_every_folder_below(trees: list[list[str]]) -> None:
    files = {"/".join(parts) for parts in trees}
    files = {f for f in files if not any(g.startswith(f + "/") for g in files)}  # leaves only
    live = [entry(f) for f in files]
    top = list_under(live, "", recursive=False)
    assert top is not None
    assert {r.shown: r.kind for r in top} == {
        f.partition("/")[0]: "dir" if "/" in f else "file" for f in files
    }
    everything = list_under(live, "", recursive=True)
    assert everything is not None and {r.shown for r in everything} == files
    for folder in {f.partition("/")[0] for f in files if "/" in f}:
        inside = list_under(live, folder, recursive=False)
        assert inside and all(r.shown.startswith(folder + "/") for r in inside)
        assert all("/" not in r.shown[len(folder) + 1 :] for r in inside)


def test_a_listing_of_a_file_an_empty_folder_and_nothing() -> None:
    live = [entry("docs", "dir"), entry("docs/a.txt"), entry("empty", "dir")]
    assert [r.shown for r in list_under(live, "docs/a.txt", recursive=False) or []] == [
        "docs/a.txt"
    ]
    assert list_under(live, "empty", recursive=False) == []
    assert list_under(live, "nothing", recursive=False) is None
    assert list_under(live, "doc", recursive=False) is None  # a prefix is not a folder
    top = list_under(live, "", recursive=False) or []
    assert all(r.entry is not None for r in top)  # the folders' own entries, none made up


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=1 << 16), st.integers(0, 3 << 20), st.integers(0, 2**32))
def test_chunks_reassemble_to_the_input(head: bytes, size: int, seed: int) -> None:
    data = head + random.Random(seed).randbytes(size)
    chunks = chunk_bytes(data)
    assert sum(c.length for c in chunks) == len(data)
    assert b"".join(data[c.offset : c.offset + c.length] for c in chunks) == data
    assert all(c.length <= MAX_SIZE for c in chunks)
    assert [c.digest for c in chunk_stream(io.BytesIO(data))] == [c.digest for c in chunks]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 5 << 20), st.integers(1 << 16, 6 << 20), st.integers(0, 2**32))
def test_hashing_in_threads_finds_the_same_chunks(size: int, piece: int, seed: int) -> None:
    """Pieces of any size, cut apart and re-cut at their ends, give the streamed chunks."""
    data = random.Random(seed).randbytes(size // 2) + b"text " * (size // 10)
    expected = [(c.offset, c.length, c.digest) for c in chunk_stream(io.BytesIO(data))]
    old, chunker.PIECE = chunker.PIECE, piece
    try:
        got = [(c.offset, c.length, c.digest) for c in chunk_stream_parallel(io.BytesIO(data))]
    finally:
        chunker.PIECE = old
    assert got == expected


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=1 << 17))
def test_block_codec_round_trips(raw: bytes) -> None:
    import hashlib

    codec, payload = encode_block(raw)
    assert decode_block(codec, payload) == raw
    assert verify_block(hashlib.sha256(raw).digest(), codec, payload) == len(raw)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(1, 300_000)), min_size=1, max_size=8),
    st.integers(0, 2**32),
)
def test_large_blocks_of_any_mix_round_trip(parts: list[tuple[bool, int]], seed: int) -> None:
    """Large blocks are sampled before zstd: whatever the mix of noise and text, and wherever
    the samples fall, the block decodes to its bytes."""
    import hashlib

    rng = random.Random(seed)
    raw = b"".join(
        rng.randbytes(n) if noise else (b"roost sync " * (n // 11 + 1))[:n] for noise, n in parts
    )
    codec, payload = encode_block(raw)
    assert decode_block(codec, payload) == raw
    assert verify_block(hashlib.sha256(raw).digest(), codec, payload) == len(raw)


def test_large_blocks_are_compressed_when_it_helps() -> None:
    noise = random.Random(7).randbytes(4 << 20)
    assert encode_block(noise) == (Codec.RAW, noise)  # photos, archives: kept as they are
    text = (b"the block journal of the roost sync server " * 100_000)[: 4 << 20]
    half = noise[: 2 << 20] + text[: 2 << 20]
    for raw in (text, half):
        codec, payload = encode_block(raw)
        assert codec == Codec.ZSTD and len(payload) < len(raw) * 0.6


def test_compiled_chunker_is_in_use() -> None:
    check_compiled()


def test_block_store_is_atomic_and_content_addressed(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path / "blocks")
    digest = bytes(32)
    store.put(digest, b"\x00abc")
    store.put(digest, b"\x00abc")  # idempotent
    assert store.get(digest) == b"\x00abc" and store.has(digest)
    assert [p.name for p in (tmp_path / "blocks").rglob("*") if p.is_file()] == ["0" * 62]
    store.delete(digest)
    assert not store.has(digest)
    with pytest.raises(BadBlock):
        decode_block(encode_block(b"x" * 10)[0], b"x" * (MAX_BLOCK_BYTES + 1))


def test_block_store_puts_many_at_once(tmp_path: Path) -> None:
    store = LocalBlockStore(tmp_path / "blocks")
    items = [(bytes([i]) * 32, b"\x00" + bytes([i]) * 10) for i in range(5)]
    store.put(items[0][0], items[0][1])
    store.put_many([*items, items[1]])  # already stored and repeated ones are written once
    for digest, stored in items:
        assert store.get(digest) == stored
    files = [p for p in (tmp_path / "blocks").rglob("*") if p.is_file()]
    packs = [p for p in files if p.suffix == ".pack"]
    assert [p.name for p in files if p not in packs] == [items[0][0].hex()[2:]]  # stored alone
    assert len(packs) == 1  # the other four: one pack
    # A restarted server, or another process on the same folder, finds packed blocks.
    again = LocalBlockStore(tmp_path / "blocks")
    assert all(again.get(d) == s and again.has(d) for d, s in items)
    more = [(bytes([9, i]) * 16, b"\x00more" + bytes([i])) for i in range(3)]
    store.put_many(more)
    assert again.get(more[2][0]) == more[2][1]
    with pytest.raises(BlockMissing):
        again.get(bytes([7]) * 32)
