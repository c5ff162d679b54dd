"""Envelope decoding: nothing crashes the decoder; every invalid input maps to an error code."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.envelope import (
    Event,
    Reply,
    decode_request,
    decode_server_frame,
    encode_error,
    encode_event,
    encode_ok,
    encode_request,
    peek_request_id,
)
from protocol.errors import ErrorCode, ProtocolError, RoostError
from protocol.ops import OPS

CODES = set(ErrorCode)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(min_value=-(2**64), max_value=2**64) | json_values,
        "op": st.sampled_from(sorted(OPS)) | st.text(max_size=20) | json_values,
        "args": json_values
        | st.dictionaries(
            st.sampled_from(["username", "bio", "password", "device_id", "client_id", "x"]),
            json_values,
        ),
        "extra": json_values,
    },
)


def decode_to_args_or_error(frame: bytes | str) -> object:
    """What the server does with a frame, minus the socket: decode it, then its args."""
    try:
        request = decode_request(frame)
        return OPS[request.op].decode_args(request.args) if request.op in OPS else None
    except RoostError as exc:
        assert exc.code in CODES
        assert exc.message and "\n" not in exc.message
        return exc


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_decoder(frame: bytes) -> None:
    decode_to_args_or_error(frame)


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_decoder(frame: str) -> None:
    decode_to_args_or_error(frame)


@settings(max_examples=500)
@given(request_like)
def test_request_shaped_json_decodes_or_maps_to_a_code(obj: dict) -> None:
    frame = json.dumps(obj)
    outcome = decode_to_args_or_error(frame)
    valid_envelope = (
        isinstance(obj.get("id"), int)
        and not isinstance(obj.get("id"), bool)
        and 0 <= obj["id"] < 2**53
        and isinstance(obj.get("op"), str)
        and set(obj) <= {"id", "op", "args"}
    )
    if not valid_envelope:
        assert isinstance(outcome, ProtocolError) and outcome.code is ErrorCode.MALFORMED


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=1000))
def test_mutated_valid_frames_never_crash(noise: bytes, at: int) -> None:
    frame = b'{"id": 1, "op": "profile.set", "args": {"bio": "hello", "client_id": "abcdefgh12"}}'
    at = at % len(frame)
    decode_to_args_or_error(frame[:at] + noise + frame[at:])


@given(st.integers(min_value=1, max_value=30_000), st.sampled_from(["args", "bio", "extra"]))
def test_deep_nesting_is_an_error_not_a_crash(depth: int, where: str) -> None:
    # up to what fits in a 64 KiB request: msgspec gives up past a few thousand levels
    deep = "[" * depth + "1" + "]" * depth
    args = deep if where == "args" else '{"bio": ' + deep + "}" if where == "bio" else "{}"
    extra = ', "x": ' + deep if where == "extra" else ""
    decode_to_args_or_error('{"id": 1, "op": "profile.set", "args": ' + args + extra + "}")
    try:
        decode_server_frame('{"event": "x", "data": 1' + extra + "}")
    except ProtocolError:
        pass


def test_salvaged_id_comes_back_with_the_error() -> None:
    try:
        decode_request('{"id": 12, "op": 5}')
    except ProtocolError as exc:
        assert (exc.code, exc.request_id) == (ErrorCode.MALFORMED, 12)
    else:
        raise AssertionError("should not decode")


@given(st.integers(min_value=0, max_value=2**53 - 1), st.text(min_size=1, max_size=30))
def test_request_round_trip(request_id: int, op: str) -> None:
    request = decode_request(encode_request(request_id, op, {"k": [1, "two"]}))
    assert (request.id, request.op, msgspec.json.decode(request.args)) == (
        request_id,
        op,
        {"k": [1, "two"]},
    )
    assert peek_request_id(encode_request(request_id, op, {})) == (
        request_id if request_id < 10**16 else None
    )


def test_server_frames_round_trip() -> None:
    ok = decode_server_frame(encode_ok(3, {"a": 1}))
    assert isinstance(ok, Reply) and ok.ok and msgspec.json.decode(ok.result) == {"a": 1}
    err = decode_server_frame(
        encode_error(4, RoostError(ErrorCode.RATE_LIMITED, "slow down", retry_after=0.5))
    )
    assert isinstance(err, Reply) and not err.ok and err.error is not None
    assert (err.error.code, err.error.retry_after) == ("rate_limited", 0.5)
    event = decode_server_frame(encode_event("profile.updated", {"bio": "x"}))
    assert isinstance(event, Event) and msgspec.json.decode(event.data) == {"bio": "x"}
    # Error replies never carry internals, only code and message.
    assert set(
        json.loads(encode_error(None, RoostError(ErrorCode.INTERNAL, "internal server error")))
    ) == {"id", "ok", "error"}


@given(st.binary(max_size=200))
def test_client_side_decoder_never_crashes(frame: bytes) -> None:
    try:
        decode_server_frame(frame)
    except ProtocolError as exc:
        assert exc.code is ErrorCode.MALFORMED
