"""`roost --version` and shell completion, through the installed `roost` script."""

from __future__ import annotations

import os
import shlex
import subprocess
from importlib import metadata
from pathlib import Path

from cli.version import CHECKS, fast_paths
from tests.helpers import SECOND, CliResult, roost_command


def roost(*args: str, **env: str) -> CliResult:
    proc = subprocess.run(
        [*roost_command(), *args],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60 * SECOND,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_version_names_roost_and_each_compiled_fast_path() -> None:
    result = roost("--version")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"roost {metadata.version('roost')}"
    assert lines[1].startswith("python 3.")
    assert "sqlite 3." in lines[1]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert list(rows) == [library for library, _ in CHECKS]
    for library, row in rows.items():
        assert row[1] == metadata.version(library)
        # This machine has every compiled path: the server's start-up check needs pyfastcdc's.
        assert row[2] == "compiled:", row


def test_a_pure_python_fallback_is_called_slow() -> None:
    import pyfastcdc

    class Fallback:
        __module__ = "pyfastcdc.py.fastcdc"

    original = pyfastcdc.FastCDC
    pyfastcdc.FastCDC = Fallback  # type: ignore[misc,assignment]
    try:
        found = {p.library: p for p in fast_paths()}
    finally:
        pyfastcdc.FastCDC = original  # type: ignore[misc]
    assert found["pyfastcdc"].compiled is False
    assert "pure Python" in found["pyfastcdc"].detail


def in_bash(*args: str, **env: str) -> CliResult:
    """`roost ARGS` run from bash: Typer names the shell to complete for from the processes
    above it. (`; exit $?` keeps bash there: a lone command would replace it.)"""
    proc = subprocess.run(
        ["bash", "-c", f"{shlex.join([*roost_command(), *args])}; exit $?"],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=60 * SECOND,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_show_completion_prints_a_script_that_completes_commands(tmp_path: Path) -> None:
    script = in_bash("--show-completion")
    assert script.code == 0, script.stderr
    assert "_roost_completion" in script.stdout
    assert "complete" in script.stdout
    # What the script asks `roost` for when Tab is pressed after `roost ser`, and after
    # `roost serve --max-f`.
    words = roost(_ROOST_COMPLETE="complete_bash", COMP_WORDS="roost ser", COMP_CWORD="1")
    assert words.stdout.split() == ["serve"]
    flags = roost(_ROOST_COMPLETE="complete_bash", COMP_WORDS="roost serve --max-f", COMP_CWORD="2")
    assert sorted(flags.stdout.split()) == ["--max-file-size", "--max-frame"]


def test_install_completion_writes_the_script_and_sources_it(tmp_path: Path) -> None:
    result = in_bash("--install-completion", HOME=str(tmp_path), SHELL="/bin/bash")
    assert result.code == 0, result.stderr
    installed = tmp_path / ".bash_completions" / "roost.sh"
    assert "_roost_completion" in installed.read_text()
    assert str(installed) in (tmp_path / ".bashrc").read_text()
