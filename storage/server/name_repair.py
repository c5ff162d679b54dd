"""Names stored before the server refused control characters, repaired once by a migration.

Older servers checked names with patterns where `$` also matched before a final newline, and
let C1 and bidirectional controls through: `alice\\n` became an account of its own that shows
as `@alice`, and a device, display or group name could end in a newline or carry an escape
sequence. What the repair does, row by row:

- a username that is not 3-32 letters, digits or underscores keeps only those characters
  (`alice\\n` -> `alice`, at least 3 of them, else `user_…`); if that name is taken, `_2`,
  `_3`… is added (`alice_2`). The account keeps its password, posts, chats and files, and its
  devices are logged out, so each logs in again under the new name;
- a display, device, group or attachment name loses its control characters (and the spaces
  this leaves at either end); a device, group or attachment name left empty becomes
  `device`, `group` or `attachment`.

Every change is kept in `name_repairs` (kind, row id, old value, new value), so nothing is
lost, and logged. Posts, bios and messages are left as they were written: the clients show
their control characters as visible stand-ins.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable

from protocol.types import is_single_line, without_controls
from storage.database import now_ms

log = logging.getLogger("roost.storage")

_USERNAME = re.compile(r"[a-z0-9_]{3,32}")  # as stored: lower-case
_NOT_USERNAME_CHARS = re.compile(r"[^a-z0-9_]")
MAX_USERNAME = 32

REPAIRS_TABLE = """
CREATE TABLE name_repairs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    repaired_at INTEGER NOT NULL
)
"""


# --------------------------------------------------------------------------- the rules
def repaired_username(old: str, taken: Callable[[str], bool]) -> str:
    """A valid username for an account whose stored name is not one: its letters, digits and
    underscores, made long enough and then unique (`taken` says whether a name is in use)."""
    base = _NOT_USERNAME_CHARS.sub("", old.lower())[:MAX_USERNAME]
    if len(base) < 3:
        base = f"user_{base}" if base else "user"
    name, n = base, 2
    while taken(name):
        suffix = f"_{n}"
        name = base[: MAX_USERNAME - len(suffix)] + suffix
        n += 1
    return name


def repaired_name(old: str, empty: str) -> str:
    """A one-line name without its control characters; `empty` if nothing else was in it."""
    return without_controls(old) or empty


# --------------------------------------------------------------------------- the migration step
def repair_names(conn: sqlite3.Connection) -> None:
    """The data step of the migration that adds `name_repairs` (run inside its transaction)."""
    now = now_ms()
    _repair_usernames(conn, now)
    for kind, table, key, column, empty, where in (
        ("display_name", "profiles", "user_id", "display_name", "", ""),
        ("device_name", "devices", "id", "name", "device", ""),
        ("group_name", "conversations", "id", "name", "group", " WHERE kind = 'group'"),
        ("attachment_name", "attachments", "id", "name", "attachment", ""),
    ):
        for row_id, old in conn.execute(f"SELECT {key}, {column} FROM {table}{where}").fetchall():
            if is_single_line(old):
                continue
            new = repaired_name(old, empty)
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (new, row_id))
            _record(conn, kind, row_id, old, new, now)


def _repair_usernames(conn: sqlite3.Connection, now: int) -> None:
    users = conn.execute("SELECT id, username FROM users ORDER BY id").fetchall()
    names = {name for _, name in users}
    for user_id, old in users:
        if _USERNAME.fullmatch(old):
            continue
        new = repaired_username(old, lambda name: name in names)
        names.add(new)
        conn.execute("UPDATE users SET username = ? WHERE id = ?", (new, user_id))
        conn.execute(
            "UPDATE devices SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            (now, user_id),
        )
        # Search finds people by username: its row is rebuilt as the profile triggers do.
        conn.execute("DELETE FROM users_fts WHERE rowid = ?", (user_id,))
        conn.execute(
            "INSERT INTO users_fts (rowid, username, display_name, bio)"
            " SELECT ?, ?, display_name, bio FROM profiles WHERE user_id = ?",
            (user_id, new, user_id),
        )
        _record(conn, "username", user_id, old, new, now)
        log.warning(
            "renamed user %d from %r to %r (the old name was not a valid username); its"
            " devices were logged out and log in again as %s",
            user_id,
            old,
            new,
            new,
        )


def _record(conn: sqlite3.Connection, kind: str, row_id: int, old: str, new: str, now: int) -> None:
    conn.execute(
        "INSERT INTO name_repairs (kind, row_id, old, new, repaired_at) VALUES (?, ?, ?, ?, ?)",
        (kind, row_id, old, new, now),
    )
    if kind != "username":
        log.warning("repaired %s of %d: %r -> %r", kind.replace("_", " "), row_id, old, new)
