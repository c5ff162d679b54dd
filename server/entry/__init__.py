"""The one way into the server from the `roost` command line: `roost serve` and the
`roost admin` commands that work on a data folder call this package, and cli/ imports nothing
else of `server` or `storage` (tests/cli/test_cli_imports.py holds it to that).

serve.py builds a ServerConfig from settings and runs the server; admin.py backs up,
restores, collects garbage, measures and copies a data folder. Failures leave here as:

CommandFailed   one line for the operator (a storage error, a server that cannot start)
BadSetting      a setting's value is refused; names the flag it came from

This module imports nothing heavy: the CLI's error boundary imports it to recognise them.
"""

from __future__ import annotations

from pathlib import Path


class CommandFailed(Exception):
    """What the operator should read, in one line."""


class BadSetting(ValueError):
    """A flag's value is refused: `flag` names it, the message says why."""

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag
        self.message = message


def default_data_dir() -> Path:
    """Where a server keeps its data when no --data is given."""
    import platformdirs

    return Path(platformdirs.user_data_dir("roost-server"))
