"""Ops for profiles: a display name and a bio per user."""

from __future__ import annotations

from datetime import datetime

import msgspec

from protocol.spec import OpSpec
from protocol.types import Bio, ClientId, DisplayName, Username


class GetProfile(msgspec.Struct, forbid_unknown_fields=True):
    username: Username | None = None  # None: the caller's own profile


class SetProfile(msgspec.Struct, forbid_unknown_fields=True):
    """Fields left out stay as they are."""

    display_name: DisplayName | None = None
    bio: Bio | None = None
    # True: follows become requests the user approves, and their posts (old ones too) reach
    # only approved followers. False: open again, and every waiting request is approved.
    locked: bool | None = None
    client_id: ClientId | None = None


class Profile(msgspec.Struct):
    username: str
    display_name: str
    bio: str
    created_at: datetime
    updated_at: datetime
    locked: bool = False


SPECS = [
    OpSpec("profile.get", GetProfile, Profile, summary="a user's profile"),
    OpSpec(
        "profile.set",
        SetProfile,
        Profile,
        write=True,
        summary="change the caller's display name, bio and/or whether the account is locked",
    ),
]
EVENTS: dict[str, type[msgspec.Struct]] = {"profile.updated": Profile}
