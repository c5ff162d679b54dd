"""roost admin users / disable / enable / promote / demote: the accounts on a server, through
the server, by the admin account logged in here."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output
from cli.admin_invites import THROUGH_THE_SERVER
from cli.options import AsJson
from cli.session import with_client
from protocol.admin import AccountList, AccountRef, AccountSummary

User = Annotated[str, typer.Argument(help="The account's username.")]


def users(as_json: AsJson = False) -> None:
    """List the accounts: role, when made and last seen, devices, storage used, disabled."""
    found: AccountList = with_client(lambda c: c.call("admin.users.list"))
    if as_json:
        output.print_json({"users": found.users})
        return
    rows = [
        [
            u.username,
            u.role,
            output.when(u.created_at),
            output.when(u.last_seen_at),
            str(u.devices),
            output.size(u.used_bytes),
            output.when(u.disabled_at) if u.disabled_at else "",
        ]
        for u in found.users
    ]
    headers = ["username", "role", "created", "last seen", "devices", "storage", "disabled"]
    output.table(headers, rows)


def _change(op: str, username: str) -> AccountSummary:
    return with_client(lambda c: c.call(op, AccountRef(username=username)))  # type: ignore[no-any-return]


def disable(username: User) -> None:
    """Disable an account: its devices are cut off at once and it cannot log in."""
    done = _change("admin.users.disable", username)
    output.note(
        f"disabled {output.line(done.username)}: its connections are closed and it cannot log"
        " in until roost admin enable"
    )


def enable(username: User) -> None:
    """Enable a disabled account: it logs in again, and its devices work again."""
    done = _change("admin.users.enable", username)
    output.note(f"enabled {output.line(done.username)}: it may log in again")


def promote(username: User) -> None:
    """Make an account an admin of this server."""
    done = _change("admin.users.promote", username)
    output.note(f"{output.line(done.username)} is now an admin")


def demote(username: User) -> None:
    """Make an admin a member again (a server keeps at least one admin)."""
    done = _change("admin.users.demote", username)
    output.note(f"{output.line(done.username)} is now a member")


def register(app: typer.Typer) -> None:
    for command in (users, disable, enable, promote, demote):
        app.command(rich_help_panel=THROUGH_THE_SERVER)(command)
