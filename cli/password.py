"""password: change your password, or set a new one with a reset code from an admin."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from cli import output
from cli.options import CaFile, ServerUrl, ca_path, default_server
from cli.session import with_client
from client.core import RoostClient
from client.errors import ClientError
from client.home import ClientHome
from protocol.account_changes import ChangePassword, PasswordChanged, PasswordReset


def _line(what: str) -> str:
    line = sys.stdin.readline()
    if not line:
        raise ClientError(f"--password-stdin: no {what} on stdin")
    return line.rstrip("\r\n")


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return _line("new password")
    password = getpass.getpass("New password: ")
    if getpass.getpass("Repeat new password: ") != password:
        raise ClientError("the new passwords do not match; your password is unchanged")
    return password


def password(
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the passwords from stdin: the old one on the first line, the new one on"
            " the second (with --reset: the new one only).",
        ),
    ] = False,
    log_out_others: Annotated[
        bool,
        typer.Option("--log-out-others", help="Also log out every other device of yours."),
    ] = False,
    reset: Annotated[
        str,
        typer.Option(
            "--reset",
            metavar="CODE",
            help="Set a new password with the one-time code an admin gave you (no login"
            " needed; every device of the account is logged out).",
        ),
    ] = "",
    server: ServerUrl = "",
    ca: CaFile = "",
) -> None:
    """Change your password (your other devices stay logged in unless --log-out-others)."""
    if reset:
        if log_out_others:
            raise typer.BadParameter("a reset logs out every device already", param_hint="--reset")
        _redeem(reset, password_stdin, server, ca)
        return
    ClientHome.from_env().require_account()  # said before any password is asked for
    if password_stdin:
        old = _line("old password")
    else:
        old = getpass.getpass("Current password: ")
    new = _new_password(password_stdin)
    args = ChangePassword(old_password=old, new_password=new, log_out_others=log_out_others)

    async def body(client: RoostClient) -> PasswordChanged:
        result: PasswordChanged = await client.call("auth.change_password", args)
        return result

    done = with_client(body)
    others = output.count(done.devices_logged_out, "other device")
    others = f"; {others} logged out" if log_out_others else ""
    output.note(f"password changed{others}")


def _redeem(code: str, from_stdin: bool, server: str, ca: str) -> None:
    new = _new_password(from_stdin)

    async def body(client: RoostClient) -> PasswordReset:
        account = client.home.account()
        url = default_server(server) if server or not account else account.server
        chosen_ca = ca_path(ca) or (account.ca if account else None)
        return await client.redeem_reset(url, code, new, chosen_ca)

    done = with_client(body)
    output.note(
        f"password of {output.line(done.username)} set;"
        f" {output.count(done.devices_logged_out, 'device')}"
        f" logged out. Log in with: roost login {output.line(done.username)}"
    )
