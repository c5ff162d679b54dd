"""ConfiguredCommand is generic: a command's options, whatever they are and whenever they were
added, come from flags, ROOST_* variables and the file with no code of their own."""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
from typing import Annotated
from unittest import mock

import pytest
import typer
from typer.testing import CliRunner

from cli.configured import ConfiguredCommand, print_settings
from cli.options import AsJson
from cli.settings import ConfigError


class Mode(enum.StrEnum):
    INVITE = "invite"
    OPEN = "open"
    CLOSED = "closed"


app = typer.Typer(add_completion=False)


@app.command(cls=ConfiguredCommand)
def run(
    ctx: typer.Context,
    registration: Annotated[Mode, typer.Option("--registration")] = Mode.INVITE,
    metrics_listen: Annotated[str | None, typer.Option("--metrics-listen")] = None,
    debug_ops: Annotated[bool, typer.Option("--debug-ops/--no-debug-ops")] = False,
    peer: Annotated[list[str] | None, typer.Option("--peer")] = None,
    config_file: Annotated[Path | None, typer.Option("--config")] = None,
    print_config: Annotated[bool, typer.Option("--print-config")] = False,
    as_json: AsJson = False,
) -> None:
    print_settings(ctx, as_json=True)


def settings_of(tmp_path: Path, args: list[str], env: dict[str, str]) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    base["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    with mock.patch.dict(os.environ, {**base, **env}, clear=True):
        result = CliRunner().invoke(app, args, catch_exceptions=True)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["settings"]
    return {row["setting"]: (row["value"], row["source"]) for row in rows}


def test_any_option_reads_env_and_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('registration = "open"\ndebug-ops = true\npeer = ["a", "b"]\n')
    found = settings_of(
        tmp_path,
        ["--config", str(config)],
        {"ROOST_METRICS_LISTEN": "127.0.0.1:9100", "ROOST_PEER": "c d"},
    )
    assert found == {
        "registration": ("open", "file"),
        "metrics-listen": ("127.0.0.1:9100", "env"),
        "debug-ops": (True, "file"),
        "peer": (["c", "d"], "env"),
    }
    found = settings_of(
        tmp_path,
        ["--config", str(config), "--registration", "closed", "--no-debug-ops"],
        {"ROOST_DEBUG_OPS": "true"},
    )
    assert found["registration"] == ("closed", "flag")
    assert found["debug-ops"] == (False, "flag")


def test_a_bad_choice_names_its_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^ROOST_REGISTRATION=sometimes: "):
        settings_of(tmp_path, [], {"ROOST_REGISTRATION": "sometimes"})
    config = tmp_path / "c.toml"
    config.write_text('\nregistration = "sometimes"\n')
    with pytest.raises(ConfigError, match=rf'^{config}:2: registration = "sometimes": '):
        settings_of(tmp_path, ["--config", str(config)], {})
