"""Which engine a server's database runs on: SQLite in the data folder unless a database URL
says otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from storage.database import Database, Migration
from storage.sqlite import SqliteDatabase


def server_database(
    path: Path, migrations: Sequence[Migration], *, checkpoint_every: float | None = None
) -> Database:
    return SqliteDatabase(path, migrations, checkpoint_every=checkpoint_every)
