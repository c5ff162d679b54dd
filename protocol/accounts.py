"""Ops for accounts and devices: register, login, logout, whoami, list and revoke devices."""

from __future__ import annotations

from datetime import datetime

import msgspec

from protocol.types import DeviceName, Id, Password, Username


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    """Args of auth.register and auth.login."""

    username: Username
    password: Password
    device_name: DeviceName = "device"


class DeviceSession(msgspec.Struct):
    """A logged-in device: the token is shown once, here, and stored only as a hash."""

    user_id: str
    username: str
    device_id: str
    device_name: str
    token: str


class WhoAmI(msgspec.Struct):
    user_id: str
    username: str
    device_id: str
    device_name: str


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
