"""register, login, logout, whoami."""

from __future__ import annotations

import getpass
import socket
import sys
from typing import Annotated

import msgspec
import typer

from cli import output
from cli.options import AsJson, CaFile, PasswordStdin, ServerUrl, ca_path, default_server
from cli.session import with_client
from client.core import RoostClient
from client.errors import ClientError, Unreachable
from protocol.accounts import DeviceSession


def read_password(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ClientError("--password-stdin: nothing on stdin")
        return line.rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Repeat password: ") != password:
        raise ClientError("the passwords do not match")
    return password


DeviceName = Annotated[str, typer.Option("--device", help="A name for this device.")]


def register(
    username: Annotated[str, typer.Argument(help="3-32 letters, digits or underscores.")],
    server: ServerUrl = "",
    password_stdin: PasswordStdin = False,
    device: DeviceName = "",
    ca: CaFile = "",
    invite: Annotated[
        str,
        typer.Option(
            "--invite",
            help="The invite code an admin gave you (roost admin invite), for a server that"
            " registers by invite.",
        ),
    ] = "",
    as_json: AsJson = False,
) -> None:
    """Create an account and log this device in."""
    url = default_server(server)  # a bad address is said before the password is asked
    password = read_password(password_stdin, confirm=True)
    args = (url, username, password,
            device or socket.gethostname(), ca_path(ca), invite.strip() or None)  # fmt: skip
    session: DeviceSession = with_client(lambda c: c.register(*args))
    if as_json:
        _print_session(session, url)
    output.note(f"registered {output.line(session.username)}; this device is {_device(session)}")
    if session.role == "admin":
        output.note(
            "you are this server's admin (its first account): invite others with"
            " roost admin invite, see everyone with roost admin users"
        )


def login(
    username: str,
    server: ServerUrl = "",
    password_stdin: PasswordStdin = False,
    device: DeviceName = "",
    ca: CaFile = "",
    as_json: AsJson = False,
) -> None:
    """Log this device in to an existing account."""
    url = default_server(server)
    password = read_password(password_stdin, confirm=False)
    args = (url, username, password,
            device or socket.gethostname(), ca_path(ca))  # fmt: skip
    session: DeviceSession = with_client(lambda c: c.login(*args))
    if as_json:
        _print_session(session, url)
    output.note(f"logged in as {output.line(session.username)}; this device is {_device(session)}")


def _print_session(session: DeviceSession, server: str) -> None:
    """The account and device as JSON; never the token (it stays in the home, private)."""
    output.print_json(
        {
            "username": session.username,
            "user_id": session.user_id,
            "device_id": session.device_id,
            "device_name": session.device_name,
            "role": session.role,
            "server": server,
        }
    )


def _device(session: DeviceSession) -> str:
    return f"{output.line(session.device_name)} ({session.device_id})"


def logout(
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Forget this device here even if the server cannot be reached."
        ),
    ] = False,
) -> None:
    """Revoke this device's token and forget the account here (cache and outbox included)."""

    async def body(client: RoostClient) -> bool:
        try:
            return await client.logout(force=force)
        except Unreachable as exc:
            raise ClientError(
                f"{exc}; the token stays valid. Try again online, or use --force"
            ) from None

    if with_client(body):
        output.note("logged out; this device's token is revoked")
    else:
        output.note(
            "forgot this device here; revoke it from another device with roost devices revoke"
        )


def whoami(as_json: AsJson = False) -> None:
    """Show the account and device this home is logged in as."""

    async def body(client: RoostClient) -> dict[str, object]:
        account = client.home.require_account()
        info: dict[str, object] = {
            "username": account.username,
            "user_id": account.user_id,
            "device_id": account.device_id,
            "device_name": account.device_name,
            "server": account.server,
        }
        try:
            me = await client.call("auth.whoami")
            info.update(username=me.username, device_name=me.device_name, role=me.role)
        except Unreachable:
            output.note("offline: showing the saved account")
        return info

    info = with_client(body)
    if as_json:
        output.print_json(info)
    else:
        admin = " (this server's admin)" if info.get("role") == "admin" else ""
        output.stdout.print(
            f"{output.line(str(info['username']))}{admin} on {info['server']}"
            f" (device {output.line(str(info['device_name']))}, "
            f"{info['device_id']})",
            markup=False,
        )


def usage(as_json: AsJson = False) -> None:
    """Your storage use and the limits this server applies to you."""
    from cli.usage_lines import space_lines, space_use

    found, space = with_client(space_use)
    if as_json:
        output.print_json({**msgspec.to_builtins(found), "space": space})
        return
    used = output.size(found.used_bytes)
    if found.quota_bytes is None:
        line = f"storage: {used} used (no quota)"
    else:
        share = found.used_bytes / found.quota_bytes if found.quota_bytes else 1.0
        line = f"storage: {used} of {output.size(found.quota_bytes)} used ({share:.0%})"
    biggest = "no limit" if found.max_file_bytes is None else output.size(found.max_file_bytes)
    entries = f"entries: {found.entries:,} kept (file versions, deletions and attachments)"
    if found.max_entries is not None:
        entries = f"entries: {found.entries:,} of {found.max_entries:,} kept (file versions,"
        entries += " deletions and attachments)"
    waiting = f"uploads waiting for a commit: {output.size(found.uncommitted_bytes)}"
    if found.max_uncommitted_bytes is not None:
        waiting += f" of {output.size(found.max_uncommitted_bytes)}"
    for text in (
        line,
        *space_lines(space),
        entries,
        waiting,
        f"largest file: {biggest}",
        f"post: {found.max_post_chars} characters; chat message: {found.max_message_chars}",
        f"requests: {found.ops_per_second:g}/s, bursts of {found.ops_burst}",
    ):
        output.stdout.print(text, markup=False)
