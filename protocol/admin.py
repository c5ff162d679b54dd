"""Ops for a server's admins: invites, and the accounts on the server (list, disable, enable,
promote, demote). Every one of them needs the admin role (server.accounts.admin.require_admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from protocol.spec import OpSpec
from protocol.types import Empty, Username

# An invite code as `roost admin invite` prints it: the invite's short id, a dash, a secret
# (server.invites). Only its SHA-256 is stored.
INVITE_ID = r"\A[0-9a-f]{8}\Z"
InviteCode = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"\A[A-Za-z0-9_-]+\Z",
        description="an invite code as roost admin invite printed it (letters, digits, - and _)",
    ),
]
MAX_INVITE_USES = 10_000
MAX_INVITE_SECONDS = 366 * 86400  # a year and a day


class CreateInvite(msgspec.Struct, forbid_unknown_fields=True):
    uses: Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITE_USES)] = 1
    # Seconds until the code stops working; None: it never expires.
    expires_in: Annotated[int, msgspec.Meta(ge=1, le=MAX_INVITE_SECONDS)] | None = None


class Invite(msgspec.Struct):
    id: str  # the code's first part: what lists show and revoke accepts
    uses: int
    uses_left: int
    created_by: str
    created_at: datetime
    expires_at: datetime | None  # None: never
    state: str  # "active", "expired", "used up" or "revoked"


class NewInvite(msgspec.Struct):
    code: str  # shown once, here; the server keeps only its hash
    invite: Invite


class InviteList(msgspec.Struct):
    invites: list[Invite]


class RevokeInvite(msgspec.Struct, forbid_unknown_fields=True):
    code: InviteCode  # the whole code, or its id as the list shows it


class AccountSummary(msgspec.Struct):
    username: str
    role: str  # "member" or "admin"
    created_at: datetime
    last_seen_at: datetime | None  # the latest of its devices; None: never connected
    devices: int  # logged in (not revoked)
    used_bytes: int  # as account.usage counts it
    disabled_at: datetime | None  # None: not disabled


class AccountList(msgspec.Struct):
    users: list[AccountSummary]


class AccountRef(msgspec.Struct, forbid_unknown_fields=True):
    username: Username


SPECS = [
    OpSpec(
        "admin.invites.create",
        CreateInvite,
        NewInvite,
        summary="make an invite code for registering on this server",
    ),
    OpSpec("admin.invites.list", Empty, InviteList, summary="every invite code"),
    OpSpec("admin.invites.revoke", RevokeInvite, Invite, summary="stop an invite code working"),
    OpSpec("admin.users.list", Empty, AccountList, summary="every account"),
    OpSpec(
        "admin.users.disable",
        AccountRef,
        AccountSummary,
        summary="disable an account: its tokens stop working and its connections close",
    ),
    OpSpec("admin.users.enable", AccountRef, AccountSummary, summary="enable an account again"),
    OpSpec("admin.users.promote", AccountRef, AccountSummary, summary="make an account an admin"),
    OpSpec("admin.users.demote", AccountRef, AccountSummary, summary="make an admin a member"),
]
EVENTS: dict[str, type[msgspec.Struct]] = {}
