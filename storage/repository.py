"""The base of repositories whose reads run on a caller's transaction or, by default, on the
database's reader connection (committed data only)."""

from __future__ import annotations

import aiosqlite

from storage.database import Database


class Repository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _conn(self, conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        return conn or self._db.reader
