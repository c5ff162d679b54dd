"""Batch frames decode to exactly what was encoded, and anything else is a clean error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import files as wire
from protocol.errors import ErrorCode, RoostError

digests = st.binary(min_size=32, max_size=32)
stored = st.tuples(st.sampled_from([b"\x00", b"\x01"]), st.binary(max_size=300)).map(
    lambda t: t[0] + t[1]
)


@given(st.integers(0, 2**64 - 1), st.lists(st.tuples(digests, stored), max_size=20))
def test_put_and_block_batches_round_trip(
    request_id: int, blocks: list[tuple[bytes, bytes]]
) -> None:
    for magic in (wire.PUT_BATCH, wire.BLOCK_BATCH):
        frame = wire.decode_batch(wire.encode_batch(magic, request_id, blocks))
        assert (frame.magic, frame.request_id) == (magic, request_id)
        assert [(i.digest, bytes(i.stored)) for i in frame.items] == blocks


@given(st.integers(0, 2**64 - 1), st.lists(digests, max_size=50))
def test_get_batches_round_trip(request_id: int, wanted: list[bytes]) -> None:
    frame = wire.decode_batch(wire.encode_get_batch(request_id, wanted))
    assert [i.digest for i in frame.items] == wanted


@given(st.sampled_from([wire.PUT_BATCH, wire.GET_BATCH, wire.BLOCK_BATCH]), st.binary(max_size=400))
def test_any_bytes_after_a_batch_magic_decode_or_fail_cleanly(magic: bytes, rest: bytes) -> None:
    try:
        wire.decode_batch(magic + rest)
    except RoostError as exc:
        assert exc.code in (ErrorCode.MALFORMED, ErrorCode.TOO_LARGE)


@given(st.lists(st.tuples(digests, stored), min_size=1, max_size=5), st.data())
def test_a_cut_or_padded_batch_is_malformed(
    blocks: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    frame = wire.encode_batch(wire.PUT_BATCH, 1, blocks)
    cut = data.draw(st.integers(1, len(frame) - 14))
    for bad in (frame[:-cut], frame + b"x"):
        with pytest.raises(RoostError) as err:
            wire.decode_batch(bad)
        assert err.value.code == ErrorCode.MALFORMED


def test_unknown_codec_and_limits() -> None:
    with pytest.raises(RoostError, match="codec"):
        wire.decode_batch(wire.encode_batch(wire.PUT_BATCH, 1, [(bytes(32), b"\x07abc")]))
    too_many = wire.encode_get_batch(1, [bytes(32)] * (wire.MAX_BATCH_BLOCKS + 1))
    with pytest.raises(RoostError) as err:
        wire.decode_batch(too_many)
    assert err.value.code == ErrorCode.TOO_LARGE
