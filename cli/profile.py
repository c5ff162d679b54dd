"""profile show / set."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import output
from cli.options import AsJson
from cli.session import with_client
from client.core import Read, RoostClient, Written
from client.errors import ClientError
from protocol.profiles import GetProfile, Profile, SetProfile

app = typer.Typer(help="Show or change profiles.", no_args_is_help=True)


@app.command("show")
def show(
    username: Annotated[
        str | None, typer.Argument(help="Whose profile; yours if left out.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Show a profile."""

    async def body(client: RoostClient) -> Read[Profile]:
        key = (username or client.home.require_account().username).lower()
        return await client.read("profile.get", GetProfile(username=username), cache_key=key)

    async def pending(client: RoostClient) -> tuple[Read[Profile], bool]:
        answer = await body(client)
        if not answer.offline:
            return answer, False
        from client.offline_reads import with_queued_profile

        profile, changed = await with_queued_profile(client, answer.result)
        return Read(profile, True, answer.cached_at), changed

    answer, queued = with_client(pending)
    if answer.offline:
        output.offline(answer.cached_at)
    if queued:
        output.note("pending: shown with your queued change, sent on the next connection")
    _print(answer.result, as_json)


@app.command("set")
def set_(
    display_name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    bio: Annotated[str | None, typer.Option(help="Bio, up to 500 characters.")] = None,
    locked: Annotated[
        bool | None,
        typer.Option(
            "--locked/--unlocked",
            help="Locked: follows become requests you approve (roost requests), and your posts,"
            " old ones too, reach only approved followers. Unlocking approves every request"
            " still waiting.",
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change your display name, bio and/or lock (queued if the server is unreachable)."""
    if display_name is None and bio is None and locked is None:
        raise ClientError("nothing to change: give --name, --bio, --locked or --unlocked")

    async def body(client: RoostClient) -> Written[Profile]:
        args = SetProfile(display_name=display_name, bio=bio, locked=locked)
        return await client.write("profile.set", args)

    written = with_client(body)
    if written.queued:
        output.queued("profile.set", written.client_id, as_json, why=written.why_queued)
    else:
        assert written.result is not None
        _print(written.result, as_json)


def _print(profile: Profile, as_json: bool) -> None:
    if as_json:
        output.print_json(profile)
        return
    name = output.line(profile.display_name or profile.username)
    lock = " 🔒 locked: approves follow requests" if profile.locked else ""
    output.stdout.print(f"{name} (@{output.line(profile.username)}){lock}", markup=False)
    if profile.bio:
        output.stdout.print(profile.bio, markup=False)
    output.stdout.print(f"joined {output.when(profile.created_at)}", style="dim", markup=False)
