"""Where a command's settings come from besides its flags: `ROOST_*` environment variables and a
TOML file, read into plain values with the place each came from (`cli.configured` hands them to
the command, which checks them with the same types and ranges as its flags).

A setting is spelled as its flag in the file (`max-frame = "1MiB"`) and in upper case with
underscores in the environment (`ROOST_MAX_FRAME=1MiB`). This module knows nothing of click:
it is given the settings as `Setting`s and returns values the command line could have given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

ENV_PREFIX = "ROOST_"
# ROOST_* variables that are not server settings: the client's and the tests'. An unknown
# ROOST_* variable only warns (a typo should be seen), so one missing here costs a warning.
OTHER_VARIABLES = frozenset(
    {"HOME", "SERVER", "CA", "DEBUG", "CONFIG", "CHILD", "SYNC_SETTLE_MS", "SYNC_COMPRESS"}
)
OTHER_PREFIXES = ("TEST_", "CRASH_")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(Exception):
    """A setting that cannot be used, as one line naming where it came from (exit 2)."""


class Setting(NamedTuple):  # NamedTuples, not dataclasses: every `roost` start imports this
    """One option of a command as the environment and the file spell it."""

    name: str  # the parameter's name, e.g. max_frame
    flag: str  # --max-frame
    multiple: bool = False  # a repeatable flag: a list in the file, several words in the env
    switch: bool = False  # an on/off flag: true or false

    @property
    def key(self) -> str:
        """Its key in the TOML file: the flag without its dashes in front."""
        return self.flag.lstrip("-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.key.upper().replace("-", "_")


class Found(NamedTuple):
    """A value from the environment or the file, and where it was written."""

    value: str | list[str] | bool
    source: str  # "env" or "file"
    origin: str  # ROOST_PORT, or /etc/roost/server.toml:3
    text: str  # as written, for error messages


# ---- the environment


def split_list(text: str) -> list[str]:
    """A repeated setting in one variable: items separated by commas and/or whitespace."""
    return [item for item in re.split(r"[\s,]+", text) if item]


def shown(text: str) -> str:
    """Text for a one-line message: as written, or quoted with escapes if it holds a line
    break or a control character."""
    return text if text.isprintable() else repr(text)


def parse_switch(text: str, origin: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfigError(f"{origin}={shown(text)}: write true or false")


def from_environ(
    settings: Iterable[Setting], environ: Mapping[str, str], command: str = "roost serve"
) -> tuple[dict[str, Found], list[str]]:
    """The settings given as ROOST_* variables (an empty one counts as not set), and a warning
    for each ROOST_* variable that is neither a setting nor one of Roost's other variables."""
    by_env = {s.env: s for s in settings}
    found: dict[str, Found] = {}
    warnings: list[str] = []
    for var, text in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX):
            continue
        setting = by_env.get(var)
        if setting is None:
            rest = var[len(ENV_PREFIX) :]
            if rest not in OTHER_VARIABLES and not rest.startswith(OTHER_PREFIXES):
                warnings.append(
                    f"{var} is not a {command} setting; ignored{_did_you_mean(var, by_env)}"
                )
            continue
        if not text.strip():
            continue
        value: str | list[str] | bool
        if setting.switch:
            value = parse_switch(text, var)
        elif setting.multiple:
            value = split_list(text)
        else:
            value = text
        found[setting.name] = Found(value, "env", var, shown(text))
    return found, warnings


# ---- the file


def default_config_paths() -> list[Path]:
    """Where a config file is looked for when none is named: the user's, then the system's."""
    import platformdirs

    return [
        Path(platformdirs.user_config_dir("roost")) / "server.toml",
        Path("/etc/roost/server.toml"),
    ]


def read_file(
    path: Path, settings: Iterable[Setting], excluded: Iterable[str] = ()
) -> dict[str, Found]:
    """The settings in a TOML file; any problem is a ConfigError naming the file and line."""
    import tomllib

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}:{_toml_error(exc)}") from None
    return from_document(document, key_lines(text), str(path), settings, excluded)


def from_document(
    document: Mapping[str, Any],
    lines: Mapping[str, int],
    where: str,
    settings: Iterable[Setting],
    excluded: Iterable[str] = (),
) -> dict[str, Found]:
    """The settings of a parsed TOML document (`lines`: each top-level key's line number;
    `excluded`: keys of options that are not settings, such as config)."""
    by_key = {s.key: s for s in settings}
    excluded_keys = set(excluded)
    found: dict[str, Found] = {}
    for key, value in document.items():
        origin = f"{where}:{lines[key]}" if key in lines else where
        setting = by_key.get(key)
        if setting is None:
            raise ConfigError(f"{origin}: {_unknown_key(key, by_key, excluded_keys)}")
        found[setting.name] = Found(
            _file_value(setting, value, origin), "file", origin, _toml_text(value)
        )
    return found


