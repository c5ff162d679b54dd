"""The commands run on the server machine (roost admin du, gc, backup, restore) for a server
whose database is in PostgreSQL: without --db they stop with one line instead of reading a
stale or missing roost.db; du and gc take --db; backup and restore send the database to
pg_dump and pg_restore and copy the block folder with --blocks-only."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Home, ServerProcess

KIB = 1024


@pytest.fixture
async def pg_server(tmp_path: Path, postgres_url: str) -> AsyncIterator[ServerProcess]:
    proc = await ServerProcess(tmp_path / "data", extra_args=("--db", postgres_url)).start()
    try:
        yield proc
    finally:
        if proc.proc is not None and proc.proc.returncode is None:
            await proc.kill()


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))  # incompressible: stored size close to raw size
    return path


async def test_du_and_gc_take_the_database_url_and_refuse_without_it(
    pg_server: ServerProcess, postgres_url: str, tmp_path: Path
) -> None:
    data = pg_server.data_dir
    alice = Home(tmp_path / "alice", pg_server.url)
    await alice.register("alice")
    local = tmp_path / "local"
    local.mkdir()
    await alice.ok("files", "put", str(random_file(local / "a1", 300 * KIB)), "report.bin")
    await alice.ok("files", "put", str(random_file(local / "a2", 200 * KIB)), "report.bin")
    await alice.ok("files", "purge", "report.bin", "--yes")  # 300 KiB now awaits the gc
    operator = Home(tmp_path / "operator", "ws://unused")

    for command in ("du", "gc"):
        refused = await operator.run("admin", command, "--data", str(data))
        assert refused.code == 1, refused
        [line] = refused.stderr.strip().splitlines()
        assert "keeps its database in PostgreSQL (postgresql://" in line
        assert f"roost admin {command} --db URL" in line
        assert "roost.db" not in os.listdir(data)  # nothing made in the folder either

    async def du() -> dict[str, Any]:
        shown = await operator.ok(
            "admin", "du", "--data", str(data), "--db", postgres_url, "--json"
        )
        report: dict[str, Any] = json.loads(shown.stdout)
        return report

    report = await du()
    assert report["database"].startswith("postgresql://") and report["database_bytes"] > 0
    [a] = [o for o in report["owners"] if o["username"] == "alice"]
    assert (a["files_bytes"], a["old_versions"]) == (200 * KIB, 0)
    assert 200 * KIB <= a["stored_bytes"] < 200 * KIB + 4 * KIB
    assert report["awaiting_gc_blocks"] >= 1
    assert 300 * KIB <= report["awaiting_gc_bytes"] < 300 * KIB + 4 * KIB

    freed = await operator.ok(
        "admin", "gc", "--data", str(data), "--db", postgres_url, "--grace", "0s"
    )
    assert "freed" in freed.stderr and "freed 0 block" not in freed.stderr, freed.stderr
    report = await du()
    assert report["awaiting_gc_blocks"] == 0 and report["awaiting_gc_bytes"] == 0
    fetched = tmp_path / "fetched.bin"
    await alice.ok("files", "get", "report.bin", "-o", str(fetched))  # what is kept is intact
    assert fetched.read_bytes() == (local / "a2").read_bytes()

    bad = await operator.run("admin", "du", "--data", str(data), "--db", "mysql://x")
    assert bad.code != 0 and "postgresql://" in bad.stderr


async def test_backup_and_restore_leave_the_database_to_postgres_tools(
    pg_server: ServerProcess, tmp_path: Path
) -> None:
    data = pg_server.data_dir
    alice = Home(tmp_path / "alice", pg_server.url)
    await alice.register("alice")
    local = tmp_path / "local"
    local.mkdir()
    await alice.ok("files", "put", str(random_file(local / "a1", 100 * KIB)), "a.bin")
    operator = Home(tmp_path / "operator", "ws://unused")
    dest = tmp_path / "backup"

    refused = await operator.run("admin", "backup", str(dest), "--data", str(data))
    assert refused.code == 1
    [line] = refused.stderr.strip().splitlines()
    assert "keeps its database in PostgreSQL" in line and "pg_dump" in line
    assert "--blocks-only" in line
    assert not dest.exists()

    typo = await operator.run(
        "admin", "backup", str(dest), "--data", str(tmp_path / "dta"), "--blocks-only"
    )
    assert typo.code == 1 and "no Roost data in" in typo.stderr  # not an empty "backup"
    made = await operator.ok("admin", "backup", str(dest), "--data", str(data), "--blocks-only")
    assert "backed up the block folder" in made.stderr
    copied = [p for p in (dest / "blocks").rglob("*") if p.is_file()]
    assert copied and "roost.db" not in os.listdir(dest)

    await pg_server.kill()
    refused = await operator.run("admin", "restore", str(dest), "--data", str(data))
    assert refused.code == 1 and "pg_restore" in refused.stderr
    elsewhere = tmp_path / "new-machine"  # a folder no server ran on: the backup says what it is
    refused = await operator.run("admin", "restore", str(dest), "--data", str(elsewhere))
    assert refused.code == 1 and "block folder only" in refused.stderr
    assert "--blocks-only" in refused.stderr and "pg_restore" in refused.stderr
    await operator.ok("admin", "restore", str(dest), "--data", str(elsewhere), "--blocks-only")
    restored = sorted(p.name for p in (elsewhere / "blocks").rglob("*") if p.is_file())
    assert restored == sorted(p.name for p in copied)
