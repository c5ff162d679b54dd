"""The block store's contract, the same for blocks in the data folder and in a real S3
bucket (SeaweedFS, tests/seaweed.py); and the --blocks URL's parsing."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.content.blocks import BlockMissing, LocalBlockStore, encode_block
from storage.content.s3_blocks import LOOSE_OVER, S3BlockStore
from storage.content.s3_location import BadLocation, parse_s3_url
from storage.content.stores import BlockStores


def stored_of(data: bytes) -> tuple[bytes, bytes]:
    codec, payload = encode_block(data)
    return hashlib.sha256(data).digest(), bytes((codec,)) + payload


@pytest.fixture(params=["local", "s3"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], BlockStores]:
    """A factory of stores on one place: each call is another process's view of it."""
    if request.param == "local":
        return lambda: LocalBlockStore(tmp_path / "blocks", fsync=False)
    url = request.getfixturevalue("s3_bucket")

    def s3() -> S3BlockStore:
        store = S3BlockStore(parse_s3_url(url))
        store.check()
        return store

    return s3


def test_a_block_comes_back_as_stored_and_a_missing_one_says_so(
    open_store: Callable[[], BlockStores],
) -> None:
    store = open_store()
    digest, stored = stored_of(b"hello block " * 50)
    assert not store.has(digest)
    store.put(digest, stored)
    store.put(digest, stored)  # stored again: no error, same bytes
    assert store.has(digest)
    assert store.get(digest) == stored
    other = hashlib.sha256(b"never stored").digest()
    with pytest.raises(BlockMissing):
        store.get(other)


def test_many_small_blocks_go_in_packs_that_another_process_can_read(
    open_store: Callable[[], BlockStores],
) -> None:
    first = open_store()
    blocks = [stored_of(os.urandom(1000 + i)) for i in range(300)]
    first.put_many(blocks)
    first.put_many(blocks[:10])  # already there: nothing new stored
    assert first.indexed() == 300
    second = open_store()  # another process: learns the packs from the store itself
    late = stored_of(b"packed after the second one started" * 10)
    first.put_many([late, stored_of(b"and another one" * 10)])
    for digest, stored in [*blocks, late]:
        assert second.get(digest) == stored
        assert second.has(digest)


def test_large_blocks_in_a_batch_are_stored_on_their_own(
    open_store: Callable[[], BlockStores],
) -> None:
    store = open_store()
    big = stored_of(os.urandom(LOOSE_OVER + 1000))
    small = stored_of(b"small" * 100)
    store.put_many([big, small, big])
    assert store.get(big[0]) == big[1]
    assert store.get(small[0]) == small[1]
    if isinstance(store, S3BlockStore):
        assert [d for d, _, _ in store.digests()] == [big[0]]
        assert big[0] not in store._packed


def test_a_deleted_block_is_gone(open_store: Callable[[], BlockStores]) -> None:
    store = open_store()
    digest, stored = stored_of(os.urandom(5000))
    store.put(digest, stored)
    store.delete(digest)
    with pytest.raises(BlockMissing):
        store.get(digest)


def test_the_bucket_prefix_keeps_two_servers_apart(seaweed: object, s3_bucket: str) -> None:
    base, _, query = s3_bucket.partition("?")
    one = S3BlockStore(parse_s3_url(f"{base}/one/place?{query}"))
    two = S3BlockStore(parse_s3_url(f"{base}/two?{query}"))
    digest, stored = stored_of(b"only in one")
    one.put(digest, stored)
    assert one.get(digest) == stored
    with pytest.raises(BlockMissing):
        two.get(digest)


# ---------------------------------------------------------------------- the URL
def test_a_full_url_and_its_fallbacks() -> None:
    loc = parse_s3_url(
        "s3://my-bucket/roost/blocks?endpoint=https://s3.example:9000/&region=eu-west-1"
    )
    assert (loc.bucket, loc.prefix, loc.endpoint, loc.region) == (
        "my-bucket", "roost/blocks", "https://s3.example:9000", "eu-west-1",
    )  # fmt: skip
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:8333", "AWS_DEFAULT_REGION": "ap-south-1"}
    loc = parse_s3_url("s3://bucket", env)
    assert (loc.prefix, loc.endpoint, loc.region) == ("", "http://127.0.0.1:8333", "ap-south-1")
    assert parse_s3_url("s3://bucket", {}).region == "us-east-1"
    assert "secret" not in parse_s3_url("s3://bucket", {}).describe()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://bucket", "write s3://BUCKET"),
        ("s3://", "is not a bucket name"),
        ("s3://Bad_Bucket", "is not a bucket name"),
        ("s3://key:secret@bucket", "put no credentials in the URL"),
        ("s3://bucket//x", "prefix"),
        ("s3://bucket?endpoint=ftp://h", "endpoint"),
        ("s3://bucket?endpoint=http://h:99999", "port"),
        ("s3://bucket?colour=blue", "unknown option 'colour'"),
        ("s3://bucket?region=x&region=y", "given twice"),
        ("s3://bucket?region=Not%20A%20Region", "region"),
    ],
)
def test_a_bad_url_says_what_to_write(url: str, says: str) -> None:
    with pytest.raises(BadLocation, match=says):
        parse_s3_url(url, {})


@given(st.text(max_size=80))
def test_any_text_parses_or_is_refused_in_one_line(text: str) -> None:
    for url in (text, "s3://" + text):
        try:
            parse_s3_url(url, {})
        except BadLocation as exc:
            assert "\n" not in str(exc)


def test_a_block_folder_copied_into_a_bucket_serves_from_there(
    tmp_path: Path, s3_bucket: str
) -> None:
    """The documented move to S3: DATA/blocks' files (not the dot-named temp files) copied
    as they are under the bucket's prefix (what `aws s3 sync` or rclone does)."""
    import obstore

    local = LocalBlockStore(tmp_path / "blocks", fsync=False)
    big = stored_of(os.urandom(LOOSE_OVER + 10))
    small = [stored_of(os.urandom(500 + i)) for i in range(20)]
    local.put(*big)
    local.put_many(small)
    (tmp_path / "blocks" / big[0].hex()[:2] / ".left.tmp").write_bytes(b"half")
    s3 = S3BlockStore(parse_s3_url(s3_bucket))
    for path in (tmp_path / "blocks").rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            key = path.relative_to(tmp_path / "blocks").as_posix()
            obstore.put(s3._store, key, path.read_bytes())
    s3.check()
    assert s3.indexed() == 20
    for digest, stored in [big, *small]:
        assert s3.get(digest) == stored
    assert [d for d, _, _ in s3.digests()] == [big[0]]
