"""admin reset-password and admin delete: account commands an admin runs through the server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli import output
from cli.admin_invites import THROUGH_THE_SERVER
from cli.options import AsJson
from cli.session import with_client
from client.errors import ClientError
from protocol.account_changes import DeleteUser, IssueReset, ResetCode, UserDeleted


def reset_password(
    username: Annotated[str, typer.Argument(metavar="USER")], as_json: AsJson = False
) -> None:
    """Print a one-time code with which USER sets a new password.

    They run roost password --reset CODE. It works once, for 24 hours; a new code replaces
    the last one."""
    issued: ResetCode = with_client(
        lambda c: c.call("admin.reset_password", IssueReset(username=username))
    )
    if as_json:
        output.print_json(issued)
        return
    output.stdout.print(issued.code)
    output.note(
        f"give this code to {output.line(issued.username)} (valid until"
        f" {output.when(issued.expires_at)}, once); they run: roost password --reset CODE."
        " All their devices will be logged out."
    )


def delete(
    username: Annotated[str, typer.Argument(metavar="USER")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: AsJson = False,
) -> None:
    """Delete USER's account (asks first; it cannot be undone).

    Their posts, home folder and attachments go; shares they own pass to a member; their
    messages stay with the others. See docs/OPERATIONS.md, "Deleting an account"."""
    if not yes:
        if not sys.stdin.isatty():
            raise ClientError("deleting an account cannot be undone: add --yes to confirm")
        if not typer.confirm(f"Delete the account {username!r} and everything only theirs?"):
            raise ClientError(f"{username!r} was not deleted")
    done: UserDeleted = with_client(
        lambda c: c.call("admin.delete_user", DeleteUser(username=username))
    )
    if as_json:
        output.print_json(done)
        return
    output.note(
        f"deleted {output.line(done.username)}: {done.posts} post(s), {done.files_removed} file"
        f" version(s), {done.attachments} attachment(s) removed; left {done.conversations_left}"
        f" conversation(s) (their messages stay there); {done.devices_logged_out} device(s)"
        " logged out. Run roost admin gc to free the disk space."
    )
    for share in done.shares_handed_over:
        output.note(
            f"shared folder {output.line(share.folder)} now belongs to"
            f" {output.line(share.new_owner)}"
        )


def register(app: typer.Typer) -> None:
    app.command("reset-password", rich_help_panel=THROUGH_THE_SERVER)(reset_password)
    app.command("delete", rich_help_panel=THROUGH_THE_SERVER)(delete)
