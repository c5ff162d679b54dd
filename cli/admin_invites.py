"""roost admin invite / invites / invite revoke: invite codes, made and listed through the
server by the admin account logged in here."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output, typed_ids
from cli.options import AsJson, duration_seconds
from cli.session import with_client
from protocol.admin import (
    MAX_INVITE_SECONDS,
    MAX_INVITE_USES,
    CreateInvite,
    Invite,
    InviteList,
    NewInvite,
    RevokeInvite,
)

THROUGH_THE_SERVER = "Through the server (as the admin account logged in here)"

invite_app = typer.Typer(
    help="Make an invite code for someone to register with; roost admin invite revoke CODE"
    " stops one working.",
    invoke_without_command=True,
)


def expiry_seconds(text: str) -> int | None:
    """--expires: a duration (at least a second, at most a year), or never."""
    if text.strip().lower() == "never":
        return None
    seconds = duration_seconds(text, "--expires")
    if not 1 <= seconds <= MAX_INVITE_SECONDS:
        raise typer.BadParameter(
            f"{text!r}: between 1s and {MAX_INVITE_SECONDS // 86400}d, or never",
            param_hint="--expires",
        )
    return round(seconds)


@invite_app.callback()
def invite(
    ctx: typer.Context,
    uses: Annotated[
        int,
        typer.Option(
            "--uses", min=1, max=MAX_INVITE_USES, help="How many accounts the code may make."
        ),
    ] = 1,
    expires: Annotated[
        str,
        typer.Option("--expires", help="How long the code works: e.g. 30m, 24h, 7d, or never."),
    ] = "7d",
    as_json: AsJson = False,
) -> None:
    """Make an invite code (printed once: the server keeps only its hash)."""
    if ctx.invoked_subcommand is not None:
        return
    args = CreateInvite(uses=uses, expires_in=expiry_seconds(expires))
    made: NewInvite = with_client(lambda c: c.call("admin.invites.create", args))
    if as_json:
        output.print_json(made)
        return
    output.stdout.print(made.code, markup=False)
    output.note(
        f"invite {made.invite.id}: {_uses(made.invite)}, {_expiry(made.invite)}."
        f" They register with: roost register USER --invite {made.code}"
    )


@invite_app.command("revoke")
def revoke(
    code: Annotated[
        str,
        typer.Argument(help="The code, its id as roost admin invites lists, or #N from that list."),
    ],
) -> None:
    """Stop an invite code working (accounts already made with it stay)."""
    if code.strip().startswith("#"):
        code = typed_ids.resolve("invite", code)
    revoked: Invite = with_client(
        lambda c: c.call("admin.invites.revoke", RevokeInvite(code=code.strip()))
    )
    output.note(f"revoked invite {revoked.id} ({revoked.uses - revoked.uses_left} use(s) made)")


def invites(as_json: AsJson = False) -> None:
    """List invite codes: uses left, expiry, state (the codes themselves are not kept)."""
    found: InviteList = with_client(lambda c: c.call("admin.invites.list"))
    typed_ids.remember("invite", [i.id for i in found.invites])
    if as_json:
        output.print_json({"invites": found.invites})
        return
    if not found.invites:
        output.note("no invites yet: make one with roost admin invite")
        return
    rows = [
        [
            i.id,
            f"{i.uses_left} of {i.uses}",
            output.when(i.expires_at) if i.expires_at else "never",
            i.state,
            i.created_by,
            output.when(i.created_at),
        ]
        for i in found.invites
    ]
    headers = ["#", "id", "uses left", "expires", "state", "made by", "made"]
    output.table(headers, output.numbered(rows))


def _uses(invite: Invite) -> str:
    return "1 use" if invite.uses == 1 else f"{invite.uses} uses"


def _expiry(invite: Invite) -> str:
    if invite.expires_at is None:
        return "never expires"
    return f"expires {invite.expires_at.astimezone():%Y-%m-%d %H:%M:%S}"


def register(app: typer.Typer) -> None:
    app.add_typer(invite_app, name="invite", rich_help_panel=THROUGH_THE_SERVER)
    app.command("invites", rich_help_panel=THROUGH_THE_SERVER)(invites)
