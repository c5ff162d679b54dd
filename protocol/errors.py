"""Stable error codes and the one exception that carries them across the wire.

RoostError                 an error a peer may see: a code from ErrorCode plus a message
├── ProtocolError          the frame itself could not be understood (raised by decoding)
└── (handlers raise RoostError directly for refusals: not_found, forbidden, ...)
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """Codes clients may rely on; add new ones, never rename or reuse."""

    MALFORMED = "malformed"  # not JSON, not an object, missing id/op, binary frame out of place
    UNKNOWN_OP = "unknown_op"
    INVALID_ARGS = "invalid_args"  # args of the wrong shape, type, or length
    TOO_LARGE = "too_large"  # frame or field over a limit
    UNAUTHENTICATED = "unauthenticated"  # op needs a logged-in device
    INVALID_CREDENTIALS = "invalid_credentials"
    USERNAME_TAKEN = "username_taken"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"  # the write would take its owner past their storage quota
    UNAVAILABLE = "unavailable"  # the server is shutting down; retry elsewhere or later
    INTERNAL = "internal"  # a bug on the server; details are in its log, never in the reply


class RoostError(Exception):
    """A refusal with a stable code and a one-line message fit to show a user."""

    def __init__(self, code: ErrorCode, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"RoostError({self.code.value!r}, {self.message!r})"


class ProtocolError(RoostError):
    """A frame that could not be decoded; `request_id` is set when the id could be salvaged."""

    def __init__(self, code: ErrorCode, message: str, request_id: int | None = None) -> None:
        super().__init__(code, message)
        self.request_id = request_id
