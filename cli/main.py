"""The `roost` command: every sub-command is registered here, behind one error boundary."""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated, Any

import typer

from cli.lazy import LazyGroup

# Only what every start needs is imported here: each command's module (and what it imports)
# loads when that command runs (cli/commands.py, cli/lazy.py).


class _RoostTyper(typer.Typer):
    """The error boundary: a known failure is one line on stderr and exit 1, never a traceback
    (ROOST_DEBUG=1 shows it)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:
            _fail_with(exc)
        finally:
            # The process ends next: its last garbage collection need not walk every object
            # the imports made (~30 ms of each `roost` run, docs/BENCHMARKS.md).
            gc.freeze()


def _fail_with(exc: Exception) -> None:
    """One line for `exc` (the error classes are imported only now: a start without a failure
    does not pay for them)."""
    from cli.settings import ConfigError
    from client.errors import ClientError, ServerError, Unreachable

    if isinstance(exc, ConfigError):  # a setting from the environment or a file: usage
        _fail(str(exc), exc, code=2)
    elif isinstance(exc, ServerError):
        from client.error_wording import plain_message

        _fail(f"{plain_message(exc.message)} [{exc.code}]", exc)
    elif isinstance(exc, Unreachable) and str(exc).startswith("cannot reach "):
        _fail(f"{exc} (start a server with roost serve, or pick another with --server)", exc)
    elif isinstance(exc, ClientError) or _is_storage_error(exc) or _is_server_command(exc):
        _fail(str(exc), exc)
    else:  # a bug: still one line, with a way to see more
        _fail(
            f"internal error: {type(exc).__name__}: {exc} (ROOST_DEBUG=1 shows the traceback)",
            exc,
        )


def _is_server_command(exc: Exception) -> bool:
    """A refusal from `roost serve` or `roost admin` (server.entry is loaded only if one of
    them ran)."""
    if "server.entry" not in sys.modules:
        return False
    from server.entry import CommandFailed

    return isinstance(exc, CommandFailed)


def _is_storage_error(exc: Exception) -> bool:
    """A storage error the client core let through, recognised by name: cli/ imports no
    storage module (the client core translates these at its boundary)."""
    return any(
        c.__module__ == "storage.errors" and c.__name__ == "StorageError" for c in type(exc).__mro__
    )


def _fail(message: str, exc: BaseException, code: int = 1) -> None:
    if os.environ.get("ROOST_DEBUG") == "1":
        raise exc
    from cli.output import note

    note(f"error: {message}")
    sys.exit(code)


app = _RoostTyper(
    name="roost",
    help="Roost: posts, chat and file sync for your group, from the terminal.",
    pretty_exceptions_enable=False,
    cls=LazyGroup,
    add_completion=True,  # --install-completion / --show-completion
)


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
    from client.home import ClientHome

    if ClientHome.from_env().account() is not None:
        from cli.tui import tui

        tui()
    else:
        typer.echo(ctx.get_help())


def main() -> None:
    app(prog_name="roost")  # `python -m cli` too: what it prints names the command people type
