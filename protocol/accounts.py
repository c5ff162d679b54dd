"""Ops for accounts and devices: register, login, logout, whoami, list and revoke devices."""

from __future__ import annotations

from datetime import datetime

import msgspec

from protocol.admin import InviteCode
from protocol.spec import OpSpec
from protocol.types import DeviceName, Empty, Id, Password, Username

# An admin disabled the account: its live connections close with this code (4000 + HTTP 403),
# and a new handshake with one of its tokens is refused with 403 and this text.
CLOSE_DISABLED = 4003
ACCOUNT_DISABLED = "this account is disabled: ask the server's admin"


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    """Args of auth.register and auth.login."""

    username: Username
    password: Password
    device_name: DeviceName = "device"


class Registration(Credentials, forbid_unknown_fields=True):
    """Args of auth.register: a server that registers by invite also needs a code."""

    invite: InviteCode | None = None


class DeviceSession(msgspec.Struct):
    """A logged-in device: the token is shown once, here, and stored only as a hash."""

    user_id: str
    username: str
    device_id: str
    device_name: str
    token: str
    role: str = "member"  # "admin" for the first account on a new server


class WhoAmI(msgspec.Struct):
    user_id: str
    username: str
    device_id: str
    device_name: str
    role: str = "member"  # or "admin": may run `roost admin` commands through the server


class Device(msgspec.Struct):
    id: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    current: bool


class DeviceList(msgspec.Struct):
    devices: list[Device]


class RevokeDevice(msgspec.Struct, forbid_unknown_fields=True):
    device_id: Id


class Usage(msgspec.Struct):
    """The caller's storage use and the limits this server applies to them."""

    used_bytes: int  # see server.quota for what counts
    quota_bytes: int | None  # None: no quota
    max_file_bytes: int | None  # None: no limit
    max_post_chars: int
    max_message_chars: int
    max_request_bytes: int
    ops_per_second: float  # shared by all of the user's connections
    ops_burst: int
    # Defaults: what a server from before these were counted means (no limit known).
    entries: int = 0  # kept versions in namespaces they own, plus attachments
    max_entries: int | None = None  # None: no limit
    uncommitted_bytes: int = 0  # uploaded blocks no commit of theirs used yet
    max_uncommitted_bytes: int | None = None  # None: no limit


SPECS = [
    OpSpec(
        "auth.register",
        Registration,
        DeviceSession,
        needs_auth=False,
        summary="create an account and log this device in",
    ),
    OpSpec(
        "auth.login", Credentials, DeviceSession, needs_auth=False, summary="log a new device in"
    ),
    OpSpec("auth.logout", Empty, Empty, summary="revoke the calling device's token"),
    OpSpec("auth.whoami", Empty, WhoAmI, summary="who the calling device belongs to"),
    OpSpec("devices.list", Empty, DeviceList, summary="the caller's devices"),
    OpSpec("account.usage", Empty, Usage, summary="the caller's storage use and limits"),
    OpSpec(
        "devices.revoke",
        RevokeDevice,
        Empty,
        summary="revoke one of the caller's devices and close its connections",
    ),
]
EVENTS: dict[str, type[msgspec.Struct]] = {}
