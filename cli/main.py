"""The `roost` command: every sub-command is registered here, behind one error boundary."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from cli import (
    account,
    admin,
    blocking,
    chat,
    devices,
    export,
    files,
    outbox,
    password,
    profile,
    serve,
    social,
    tui,
)
from cli.configured import ConfiguredCommand
from cli.output import note
from cli.settings import ConfigError
from client.errors import ClientError, ServerError, Unreachable
from client.home import ClientHome
from storage.content.malloc import tune_malloc
from storage.errors import StorageError


class _RoostTyper(typer.Typer):
    """The error boundary: a known failure is one line on stderr and exit 1, never a traceback
    (ROOST_DEBUG=1 shows it)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tune_malloc()  # blocks reuse memory instead of faulting in fresh pages each time
        try:
            return super().__call__(*args, **kwargs)
        except ConfigError as exc:  # a setting from the environment or a file: usage
            _fail(str(exc), exc, code=2)
        except (ClientError, StorageError) as exc:
            _fail(_describe(exc), exc)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:  # a bug: still one line, with a way to see more
            _fail(
                f"internal error: {type(exc).__name__}: {exc} (ROOST_DEBUG=1 shows the traceback)",
                exc,
            )


def _describe(exc: Exception) -> str:
    if isinstance(exc, Unreachable) and str(exc).startswith("cannot reach "):
        return f"{exc} (start a server with roost serve, or pick another with --server)"
    if isinstance(exc, ServerError):
        from client.error_wording import plain_message

        return f"{plain_message(exc.message)} [{exc.code}]"
    return str(exc)


def _fail(message: str, exc: BaseException, code: int = 1) -> None:
    if os.environ.get("ROOST_DEBUG") == "1":
        raise exc
    note(f"error: {message}")
    sys.exit(code)


app = _RoostTyper(
    name="roost",
    help="Roost: posts, chat and file sync for your group, from the terminal.",
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion
)
app.command(cls=ConfiguredCommand)(serve.serve)
app.command()(account.register)
app.command()(account.login)
app.command()(account.logout)
app.command()(account.whoami)
app.command()(account.usage)
app.command()(password.password)
app.add_typer(profile.app, name="profile")
app.add_typer(devices.app, name="devices")
app.add_typer(outbox.app, name="outbox")
social.register(app)
blocking.register(app)
app.add_typer(chat.app, name="chat")
app.command()(files.sync)
app.command()(files.share)
app.add_typer(files.files_app, name="files")
app.add_typer(files.media_app, name="media")
app.add_typer(admin.app, name="admin")
app.command()(export.export)
app.command()(tui.tui)


def _show_version(value: bool) -> None:
    if value:
        from cli.version import version_lines  # imports the fast-path libraries: only here

        for line in version_lines():
            typer.echo(line)
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _plain_roost(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_show_version,
            help="Show Roost's version and its compiled fast paths (with their versions), then"
            " exit.",
        ),
    ] = False,
) -> None:
    """Plain `roost`: the terminal app when logged in, else this help."""
    if ctx.invoked_subcommand is not None:
        return
    if ClientHome.from_env().account() is not None:
        tui.tui()
    else:
        typer.echo(ctx.get_help())


def main() -> None:
    app()
