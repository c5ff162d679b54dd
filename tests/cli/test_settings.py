"""cli.settings as plain logic: TOML key lines, env lists and switches, file values, unknown
names; and, in process, that a value means the same from a flag, a variable or the file."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from unittest import mock

import pytest
import typer
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cli.configured import _without_password
from cli.main import app
from cli.settings import (
    OTHER_PREFIXES,
    OTHER_VARIABLES,
    ConfigError,
    Setting,
    from_document,
    from_environ,
    key_lines,
    read_file,
    split_list,
)

SETTINGS = [
    Setting("port", "--port"),
    Setting("max_frame", "--max-frame"),
    Setting("trusted_proxy", "--trusted-proxy", multiple=True),
    Setting("verbose", "--verbose", switch=True),
]

# ---- where each top-level key is written

bare_keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True)
# Text that looks like TOML inside a value must not be taken for a key.
tricky = st.sampled_from(["x = 1", "[table]", "'q' = 2", '"k" = 3', "# c", "a.b = 4", "]", "["])
texts = st.lists(st.one_of(tricky, st.text("ab =[]#'", max_size=6)), max_size=3).map(" ".join)


@st.composite
def values(draw: st.DrawFn) -> str:
    """A TOML value as written, possibly over several lines."""
    kind = draw(st.sampled_from(["int", "basic", "literal", "multi", "multiliteral", "array"]))
    if kind == "int":
        return str(draw(st.integers(-(10**6), 10**6)))
    text = draw(texts)
    if kind == "basic":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "literal":
        return "'" + text.replace("'", "") + "'"
    lines = draw(st.lists(texts, min_size=1, max_size=3))
    if kind == "multi":
        return '"""\n' + "\n".join(lines).replace("\\", "\\\\").replace('"', '\\"') + '"""'
    if kind == "multiliteral":
        return "'''\n" + "\n".join(lines).replace("'", "") + "\n'''"
    items = [f'"{t.replace(chr(92), "").replace(chr(34), "")}"' for t in lines]
    return "[\n  " + ",\n  ".join(items) + ",  # " + draw(texts) + "\n]"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, int]]:
    keys = draw(st.lists(bare_keys, min_size=1, max_size=6, unique=True))
    lines: list[str] = []
    where: dict[str, int] = {}
    for key in keys:
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(st.sampled_from(["", "# " + key + " = 1", "   "])))
        quoted = draw(st.sampled_from([key, f'"{key}"', f"'{key}'"]))
        where[key] = len(lines) + 1
        lines.extend(f"{quoted} = {draw(values())}  # after".split("\n"))
    if draw(st.booleans()):  # a table's own keys are not top-level
        where["tab"] = len(lines) + 1
        lines += ["[tab]", f"{keys[0]}x = 1"]
    return "\n".join(lines) + "\n", where


@given(documents())
@settings(max_examples=300, deadline=None)
def test_key_lines_finds_the_line_of_every_top_level_key(
    document: tuple[str, dict[str, int]],
) -> None:
    text, where = document
    parsed = tomllib.loads(text)  # the generator writes valid TOML
    assert set(parsed) == set(where)
    assert key_lines(text) == where


def test_key_lines_reads_escaped_and_dotted_keys() -> None:
    text = 'a.b = 1\n"c\\u0064" = 2\n[[arr]]\nx = 1\n'
    assert set(tomllib.loads(text)) == {"a", "cd", "arr"}
    assert key_lines(text) == {"a": 1, "cd": 2, "arr": 3}


# ---- the environment

items = st.from_regex(r"[0-9a-fA-F.:/]{1,12}", fullmatch=True)
separators = st.sampled_from([",", " ", ", ", "\t", " ,  ", "\n"])


@given(st.lists(items, max_size=5), st.data())
def test_a_list_variable_splits_on_commas_and_spaces(found: list[str], data: st.DataObject) -> None:
    text = data.draw(separators).lstrip(",")
    for item in found:
        text += item + data.draw(separators)
    assert split_list(text) == found


def test_env_values_switches_and_empty_variables() -> None:
    env = {
        "ROOST_PORT": "8000",
        "ROOST_MAX_FRAME": "",  # empty: not set
        "ROOST_TRUSTED_PROXY": "10.0.0.1, ::1",
        "ROOST_VERBOSE": "Yes",
        "PATH": "/bin",
    }
    found, warnings = from_environ(SETTINGS, env)
    assert {k: f.value for k, f in found.items()} == {
        "port": "8000",
        "trusted_proxy": ["10.0.0.1", "::1"],
        "verbose": True,
    }
    assert found["port"].origin == "ROOST_PORT"
    assert warnings == []
    with pytest.raises(ConfigError, match=r"^ROOST_VERBOSE=maybe: write true or false$"):
        from_environ(SETTINGS, {"ROOST_VERBOSE": "maybe"})


@given(st.from_regex(r"ROOST_[A-Z0-9_]{1,20}", fullmatch=True))
def test_an_unknown_variable_warns_and_roosts_own_do_not(var: str) -> None:
    rest = var.removeprefix("ROOST_")
    _, warnings = from_environ(SETTINGS, {var: "1"})
    known = {s.env for s in SETTINGS}
    if var in known or rest in OTHER_VARIABLES or rest.startswith(OTHER_PREFIXES):
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert warnings[0].startswith(f"{var} is not a roost serve setting; ignored")


def test_every_roost_variable_the_code_reads_is_known() -> None:
    """A client or test variable added without being listed would warn on every serve."""
    root = Path(__file__).parents[2]
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    known = {s.env for s in serve.settings()}
    used: set[str] = set()
    for folder in ("cli", "client", "server", "storage", "protocol", "tui"):
        for path in (root / folder).rglob("*.py"):
            used |= set(re.findall(r"\bROOST_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    for path in (root / "tests").glob("*.py"):
        used |= set(re.findall(r"\bROOST_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    unknown = {
        v
        for v in used - known
        if v[6:] not in OTHER_VARIABLES and not v[6:].startswith(OTHER_PREFIXES)
    }
    assert not unknown, f"add these to cli.settings.OTHER_VARIABLES: {sorted(unknown)}"


# ---- the file


def test_file_values_become_what_a_flag_would_give() -> None:
    document = {"port": 8000, "max-frame": "1MiB", "trusted-proxy": "::1", "verbose": False}
    found = from_document(document, {"port": 3}, "s.toml", SETTINGS)
    assert {k: f.value for k, f in found.items()} == {
        "port": "8000",
        "max_frame": "1MiB",
        "trusted_proxy": ["::1"],
        "verbose": False,
    }
    assert found["port"].origin == "s.toml:3"
    assert found["max_frame"].origin == "s.toml"  # no line known: the file alone


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"prot": 1}, "s.toml:1: unknown setting 'prot' (did you mean 'port'?)"),
        ({"zzz": 1}, "s.toml:1: unknown setting 'zzz'"),
        ({"max_frame": 1}, "s.toml:1: write 'max-frame', not 'max_frame'"),
        ({"config": "x"}, "s.toml:1: 'config' cannot be set in a config file"),
        ({"port": True}, "s.toml:1: port = true: not an on/off setting"),
        ({"port": [1]}, "s.toml:1: port takes one value, not a list"),
        ({"port": {"a": 1}}, "s.toml:1: port takes a number or text, not a table"),
        ({"trusted-proxy": [[1]]}, "s.toml:1: trusted-proxy takes a number or text, not a list"),
        ({"verbose": "yes"}, 's.toml:1: verbose = "yes": write true or false'),
    ],
)
def test_what_the_file_may_not_say(document: dict[str, object], message: str) -> None:
    lines = dict.fromkeys(document, 1)
    with pytest.raises(ConfigError) as caught:
        from_document(document, lines, "s.toml", SETTINGS, excluded=("config",))
    assert str(caught.value).startswith(message)


# ---- one meaning whatever the source (in process, through the serve command's parsing)

SERVE = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]


def _parsed(tmp_path: Path, args: list[str], env: dict[str, str]) -> object:
    """serve's parsed `burst` value, or the error's text (its source named or not)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    base["XDG_CONFIG_HOME"] = str(tmp_path / "none")
    with mock.patch.dict("os.environ", {**base, **env}, clear=True):
        try:
            ctx = SERVE.make_context("serve", args)
        except (typer.BadParameter, ConfigError):
            return "error"  # the message differs by source on purpose; refusal must not
        return ctx.params["burst"]


