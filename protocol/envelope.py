"""The three frame shapes (request, reply, event) and their JSON encoding.

A request's `args` stay raw bytes here; `protocol.ops` decodes them into the op's own struct,
so a frame is parsed once and arguments are validated against exactly one schema.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from protocol.errors import ErrorCode, ProtocolError, RoostError

MAX_REQUEST_ID = 2**53 - 1  # ids must round-trip through every JSON client


class Request(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    op: str
    args: msgspec.Raw = msgspec.Raw(b"{}")


class ErrorBody(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    retry_after: float | None = None


class Reply(msgspec.Struct, omit_defaults=True):
    id: int | None
    ok: bool
    result: msgspec.Raw | None = None
    error: ErrorBody | None = None


class Event(msgspec.Struct):
    event: str
    data: msgspec.Raw


class _Frame(msgspec.Struct):
    """Anything the server may send: tells replies (with `id`) from events (with `event`)."""

    id: int | None = None
    ok: bool | None = None
    result: msgspec.Raw = msgspec.Raw(b"null")  # msgspec.Raw cannot sit in a union
    error: ErrorBody | None = None
    event: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


_encoder = msgspec.json.Encoder()
_request_decoder = msgspec.json.Decoder(Request)
_frame_decoder = msgspec.json.Decoder(_Frame)
_any_decoder = msgspec.json.Decoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decode_request(frame: bytes | str) -> Request:
    """Decode one request frame or raise ProtocolError; never raises anything else."""
    try:
        request = _request_decoder.decode(frame)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:
        raise ProtocolError(
            ErrorCode.MALFORMED, _bad_frame_message(exc), _salvage_id(frame)
        ) from None
    if not 0 <= request.id <= MAX_REQUEST_ID:
        raise ProtocolError(ErrorCode.MALFORMED, f"request id must be in 0..{MAX_REQUEST_ID}")
    return request


def encode_request(request_id: int, op: str, args: Any) -> bytes:
    return _encoder.encode({"id": request_id, "op": op, "args": args})


def encode_ok(request_id: int, result: Any) -> bytes:
    raw = result if isinstance(result, msgspec.Raw) else msgspec.Raw(_encoder.encode(result))
    return _encoder.encode(Reply(id=request_id, ok=True, result=raw))


def encode_error(request_id: int | None, error: RoostError) -> bytes:
    body = ErrorBody(code=error.code.value, message=error.message, retry_after=error.retry_after)
    return _encoder.encode(Reply(id=request_id, ok=False, error=body))


def encode_event(name: str, data: Any) -> bytes:
    return _encoder.encode(Event(event=name, data=msgspec.Raw(_encoder.encode(data))))


def decode_server_frame(frame: bytes | str) -> Reply | Event:
    """Client side: a reply or an event; ProtocolError if the server sent neither."""
    try:
        parsed = _frame_decoder.decode(frame)
    except (msgspec.DecodeError, UnicodeError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.MALFORMED, f"bad server frame: {exc}"[:200]) from None
    if parsed.event is not None:
        return Event(event=parsed.event, data=parsed.data)
    if parsed.ok is None:
        raise ProtocolError(ErrorCode.MALFORMED, "server frame is neither a reply nor an event")
    return Reply(id=parsed.id, ok=parsed.ok, result=parsed.result, error=parsed.error)


_LEADING_ID = re.compile(rb'\A\s*\{\s*"id"\s*:\s*([0-9]{1,16})\s*[,}]')


def peek_request_id(frame: bytes | str) -> int | None:
    """The id of a request too large to decode, if it comes first; cheap for any size."""
    head = frame[:64]
    match = _LEADING_ID.match(head.encode() if isinstance(head, str) else head)
    return int(match.group(1)) if match else None


def _salvage_id(frame: bytes | str) -> int | None:
    """Best effort: the id of a request that failed to decode, so the error reaches its caller."""
    try:
        obj = _any_decoder.decode(frame)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        rid = peek_request_id(frame)  # bad further on (e.g. nested too deeply), but it starts well
        return rid if rid is not None and rid <= MAX_REQUEST_ID else None
    if isinstance(obj, dict):
        rid = obj.get("id")
        if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= MAX_REQUEST_ID:
            return rid
    return None


def _bad_frame_message(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, UnicodeError):
        return "frame is not valid UTF-8"
    if isinstance(exc, RecursionError):  # msgspec's guard against a stack overflow
        return "frame is nested too deeply"
    if text.startswith("Expected `object`") and "`$`" not in text:
        return "frame must be a JSON object with id, op and args"
    return f"bad request frame: {text}"[:200]
