"""`roost sync` as a background service: the systemd user unit `roost sync install-service`
writes (deploy/roost-sync.service is the same unit, documented, for writing by hand)."""

from __future__ import annotations

import os
from pathlib import Path

from client.errors import ClientError

UNIT_NAME = "roost-sync.service"


def user_unit_dir(env: dict[str, str] | None = None) -> Path:
    """Where systemd looks for a user's own units: $XDG_CONFIG_HOME/systemd/user."""
    env = dict(os.environ) if env is None else env
    config = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(config) / "systemd" / "user"


def quoted(arg: str) -> str:
    """One ExecStart/Environment word for systemd: double-quoted, `\\` and `"` escaped, `%`
    doubled (systemd would read `%h` as a specifier). Newlines cannot be written: refused."""
    if "\n" in arg or "\r" in arg:
        raise ClientError(f"{arg!r} holds a line break, which a systemd unit cannot hold")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def unit_text(roost: list[str], folder: Path, home: Path) -> str:
    """The unit that runs `roost sync FOLDER` for this Roost home, restarted after a failure;
    Ctrl-C's 130 and SIGTERM's 143 are a clean stop."""
    command = " ".join(quoted(a) for a in [*roost, "sync", str(folder)])
    return f"""\
# Roost: keep {folder} in sync (written by roost sync install-service; see docs/OPERATIONS.md).
[Unit]
Description=Roost sync of {str(folder).replace("%", "%%")}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
Environment={quoted(f"ROOST_HOME={home}")}
ExecStart={command}
Restart=on-failure
RestartSec=10
SuccessExitStatus=130 143

[Install]
WantedBy=default.target
"""


def install(
    roost: list[str], folder: Path, home: Path, unit_dir: Path, *, force: bool = False
) -> Path:
    """Write the unit (never over another one without `force`); returns its path."""
    if not folder.is_dir():
        raise ClientError(f"{folder} is not a folder: make it, or name the folder to sync")
    path = unit_dir / UNIT_NAME
    text = unit_text(roost, folder, home)
    if path.exists() and not force and path.read_text(errors="replace") != text:
        raise ClientError(f"{path} exists (another folder or home): add --force to replace it")
    unit_dir.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(text)
    os.replace(scratch, path)
    return path
