"""A command whose every option may also come from a `ROOST_*` variable or a TOML file: flags
win over the environment, the environment over the file, the file over the built-in default.

It works on the command's own parameters, so an option added later is configurable with no
code of its own. The environment and the file fill click's `default_map`, so their values go
through the option's own type and range checks; a value that fails is reported with the
variable or FILE:LINE it came from. `print_settings` shows the outcome (`--print-config`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from cli.settings import (
    ConfigError,
    Found,
    Setting,
    default_config_paths,
    from_environ,
    read_file,
)

# Options that say how to read the settings (or what to do with them), not settings.
NOT_SETTINGS = frozenset({"config_file", "print_config", "as_json"})
_META = "roost.settings"


class _Loaded:
    def __init__(self, found: dict[str, Found], file: Path | None, warnings: list[str]) -> None:
        self.found = found
        self.file = file
        self.warnings = warnings


class ConfiguredCommand(TyperCommand):
    """A Typer command that reads its options' values from flags, env and a config file."""

    config_param = "config_file"  # its value (or ROOST_CONFIG) names the file

    def settings(self) -> list[Setting]:
        return [s for s in self._options() if s.name not in NOT_SETTINGS]

    def _options(self) -> list[Setting]:
        found = []
        for param in self.params:
            if not isinstance(param, typer.core.TyperOption) or not param.expose_value:
                continue
            if not param.opts or param.name is None:  # a nameless option is no setting
                continue
            found.append(
                Setting(
                    name=param.name,
                    flag=_long_flag(param),
                    multiple=bool(param.multiple),
                    switch=bool(param.is_bool_flag),
                )
            )
        return found

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if ctx.resilient_parsing or any(a in ctx.help_option_names for a in args):
            return super().parse_args(ctx, args)  # completion or --help: no file is read
        settings = self.settings()
        env, warnings = from_environ(settings, os.environ, ctx.command_path)
        path, named = self._config_file(ctx, args)
        others = [s.key for s in self._options() if s.name in NOT_SETTINGS]
        if path is not None and (named or path.exists()):
            file = read_file(path, settings, others)
        else:
            file, path = {}, None
        found = {**file, **env}
        ctx.meta[_META] = _Loaded(found, path, warnings)
        ctx.default_map = {**(ctx.default_map or {}), **{k: f.value for k, f in found.items()}}
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as exc:
            raise _with_origin(ctx, exc) from None

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:  # a check in the command's body, naming a flag
            raise _with_origin(ctx, exc) from None

    def _config_file(self, ctx: typer.Context, args: list[str]) -> tuple[Path | None, bool]:
        """The file to read and whether it was named (a named file must exist; the default
        one may be absent)."""
        opts, _, _ = self.make_parser(ctx).parse_args(args=list(args))
        named = opts.get(self.config_param) or os.environ.get("ROOST_CONFIG", "")
        if isinstance(named, list | tuple):
            named = named[-1] if named else ""
        if named:
            return Path(str(named)).expanduser(), True
        for path in default_config_paths():
            if path.exists():
                return path, False
        return None, False


def _with_origin(ctx: typer.Context, exc: typer.BadParameter) -> Exception:
    """A bad value from the environment or the file, as one line naming where it was written;
    a bad flag stays click's usage error."""
    loaded: _Loaded | None = ctx.meta.get(_META)
    param: Any = exc.param
    if param is None and isinstance(exc.param_hint, str):
        param = next((p for p in ctx.command.params if exc.param_hint in p.opts), None)
    if loaded is None or param is None or param.name not in loaded.found:
        return exc
    if _source(ctx, param.name) != "default_map":
        return exc
    found = loaded.found[param.name]
    key = _long_flag(param).lstrip("-")
    written = f"{found.origin}={found.text}" if found.source == "env" else found.origin
    if found.source == "file":
        written += f": {key} = {found.text}"
    return ConfigError(f"{written}: {exc.message}")


def _long_flag(param: Any) -> str:
    long = [o for o in param.opts if o.startswith("--")]
    return str(long[0] if long else param.opts[0])


def _source(ctx: typer.Context, name: str) -> str:
    source = ctx.get_parameter_source(name)
    return source.name.lower() if source is not None else "default"


def setting_warnings(ctx: typer.Context) -> list[str]:
    loaded: _Loaded | None = ctx.meta.get(_META)
    return loaded.warnings if loaded else []


def sources_line(ctx: typer.Context) -> str | None:
    """One line for the start-up log: the file and the variables the settings came from."""
    loaded: _Loaded | None = ctx.meta.get(_META)
    if loaded is None:
        return None
    env = [
        found.origin
        for name, found in sorted(loaded.found.items())
        if found.source == "env" and _source(ctx, name) == "default_map"  # not beaten by a flag
    ]
    parts = [f"config file {loaded.file}"] if loaded.file else []
    if env:
        parts.append("environment " + " ".join(env))
    return "settings from " + " and ".join(parts) if parts else None


def effective(ctx: typer.Context) -> list[dict[str, Any]]:
    """Each setting's value and where it came from: flag, env, file or default."""
    command = ctx.command
    assert isinstance(command, ConfiguredCommand)
    loaded: _Loaded | None = ctx.meta.get(_META)
    found = loaded.found if loaded else {}
    rows = []
    for setting in command.settings():
        source = _source(ctx, setting.name)
        if source == "commandline":
            row: dict[str, str | None] = {"source": "flag", "origin": setting.flag}
        elif source == "default_map" and setting.name in found:
            row = {"source": found[setting.name].source, "origin": found[setting.name].origin}
        else:
            row = {"source": "default", "origin": None}
        value = _plain(ctx.params.get(setting.name))
        rows.append({"setting": setting.key, "value": value, **row})
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return _without_password(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def _without_password(text: str) -> str:
    """A URL's password (postgresql://roost:SECRET@db/roost) never reaches the screen."""
    if "://" not in text or "@" not in text:
        return text
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    if not password:
        return text
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def print_settings(
    ctx: typer.Context, as_json: bool, unset: Mapping[str, str] | None = None
) -> None:
    """`--print-config`: the effective settings as a TOML file could hold them, each with
    where it came from; or one JSON document. `unset`: what a setting left unset means, by
    key ("the platform data folder: ...")."""
    loaded: _Loaded | None = ctx.meta.get(_META)
    file = str(loaded.file) if loaded and loaded.file else None
    rows = effective(ctx)
    for row in rows:
        if isinstance(row["value"], str):
            row["value"] = without_password(row["value"])
        if row["value"] is None and unset and row["setting"] in unset:
            row["unset_means"] = unset[row["setting"]]
    if as_json:
        print(json.dumps({"config_file": file, "settings": rows}, indent=2))
        return
    lines = [(_toml_line(row), _from(row)) for row in rows]
    width = max(len(text) for text, _ in lines)
    print(f"# {ctx.command_path}: flag > env ROOST_* > file > default")
    print(f"# config file: {file or 'none'}")
    for text, origin in lines:
        print(f"{text.ljust(width)}  # {origin}")


def without_password(value: str) -> str:
    """A URL's password (postgresql://roost:secret@host/db) is never printed."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^/@:]*):[^/@]*@", r"\1:***@", value)


def _from(row: dict[str, Any]) -> str:
    said = "default" if row["source"] == "default" else f"{row['source']} {row['origin']}"
    if "unset_means" in row:
        said += f" ({row['unset_means']})"
    return said


def _toml_line(row: dict[str, Any]) -> str:
    value = row["value"]
    if value is None:
        return f"# {row['setting']} (not set)"
    return f"{row['setting']} = {_toml_value(value)}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf and nan are spelled as TOML spells them
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
