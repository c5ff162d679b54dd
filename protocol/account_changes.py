"""Ops that change or end an account: changing a password, resetting a lost one with a code an
admin issued, and an admin deleting an account."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec

from protocol.spec import OpSpec
from protocol.types import Password, Username

# Any string up to the password limit: a wrong old password must reach the server (and be
# counted as a failed attempt), not be refused as malformed.
OldPassword = Annotated[str, msgspec.Meta(max_length=1024)]
ResetCodeText = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        pattern=r"\A[A-Za-z0-9 -]*\Z",
        description="the code as the admin gave it: letters, digits and dashes",
    ),
]

# A reset code: 120 random bits as 24 base32 letters and digits, shown in groups of four.
RESET_CODE_BYTES = 15
_NOT_CODE = re.compile(r"[\s-]+")
_CODE = re.compile(r"[A-Z2-7]{24}")


def normalize_reset_code(text: str) -> str | None:
    """The code as stored (upper case, no dashes or spaces), or None if it cannot be one."""
    code = _NOT_CODE.sub("", text).upper()
    return code if _CODE.fullmatch(code) else None


def show_reset_code(code: str) -> str:
    """Groups of four, easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class ChangePassword(msgspec.Struct, forbid_unknown_fields=True):
    old_password: OldPassword
    new_password: Password
    log_out_others: bool = False  # revoke every other device of the account


class PasswordChanged(msgspec.Struct):
    devices_logged_out: int  # other devices revoked (0 unless log_out_others)


class RedeemReset(msgspec.Struct, forbid_unknown_fields=True):
    """Args of auth.reset_password: the code alone names the account."""

    code: ResetCodeText
    new_password: Password


class PasswordReset(msgspec.Struct):
    username: str
    devices_logged_out: int  # every device the account had


class IssueReset(msgspec.Struct, forbid_unknown_fields=True):
    username: Username


class ResetCode(msgspec.Struct):
    username: str
    code: str  # shown once, here; the server keeps only its hash
    expires_at: datetime


class DeleteUser(msgspec.Struct, forbid_unknown_fields=True):
    username: Username


class HandedOver(msgspec.Struct):
    """A shared folder the deleted account owned, now owned by one of its members."""

    folder: str
    new_owner: str


class UserDeleted(msgspec.Struct):
    username: str
    posts: int  # their posts and reposts, removed
    likes: int  # their likes, taken back
    conversations_left: int  # their messages stay there for the others
    conversations_removed: int  # nobody else was left in them
    files_removed: int  # file versions in their home and unshared folders
    shares_handed_over: list[HandedOver]
    attachments: int
    devices_logged_out: int


SPECS = [
    OpSpec(
        "auth.change_password",
        ChangePassword,
        PasswordChanged,
        summary="change the caller's password (the old one is checked)",
    ),
    OpSpec(
        "auth.reset_password",
        RedeemReset,
        PasswordReset,
        needs_auth=False,
        summary="set a new password with a one-time code from an admin",
    ),
    OpSpec(
        "admin.reset_password",
        IssueReset,
        ResetCode,
        summary="admin: a one-time code with which a user sets a new password",
    ),
    OpSpec(
        "admin.delete_user",
        DeleteUser,
        UserDeleted,
        summary="admin: delete an account and what is only theirs",
    ),
]
EVENTS: dict[str, type[msgspec.Struct]] = {}