@given(st.one_of(st.integers(-5, 10**12).map(str), st.text("0123456789.-e x", max_size=6)))
@settings(max_examples=60, deadline=None)
def test_a_value_means_the_same_from_a_flag_a_variable_or_the_file(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    assume(text.strip())  # an empty variable counts as not set
    tmp_path = tmp_path_factory.mktemp("same")
    config = tmp_path / "s.toml"
    config.write_text('burst = "' + text + '"\n')
    from_flag = _parsed(tmp_path, ["--burst", text], {})
    from_env = _parsed(tmp_path, [], {"ROOST_BURST": text})
    from_file = _parsed(tmp_path, ["--config", str(config)], {})
    assert from_flag == from_env == from_file
    if text.strip().isdigit() and int(text) >= 1:
        assert from_flag == int(text)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("postgresql://roost:s3cret@db:5432/roost", "postgresql://roost:***@db:5432/roost"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("ws://alice@host", "ws://alice@host"),
        ("s3://bucket?endpoint=https://h:9000", "s3://bucket?endpoint=https://h:9000"),
    ],
)
def test_print_config_never_shows_a_urls_password(value: str, shown: str) -> None:
    assert _without_password(value) == shown


def test_control_characters_never_reach_an_error_line() -> None:
    with pytest.raises(ConfigError) as caught:
        from_document({"\x1b[31mport": 1}, {}, "s.toml", SETTINGS)
    assert "\x1b" not in str(caught.value) and "\\x1b" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        from_document({"verbose": "a\nb"}, {}, "s.toml", SETTINGS)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        from_environ(SETTINGS, {"ROOST_VERBOSE": "x\ny"})
    assert "\n" not in str(caught.value)
    found, _ = from_environ(SETTINGS, {"ROOST_PORT": "80\n81"})
    assert "\n" not in found["port"].text


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
@settings(max_examples=300, deadline=None)
def test_any_file_is_settings_or_one_config_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    """Whatever a config file holds, reading it gives settings or a ConfigError of one line
    that starts with the file's name, never another exception."""
    path = tmp_path_factory.mktemp("any") / "s.toml"
    path.write_bytes(content)
    try:
        found = read_file(path, SETTINGS, excluded=("config",))
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(str(path))
        assert "\n" not in message
        return
    assert set(found) <= {s.name for s in SETTINGS}
    for item in found.values():
        assert item.origin.startswith(f"{path}:")  # every key's line was found


@given(st.dictionaries(st.sampled_from([s.env for s in SETTINGS]), st.text(max_size=20)))
def test_any_variables_are_settings_or_one_config_error(env: dict[str, str]) -> None:
    try:
        found, _ = from_environ(SETTINGS, env)
    except ConfigError as exc:
        assert str(exc).startswith("ROOST_VERBOSE=")
        assert "\n" not in str(exc)
        return
    for name, item in found.items():
        assert item.origin == next(s.env for s in SETTINGS if s.name == name)
