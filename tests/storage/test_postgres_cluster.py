"""The test PostgreSQL (tests/postgres.py) is a real server: a database handed to a test takes a
table and shows it back, and each test's database starts empty."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import postgres
from tests.postgres import _clean_env, find_binaries


def psql(url: str, statement: str) -> str:
    done = subprocess.run(
        [str(find_binaries() / "psql"), "--no-psqlrc", "-qtA", "-v", "ON_ERROR_STOP=1", url],
        input=statement,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_a_database_takes_a_table_and_shows_it(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://") and "@127.0.0.1:" in postgres_url
    psql(postgres_url, "CREATE TABLE notes (id BIGINT PRIMARY KEY, text TEXT NOT NULL)")
    psql(postgres_url, "INSERT INTO notes VALUES (1, 'hello'), (2, 'roost')")
    assert psql(postgres_url, "SELECT text FROM notes ORDER BY id") == "hello\nroost"
    assert psql(postgres_url, "SHOW fsync") == "on"


def test_each_test_gets_an_empty_database(postgres_url: str) -> None:
    # The table the test above made is not here: this database is another, new one.
    tables = psql(postgres_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    assert tables == "0"


def test_missing_postgresql_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(postgres, "_DEBIAN_BINARIES", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"apt-get install postgresql"):
        postgres.find_binaries()
