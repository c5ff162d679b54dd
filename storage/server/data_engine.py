"""Which engine holds the database of the server on a data folder, for the commands that work
on the folder with the server stopped or beside it (`roost admin backup/restore/gc/du`).

A server started with `--db postgresql://…` keeps only its blocks in `--data`; its database is
elsewhere. It leaves `DATA/postgresql` saying where (never a password), so that those commands
do not quietly read a stale `roost.db` or find none: they stop and say what to run instead. A
server started on SQLite removes the file: the folder's database is `roost.db` again.
"""

from __future__ import annotations

from pathlib import Path

from storage.errors import StorageError

MARKER = "postgresql"


def record_engine(data_dir: Path, postgres: str | None) -> None:
    """Called by `roost serve` once it holds the folder: `postgres` is its PostgreSQL
    database as `storage.engines.where` shows it (no password), or None for SQLite here."""
    marker = data_dir / MARKER
    if postgres is None:
        marker.unlink(missing_ok=True)
        return
    marker.write_text(postgres + "\n")


def recorded_database(data_dir: Path) -> str | None:
    """The PostgreSQL database the folder's server last ran on (no password), or None."""
    try:
        text = (data_dir / MARKER).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot read {data_dir / MARKER}: {exc.strerror}") from None
    return text or "PostgreSQL"


def require_url_if_postgres(data_dir: Path, url: str | None, command: str) -> None:
    """Refuse, in one line, to run `command` on the folder's SQLite file when its server keeps
    its database in PostgreSQL and no --db was given."""
    if url is not None:
        return
    if (where := recorded_database(data_dir)) is not None:
        raise StorageError(
            f"the server on {data_dir} keeps its database in PostgreSQL ({where}):"
            f" run roost admin {command} --db URL --data {data_dir}"
        )
