"""The base of repositories: each read runs on the handle it is given (the database's reader,
or the caller's write transaction), each write on the caller's transaction."""

from __future__ import annotations

from storage.database import Database


class Repository:
    def __init__(self, db: Database) -> None:
        self._db = db
