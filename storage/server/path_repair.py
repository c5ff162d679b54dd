"""Paths stored before the server kept them in NFC and refused control characters, repaired
once by a migration.

Older servers stored a path in whatever Unicode form the client sent (`café.txt` composed
and decomposed were two live files) and let C1 and bidirectional controls through. What the
repair does, namespace by namespace:

- every path's key becomes NFC + casefold (`protocol.files.path_key`), so the two forms of a
  name collide from now on;
- a path in another form, or holding a character the path rule refuses (each becomes `_`),
  is renamed in place, its whole history with it, unless a path of the new name is already
  there: then it keeps its name (it stays readable and restorable; a device lists it and
  reports it as not syncable);
- share names, the names members mount shares under, and attachment names are put in NFC.

Each rename is logged. A device that synced the old name sees the file under its new name
on its next pass (a deletion of the old one and the new one downloaded; nothing is lost).
"""

from __future__ import annotations

import logging
import sqlite3
import unicodedata

from protocol.files import path_key
from protocol.types import underscored

log = logging.getLogger("roost.storage")

_NOT_PRINTABLE_ASCII = "*[^ -~]*"  # a GLOB: the paths the repair may have to change


def repaired_path(path: str) -> str:
    """The path as the server keeps it now: NFC, with each refused character as `_`."""
    return underscored(unicodedata.normalize("NFC", path))


def repair_paths(conn: sqlite3.Connection) -> None:
    rows = conn.execute(
        "SELECT namespace_id, path FROM files_current WHERE path GLOB ?", (_NOT_PRINTABLE_ASCII,)
    ).fetchall()
    for ns_id, path in rows:
        new = repaired_path(path)
        if new != path and not _exists(conn, ns_id, new):
            conn.execute(
                "UPDATE files_current SET path = ? WHERE namespace_id = ? AND path = ?",
                (new, ns_id, path),
            )
            conn.execute(
                "UPDATE file_versions SET path = ? WHERE namespace_id = ? AND path = ?",
                (new, ns_id, path),
            )
            log.info("renamed %r to %r in namespace %d (NFC, no controls)", path, new, ns_id)
            path = new
        conn.execute(
            "UPDATE files_current SET path_key = ? WHERE namespace_id = ? AND path = ?",
            (path_key(path), ns_id, path),
        )
    for table, column in (
        ("namespaces", "name"), ("namespace_members", "mount_name"), ("attachments", "name")
    ):  # fmt: skip
        found = conn.execute(
            f"SELECT rowid, {column} FROM {table} WHERE {column} GLOB ?", (_NOT_PRINTABLE_ASCII,)
        ).fetchall()
        for rowid, value in found:
            nfc = unicodedata.normalize("NFC", value)
            if nfc != value:
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (nfc, rowid))


def _exists(conn: sqlite3.Connection, ns_id: int, path: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM files_current WHERE namespace_id = ? AND path = ?", (ns_id, path)
    ).fetchone()
    return found is not None