def _unknown_key(key: str, by_key: Mapping[str, Setting], excluded: set[str]) -> str:
    dashed = key.replace("_", "-")
    key = shown(key).strip("'")
    if dashed in excluded:
        return f"'{key}' cannot be set in a config file"
    if dashed != key and dashed in by_key:
        return f"write '{dashed}', not '{key}' (settings are spelled as their flags, with dashes)"
    return f"unknown setting '{key}'{_did_you_mean(dashed, by_key)}"


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    import difflib  # only when something is misspelled: every `roost` start imports this module

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _file_value(setting: Setting, value: Any, origin: str) -> str | list[str] | bool:
    """A TOML value as the command line would give it: text (numbers written as numbers are
    fine), a list of texts for a repeated flag, true or false for an on/off one."""
    key = setting.key
    if setting.switch:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{origin}: {key} = {_toml_text(value)}: write true or false")
    if setting.multiple:
        items = value if isinstance(value, list) else [value]
        return [_scalar(key, item, origin, in_list=True) for item in items]
    if isinstance(value, list):
        raise ConfigError(f"{origin}: {key} takes one value, not a list")
    return _scalar(key, value, origin)


def _scalar(key: str, value: Any, origin: str, *, in_list: bool = False) -> str:
    if isinstance(value, bool):
        raise ConfigError(f"{origin}: {key} = {_toml_text(value)}: not an on/off setting")
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    kind = "a table" if isinstance(value, dict) else "a list" if in_list else type(value).__name__
    raise ConfigError(f"{origin}: {key} takes a number or text, not {kind}")


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{...}"
    return str(value)


_ERROR_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_ERROR_END = re.compile(r"\s*\(at end of document\)$")


def _toml_error(exc: Exception) -> str:
    """tomllib's message as `LINE: what (column C)`: the file's name goes in front."""
    message = str(exc)
    if m := _ERROR_PLACE.search(message):
        what = message[: m.start()]
        return f"{m[1]}: {what[:1].lower()}{what[1:]} (column {m[2]})"
    what = _ERROR_END.sub("", message)
    return f" {what[:1].lower()}{what[1:]} (at the end of the file)"


# A top-level key starts a line: `key =`, `"key" =`, `key.sub =`, or a table `[key]`/`[[key]]`.
_NAME = r"""(?:"((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'|([A-Za-z0-9_-]+))"""
_KEY_LINE = re.compile(rf"[ \t]*{_NAME}[ \t]*[.=]")
_TABLE_LINE = re.compile(rf"[ \t]*\[\[?[ \t]*{_NAME}")


def key_lines(text: str) -> dict[str, int]:
    """The line (from 1) where each top-level key of a valid TOML document is first written,
    so errors can point at it (tomllib gives values, not places). Strings, comments, arrays
    and inline tables are stepped over, and keys inside a [table] are not top-level."""
    found: dict[str, int] = {}
    in_table = False
    depth = 0  # [ and { open: a value spread over lines
    line = 1
    at_line_start = True
    i = 0
    while i < len(text):
        if at_line_start and depth == 0:
            at_line_start = False
            if key := _KEY_LINE.match(text, i):
                if not in_table:
                    found.setdefault(_name(key), line)
            elif table := _TABLE_LINE.match(text, i):
                found.setdefault(_name(table), line)
                in_table = True
        char = text[i]
        if char == "\n":
            line += 1
            at_line_start = True
            end = i + 1
        elif text.startswith(('"""', "'''"), i):
            end = _end_of_multiline(text, i)
            line += text.count("\n", i, end)
        elif char in "\"'":
            end = _end_of_string(text, i)
        elif char == "#":
            end = text.find("\n", i)
            end = len(text) if end == -1 else end
        else:
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth = max(0, depth - 1)
            end = i + 1
        i = end
    return found


def _name(match: re.Match[str]) -> str:
    basic, literal, bare = match.groups()
    if basic is not None:
        return _unescape(basic)
    return literal if literal is not None else bare


_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m[1] in _ESCAPES:
            return _ESCAPES[m[1]]
        return chr(int(m[2] or m[3], 16))

    return re.sub(r"\\(?:([btnfr\"\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))", one, text)


def _end_of_string(text: str, start: int) -> int:
    """Just past a one-line string starting at `start` (a basic one may hold escapes)."""
    quote = text[start]
    i = start + 1
    while i < len(text) and text[i] != "\n":
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return i


def _end_of_multiline(text: str, start: int) -> int:
    """Just past a multi-line string starting at `start` (up to two quotes may end its
    content right before the closing delimiter)."""
    delimiter = text[start : start + 3]
    i = start + 3
    while i < len(text):
        if delimiter == '"""' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(delimiter, i):
            end = i + 3
            extra = 0
            while extra < 2 and end < len(text) and text[end] == delimiter[0]:
                end += 1
                extra += 1
            return end
        i += 1
    return len(text)
