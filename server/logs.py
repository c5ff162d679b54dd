"""Server logging: human text (the default) or one JSON object per line, both on stderr.

JSON records carry `ts`, `level`, `event` (the message) and, for ops, `op`, `user`, `ms`,
`code` ("ok" or the error code), `conn` (the connection) and `addr` (the client's address),
so a log shipper needs no regex.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import msgspec

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
FIELDS = ("op", "user", "ms", "code", "conn", "addr")  # set by server.router.op_fields
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
    """The usual line, with an op's fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__(_TEXT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = [
            f"{n}={_printable(v)}" for n in FIELDS if (v := getattr(record, n, None)) is not None
        ]
        return f"{text} {' '.join(extra)}" if extra else text


def _printable(value: object) -> object:
    """A field as it can stand in one log line: a name with a newline in it is quoted."""
    return repr(value) if isinstance(value, str) and not value.isprintable() else value


def configure(log_format: str = "text", level: str = "info") -> None:
    """Send every record at `level` or above to stderr in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # debug is for Roost's own records (every op); libraries stay at info
    root.setLevel(max(logging.INFO, logging.getLevelName(level.upper())))
    logging.getLogger("roost").setLevel(level.upper())
