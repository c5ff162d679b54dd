"""Which engine a server's database runs on: SQLite in the data folder, unless a PostgreSQL URL
says otherwise (`roost serve --db postgresql://…`)."""

from __future__ import annotations

from pathlib import Path

from storage.database import Database
from storage.server import schema


def server_database(
    url: str | None, path: Path, *, checkpoint_every: float | None = None
) -> Database:
    if url is None:
        from storage.sqlite import SqliteDatabase

        return SqliteDatabase(path, schema.MIGRATIONS, checkpoint_every=checkpoint_every)
    # Imported only here: a SQLite server never loads the PostgreSQL driver.
    from storage.postgres import PostgresDatabase
    from storage.server.postgres_schema import server_migrations

    return PostgresDatabase(url, server_migrations())


def where(url: str | None, path: Path) -> str:
    """Where the database is, for a person: never a password."""
    if url is None:
        return str(path)
    from storage.postgres import describe

    return f"postgresql://{describe(url)}"
