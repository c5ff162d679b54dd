"""`roost --help` groups the commands and shows first steps, every command's --help has an
example, and a command imports only what it uses (checked in a fresh interpreter's
sys.modules, through the real server for `roost timeline --json` and `roost post`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from typer import _click
from typer.testing import CliRunner

from cli import blocking, social
from cli.commands import BY_NAME, COMMANDS, PANELS
from cli.examples import EXAMPLES
from cli.lazy import load
from cli.main import app
from tests.conftest import LiveServer
from tests.helpers import SECOND, Home


def _tree() -> Iterator[tuple[str, _click.Command]]:
    """Every command under `roost`, by its path (`chat send`), groups included."""

    def walk(path: str, command: _click.Command) -> Iterator[tuple[str, _click.Command]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(f"{path} {name}", sub)

    for entry in COMMANDS:
        yield from walk(entry.name, load(entry))


def test_help_groups_the_commands_and_shows_first_steps() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], capture_output=True, text=True, check=True
    )
    lines = result.stdout.splitlines()
    panels = {
        heading.rstrip(":"): i
        for i, heading in enumerate(lines)
        if heading.endswith(":") and not heading.startswith(" ")
    }
    assert [p for p in panels if p in PANELS] == list(PANELS)  # in this order
    for entry in COMMANDS:  # each command under its own panel's heading
        row = next(i for i, line in enumerate(lines) if line.split()[:1] == [entry.name])
        above = max(i for i in panels.values() if i < row)
        assert lines[above] == f"{entry.panel}:", entry.name
    assert "First steps:" in lines
    assert "roost demo" in result.stdout and "roost serve --port 7447 --data" in result.stdout


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["files", "lss"], "error: No such command 'lss'. Did you mean 'ls'? (roost files --help"),
        (["timeline", "--limit", "0"], "error: Invalid value for '--limit': 0 is not in the range"),
        (["--bogus"], "error: No such option: --bogus (roost --help shows how)"),
        (["like"], "error: Missing argument 'post_id'. (roost like --help shows how)"),
    ],
)
def test_a_mistyped_command_is_one_line_naming_its_help(argv: list[str], said: str) -> None:
    result = subprocess.run([sys.executable, "-m", "cli", *argv], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1, result.stderr


def test_every_command_help_shows_an_example() -> None:
    runner = CliRunner()
    paths = []
    for path, _command in _tree():
        result = runner.invoke(app, [*path.split(), "--help"], terminal_width=100)
        assert result.exit_code == 0, (path, result.output)
        assert "Examples:" in result.output, f"roost {path} --help shows no example"
        first = EXAMPLES[path][0]
        assert first in result.output, (path, result.output)
        paths.append(path)
    assert set(EXAMPLES) == set(paths)  # no example for a command that is not there


def test_the_table_of_commands_names_every_command_of_the_modules() -> None:
    """A command added to a module without a row in cli/commands.py would not be reachable."""
    for command in [*social.COMMANDS, *blocking.COMMANDS]:
        name = command.__name__.replace("_", "-")
        assert name in BY_NAME, f"{name} is missing from cli/commands.py"
        assert BY_NAME[name].target.endswith(f":{command.__name__}")


async def _modules_after(*argv: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh `roost ARGV` has imported by the time it ends."""
    probe = (
        "import json, sys\n"
        "from cli.main import app\n"
        f"sys.argv = ['roost', *{list(argv)!r}]\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(run.communicate(), 60 * SECOND)
    *said, modules = err.decode().strip().splitlines()
    assert run.returncode == 0 and not said, said  # it ran, and without an error
    return set(json.loads(modules))


def _loaded(modules: set[str], *names: str) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


async def test_help_imports_neither_textual_nor_the_sync_engine() -> None:
    modules = await _modules_after("--help")
    assert _loaded(modules, "textual", "client.sync.engine") == []
    # nor any command, the client core, the server or Typer's rich help
    assert _loaded(modules, "client.core", "server", "storage", "typer.rich_utils") == []


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(lambda: ("timeline", "--json"), id="timeline"),
        pytest.param(lambda: ("post", "hello from the probe"), id="post"),
    ],
)
async def test_a_command_imports_only_what_it_uses(
    live: LiveServer,
    make_home: Callable[[str, str], Home],
    command: Callable[[], tuple[str, ...]],
) -> None:
    alice = make_home("alice", live.url)
    await alice.register("alice")
    modules = await _modules_after(*command(), env=alice.env())
    assert "client.core" in modules  # it did reach the server
    assert _loaded(modules, "textual", "tui", "client.sync", "server", "pydantic") == []
