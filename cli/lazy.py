"""The `roost` command group that imports a command's module only when that command is used.

`roost --help` is written from cli.commands alone (grouped by panel, with first steps), so it
loads no command module at all; `roost post ...` imports cli.social and what it needs, and
nothing of chat, files, the sync engine, Textual or the server.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import typer
from typer import _click
from typer.core import TyperGroup
from typer.exceptions import Abort
from typer.main import get_command_from_info, get_group_from_info
from typer.models import CommandInfo, TyperInfo

from cli.commands import BY_NAME, PANELS, Entry
from cli.examples import FIRST_STEPS, epilog


def load(entry: Entry) -> _click.Command:
    """The click command for `entry`, importing its module now."""
    module, attribute = entry.target.split(":")
    target = getattr(importlib.import_module(module), attribute)
    command: _click.Command
    if isinstance(target, typer.Typer):
        command = get_group_from_info(
            TyperInfo(target, name=entry.name),
            pretty_exceptions_short=True,
            rich_markup_mode=target.rich_markup_mode,
            suggest_commands=True,
        )
    else:
        cls = None
        if entry.configured:
            from cli.configured import ConfiguredCommand

            cls = ConfiguredCommand
        command = get_command_from_info(
            CommandInfo(name=entry.name, callback=target, cls=cls),
            pretty_exceptions_short=True,
            rich_markup_mode="rich",
        )
    command.name = entry.name
    _add_examples(command, entry.name)
    return command


def _add_examples(command: _click.Command, path: str) -> None:
    if command.epilog is None:
        command.epilog = epilog(path)
    for name, sub in getattr(command, "commands", {}).items():
        _add_examples(sub, f"{path} {name}")


class _Commands(Mapping[str, _click.Command]):
    """The group's commands: names from cli.commands, each loaded on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, _click.Command] = {}

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._loaded:
            self._loaded[name] = load(BY_NAME[name])
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(BY_NAME)

    def __len__(self) -> int:
        return len(BY_NAME)


class LazyGroup(TyperGroup):
    """A TyperGroup whose sub-commands are imported when used, and whose help is plain text
    written from cli.commands (Typer's rich help would import ~100 ms of rich by itself)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands()  # type: ignore[assignment]

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, standalone_mode: bool = True, **extra: Any
    ) -> Any:
        """As click's main, but a usage error (an unknown command, a missing argument, a bad
        option value) is one line on stderr, not a box drawn by rich."""
        if not standalone_mode:
            return super().main(args, standalone_mode=False, **extra)
        try:
            returned = super().main(args, standalone_mode=False, **extra)
        except _click.ClickException as exc:
            sys.stderr.write(f"error: {one_line(exc)}\n")
            sys.exit(exc.exit_code)
        except Abort:
            sys.stderr.write("aborted\n")
            sys.exit(1)
        sys.exit(returned if type(returned) is int else 0)  # an exit code (typer.Exit)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(BY_NAME)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        return self.commands.get(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        width = max(len(name) for name in BY_NAME)  # one column across every panel
        for panel in PANELS:
            rows = [(e.name.ljust(width), e.summary) for e in BY_NAME.values() if e.panel == panel]
            with formatter.section(panel):
                formatter.write_dl(rows)
        with formatter.section("Options"):
            formatter.write_dl(
                [r for p in self.get_params(ctx) if (r := p.get_help_record(ctx)) is not None]
            )
        with formatter.section("First steps"):
            indent = " " * formatter.current_indent
            for command, why in FIRST_STEPS:  # as typed: never wrapped
                formatter.write(f"{indent}{command:<44} # {why}\n")
        formatter.write_paragraph()
        formatter.write_text("Every command's --help shows its options and examples.")


def one_line(exc: _click.ClickException) -> str:
    """`No such command 'lss'. Did you mean 'ls'? (roost files --help shows them all)`."""
    from client.display import clean

    message = " ".join(clean(exc.format_message()).split())
    context = getattr(exc, "ctx", None)
    if context is not None:
        return f"{message} ({context.command_path} --help shows how)"
    return message
