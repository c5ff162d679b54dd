"""Blocks and mutes: ops on the caller's own two private lists. Nothing here is ever pushed to
anyone else; see server/social/block_rules.py for what a block and a mute do."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from protocol.social import UserProfile, UserRef
from protocol.spec import OpSpec


class ListHidden(msgspec.Struct, forbid_unknown_fields=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1000


class ListedUser(msgspec.Struct):
    username: str
    display_name: str
    since: datetime  # when the caller blocked or muted them


class ListedUsers(msgspec.Struct):
    users: list[ListedUser]  # newest first


SPECS = [
    OpSpec("block.add", UserRef, UserProfile, write=True, summary="block a user"),
    OpSpec("block.remove", UserRef, UserProfile, write=True, summary="unblock a user"),
    OpSpec("block.list", ListHidden, ListedUsers, summary="whom the caller blocked"),
    OpSpec("mute.add", UserRef, UserProfile, write=True, summary="mute a user"),
    OpSpec("mute.remove", UserRef, UserProfile, write=True, summary="unmute a user"),
    OpSpec("mute.list", ListHidden, ListedUsers, summary="whom the caller muted"),
]
EVENTS: dict[str, type[msgspec.Struct]] = {}
