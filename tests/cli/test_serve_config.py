"""`roost serve` settings from flags, ROOST_* variables and a TOML file, through the real CLI:
precedence, `--print-config`, one-line errors naming where a bad value was written, and a real
server started from them that a client reaches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from protocol.sizes import parse_size
from tests.helpers import SECOND, CliResult, Home, ServerProcess, roost_command


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without ROOST_* variables, with a config folder of the test's own (so
    a file in the developer's ~/.config cannot leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def serve(tmp_path: Path, *args: str, **env: str) -> CliResult:
    proc = subprocess.run(
        [*roost_command(), "serve", *args],
        env=clean_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60 * SECOND,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def printed(tmp_path: Path, *args: str, **env: str) -> dict[str, Any]:
    result = serve(tmp_path, "--print-config", "--json", *args, **env)
    assert result.code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def by_key(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["setting"]: row for row in document["settings"]}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def one_error(result: CliResult) -> str:
    """The single stderr line of a refused start (exit 2), without its 'error: '."""
    assert result.code == 2, (result.code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout == ""
    return lines[0].removeprefix("error: ")


def test_flags_win_over_env_env_over_file_file_over_default(tmp_path: Path) -> None:
    config = write(
        tmp_path / "server.toml",
        '# settings\nport = 1111\nrate = 5\nburst = 7\nmax-frame = "128KiB"\n'
        'trusted-proxy = ["10.0.0.1", "::1"]\n',
    )
    settings = by_key(
        printed(
            tmp_path,
            "--config",
            str(config),
            "--port",
            "3333",
            ROOST_PORT="2222",
            ROOST_RATE="6",
        )
    )
    assert settings["port"] == {
        "setting": "port",
        "value": 3333,
        "source": "flag",
        "origin": "--port",
    }
    assert settings["rate"] | {} == {
        "setting": "rate",
        "value": 6.0,
        "source": "env",
        "origin": "ROOST_RATE",
    }
    assert (settings["burst"]["value"], settings["burst"]["origin"]) == (7, f"{config}:4")
    assert settings["max-frame"]["origin"] == f"{config}:5"
    assert settings["trusted-proxy"]["value"] == ["10.0.0.1", "::1"]
    assert (settings["host"]["value"], settings["host"]["source"]) == ("127.0.0.1", "default")
    # An unset folder says where the data goes all the same.
    assert settings["data"]["value"] is None
    assert settings["data"]["unset_means"].startswith("data in ")


def test_print_config_is_a_config_file_with_its_sources(tmp_path: Path) -> None:
    config = write(tmp_path / "a.toml", 'max-entries = "500"\nquota = "1GiB"\n')
    result = serve(
        tmp_path,
        "--print-config",
        ROOST_CONFIG=str(config),
        ROOST_TRUSTED_PROXY="10.0.0.1, 10.0.0.2 ::1",
        ROOST_BURST="9",
    )
    assert result.code == 0, result.stderr
    text = result.stdout
    assert f"# config file: {config}" in text
    lines = {line.split("#")[0].split("=")[0].strip(): line for line in text.splitlines()}
    assert lines["burst"].split("#")[1].strip() == "env ROOST_BURST"
    assert lines["quota"].split("#")[1].strip() == f"file {config}:2"
    assert lines["port"].split("#")[1].strip() == "default"
    # What it prints reads back as the same settings.
    again = write(tmp_path / "again.toml", text)
    settings = by_key(printed(tmp_path, "--config", str(again)))
    assert settings["trusted-proxy"]["value"] == ["10.0.0.1", "10.0.0.2", "::1"]
    assert settings["max-entries"]["value"] == "500"
    assert settings["burst"]["origin"] == f"{again}:{_line_of(text, 'burst =')}"


def _line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_the_default_file_is_read_and_a_missing_one_is_fine(tmp_path: Path) -> None:
    assert printed(tmp_path)["config_file"] is None
    empty = write(tmp_path / "xdg" / "roost" / "server.toml", "# nothing yet\n")
    assert printed(tmp_path)["config_file"] == str(empty)
    config = write(tmp_path / "xdg" / "roost" / "server.toml", "\nburst = 3\n")
    settings = by_key(printed(tmp_path))
    assert settings["burst"] == {
        "setting": "burst",
        "value": 3,
        "source": "file",
        "origin": f"{config}:2",
    }


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert one_error(serve(tmp_path, "--config", str(missing))) == (
        f"{missing}: no such config file"
    )
    assert one_error(serve(tmp_path, ROOST_CONFIG=str(missing))) == (
        f"{missing}: no such config file"
    )
    assert one_error(serve(tmp_path, "--config", str(tmp_path))) == (
        f"{tmp_path}: is a folder, not a config file"
    )


def test_an_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    config = write(tmp_path / "s.toml", "# mine\nburst = 3\nprot = 8000\n")
    assert one_error(serve(tmp_path, "--config", str(config))) == (
        f"{config}:3: unknown setting 'prot' (did you mean 'port'?)"
    )
    write(config, '\nmax_frame = "1MiB"\n')
    assert one_error(serve(tmp_path, "--config", str(config))) == (
        f"{config}:2: write 'max-frame', not 'max_frame' (settings are spelled as their flags,"
        " with dashes)"
    )
    write(config, "print-config = true\n")
    assert one_error(serve(tmp_path, "--config", str(config))) == (
        f"{config}:1: 'print-config' cannot be set in a config file"
    )
    write(config, "port = 1\n[server]\nport = 2\n")
    assert one_error(serve(tmp_path, "--config", str(config))) == (
        f"{config}:2: unknown setting 'server'"
    )


def test_a_malformed_file_names_its_line(tmp_path: Path) -> None:
    config = write(tmp_path / "s.toml", "port = 1\n\nrate = = 3\n")
    message = one_error(serve(tmp_path, "--config", str(config)))
    assert message.startswith(f"{config}:3: "), message
    config.write_bytes(b"port = 1\n\xff\n")
    assert one_error(serve(tmp_path, "--config", str(config))) == f"{config}: not UTF-8 text"


def test_a_bad_value_names_where_it_was_written(tmp_path: Path) -> None:
    config = write(tmp_path / "s.toml", '\nport = 70000\nmax-frame = "12x"\n')
    message = one_error(serve(tmp_path, "--config", str(config)))
    assert message.startswith(f"{config}:2: port = 70000: "), message
    assert "65535" in message
    # A value the command checks in its body (a size), from the file and from the env.
    write(config, 'max-frame = "12x"\n')
    message = one_error(serve(tmp_path, "--config", str(config)))
    assert message.startswith(f'{config}:1: max-frame = "12x": '), message
    assert "not a size" in message
    message = one_error(serve(tmp_path, ROOST_PORT="abc"))
    assert message.startswith("ROOST_PORT=abc: "), message
    message = one_error(serve(tmp_path, ROOST_TRUSTED_PROXY="10.0.0.1,nonsense"))
    assert message.startswith("ROOST_TRUSTED_PROXY=10.0.0.1,nonsense: "), message
    write(config, "burst = true\n")
    assert one_error(serve(tmp_path, "--config", str(config))) == (
        f"{config}:1: burst = true: not an on/off setting"
    )
    write(config, 'host = ["a", "b"]\n')
    assert one_error(serve(tmp_path, "--config", str(config))) == (
        f"{config}:1: host takes one value, not a list"
    )


def test_a_bad_flag_is_not_blamed_on_the_environment(tmp_path: Path) -> None:
    result = serve(tmp_path, "--max-frame", "12x", ROOST_MAX_FRAME="1MiB")
    assert result.code == 2
    assert "--max-frame" in result.stderr
    assert "ROOST_MAX_FRAME" not in result.stderr


def test_unknown_roost_variables_warn_and_the_clients_do_not(tmp_path: Path) -> None:
    result = serve(
        tmp_path,
        "--print-config",
        ROOST_PROT="8000",
        ROOST_HOME=str(tmp_path / "home"),
        ROOST_DEBUG="1",
        ROOST_TEST_TIMEOUT_SCALE="2",
    )
    assert result.code == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "warning: ROOST_PROT is not a roost serve setting; ignored (did you mean 'ROOST_PORT'?)"
    ]


def test_help_works_with_a_broken_config_file(tmp_path: Path) -> None:
    write(tmp_path / "xdg" / "roost" / "server.toml", "this is not toml\n")
    result = serve(tmp_path, "--help")
    assert result.code == 0, result.stderr
    assert "--print-config" in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_server_started_from_env_and_file_applies_them(tmp_path: Path) -> None:
    """Each layer reaches a real server: the port from the environment, limits from the
    file, one of them overridden by the environment and another by a flag."""
    port = _free_port()
    config = write(
        tmp_path / "server.toml",
        'max-post-text = 50\nburst = 40\nrate = 20\nmax-frame = "256KiB"\nquota = "5MiB"\n',
    )
    env = clean_env(
        tmp_path,
        ROOST_PORT=str(port),
        ROOST_CONFIG=str(config),
        ROOST_BURST="30",
        ROOST_MAX_FRAME="512KiB",
    )
    server = ServerProcess(
        tmp_path / "data", port=None, extra_args=("--max-frame", "128KiB"), env=env
    )
    await server.start()
    try:
        assert server.url == f"ws://127.0.0.1:{port}"
        # The log says where the settings came from (the variables a flag beat are left out).
        line = await server.logged("settings from config file")
        assert line.rstrip().endswith(
            f"settings from config file {config} and environment ROOST_BURST ROOST_PORT"
        ), line
        home = Home(tmp_path / "alice", server.url)
        await home.register("alice")
        usage = await home.run("usage", "--json")
        assert usage.code == 0, usage.stderr
        limits = json.loads(usage.stdout)
        assert limits["max_post_chars"] == 50  # file
        assert limits["ops_burst"] == 30  # env over file
        assert limits["ops_per_second"] == 20.0  # file
        assert limits["max_request_bytes"] == parse_size("128KiB")  # flag over env and file
        assert limits["quota_bytes"] == parse_size("5MiB")  # file
        too_long = await home.run("post", "x" * 51)
        assert too_long.code == 1
    finally:
        assert await server.terminate() == 0


def test_the_example_in_operations_is_a_valid_config(tmp_path: Path) -> None:
    operations = (Path(__file__).parents[2] / "docs" / "OPERATIONS.md").read_text()
    example = operations.split("```toml\n", 1)[1].split("```", 1)[0]
    config = write(tmp_path / "server.toml", example)
    settings = by_key(printed(tmp_path, "--config", str(config)))
    from_file = {k for k, row in settings.items() if row["source"] == "file"}
    assert {"host", "port", "data", "trusted-proxy", "quota", "log-format"} <= from_file
