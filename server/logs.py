"""Server logging: human text (the default) or one JSON object per line, both on stderr.

JSON records carry `ts`, `level`, `event` (the message) and, for ops, `op`, `user`, `ms`,
`code` ("ok" or the error code), `conn` (the connection) and `addr` (the client's address),
so a log shipper needs no regex. Text lines append the same fields as key=value, `addr`
first: auth lines (`auth_event`) read `EVENT addr=ADDRESS user=NAME`, one fixed shape a
fail2ban filter matches before anything a client chose.

Under systemd (stderr is the journal's stream, `JOURNAL_STREAM`) text lines carry no
timestamp, which the journal adds, and start with the `<N>` syslog priority it reads, so
`journalctl -p warning` works.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

import msgspec

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
# set by server.router.op_fields and auth_event; the address first (see the docstring)
FIELDS = (
    "addr", "user", "op", "ms", "code", "conn", "device", "role", "invite", "devices_logged_out",
    "reason",
)  # fmt: skip
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JOURNAL_TEXT = "%(levelname)s %(name)s: %(message)s"
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3}
auth_log = logging.getLogger("roost.auth")


def auth_event(level: int, event: str, *, addr: str, user: str | None, **fields: object) -> None:
    """One line of `roost.auth`: a fixed event name ("login failed", ...), the client's
    address and the username ("-" when there is none). Never a token or a password."""
    auth_log.log(level, event, extra={"addr": addr or "-", "user": user or "-", **fields})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        for name in FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(line).decode()


class TextFormatter(logging.Formatter):
    """The usual line, with an op's fields appended as key=value; for the journal, without
    the timestamp and with the syslog priority in front."""

    def __init__(self, *, journal: bool = False) -> None:
        super().__init__(_JOURNAL_TEXT if journal else _TEXT)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = [
            f"{n}={_printable(v)}" for n in FIELDS if (v := getattr(record, n, None)) is not None
        ]
        line = f"{text} {' '.join(extra)}" if extra else text
        if self.journal:
            return f"<{_PRIORITY.get(record.levelno, 3)}>{line}"
        return line


def _printable(value: object) -> object:
    """A field as it can stand in one log line, one word: a value with a space, a quote, an
    `=` or a control character in it is quoted."""
    if isinstance(value, str) and (
        not value.isprintable() or any(c in value for c in " =\"'") or not value
    ):
        return repr(value)
    return value


def under_journald(stream: TextIO | None = None) -> bool:
    """Whether `stream` (stderr) is connected to the journal: systemd sets JOURNAL_STREAM to
    its device and inode; a process whose stderr was redirected elsewhere does not match."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat((stream or sys.stderr).fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (stat.st_dev, stat.st_ino) == (int(device), int(inode))


def configure(log_format: str = "text", level: str = "info") -> None:
    """Send every record at `level` or above to stderr in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else TextFormatter(journal=under_journald())
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # debug is for Roost's own records (every op, each connection's open and close);
    # libraries stay at info
    root.setLevel(max(logging.INFO, logging.getLevelName(level.upper())))
    logging.getLogger("roost").setLevel(level.upper())
    # websockets logs every connection (and every /healthz or /metrics request) at info: at
    # info, only its warnings; at debug, its info lines (never its own debug: it would log
    # each handshake's headers, a device token among them).
    websockets_level = logging.INFO if level == "debug" else logging.WARNING
    logging.getLogger("websockets").setLevel(websockets_level)
