"""Client exceptions; the CLI turns each into one line on stderr.

ClientError
├── Unreachable        the server could not be reached (writes get queued instead)
│   ├── ConnectionLost the connection dropped while a request was in flight
│   └── ServerUnavailable  the server answered but cannot serve now (its database is away,
│                          or it is shutting down): writes get queued too
├── AuthRejected       the server refused this device's token (revoked or unknown)
│   └── AccountDisabled  ... because an admin disabled the account (logging in won't help)
├── NotLoggedIn        this client home has no account yet
├── SyncBusy           another roost process is syncing this home or folder
├── LocalDataError     this device's own database failed (newer schema, full disk, damage)
└── ServerError        the server refused an op; carries its stable error code
    └── InvalidArgs    refused before sending: the protocol's field rules would refuse it
"""

from __future__ import annotations

from protocol.errors import ErrorCode


class ClientError(Exception):
    pass


class Unreachable(ClientError):
    pass


class ConnectionLost(Unreachable):
    pass


class ServerUnavailable(Unreachable):
    """The server refused the connection for now (HTTP 503); the message is its reason."""


class AuthRejected(ClientError):
    pass


class AccountDisabled(AuthRejected):
    pass


class NotLoggedIn(ClientError):
    pass


class SyncBusy(ClientError):
    pass


class LocalDataError(ClientError):
    """The client home's database could not do what was asked; raised in place of storage's
    own errors (client/boundary.py), so nothing above client/ imports storage."""


class ServerError(ClientError):
    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth retrying later with the same idempotency key."""
        return self.code in {ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL}


class InvalidArgs(ServerError):
    """What the server would refuse by the protocol's own field rules (a name with a newline,
    a post too long), refused here before it is sent or queued."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_ARGS, message)
