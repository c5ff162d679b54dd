"""What cannot work is refused at start, in one line and without a traceback: a bus beside
SQLite (one process by nature), and a second process on a PostgreSQL database another one
serves, without the bus that would carry their events."""

from __future__ import annotations

from pathlib import Path

from tests.cluster.cluster import refused_start
from tests.helpers import ServerProcess


async def test_a_bus_without_postgresql_is_refused(tmp_path: Path, redis_url: str) -> None:
    code, said = await refused_start(tmp_path / "data", "--bus", redis_url)
    assert code != 0
    [line] = said.strip().splitlines()
    assert line.startswith("error: ") or line.startswith("Error"), line
    assert "--db" in line or "postgresql" in line.lower(), line
    assert not (tmp_path / "data" / "roost.db").exists()  # refused before anything was made


async def test_a_second_process_on_one_database_without_a_bus_is_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    first = await ServerProcess(tmp_path / "first", database_url=postgres_url).start()
    try:
        code, said = await refused_start(tmp_path / "second", "--db", postgres_url)
        assert code != 0
        refusal = said.strip().splitlines()[-1]
        assert refusal.startswith("error: ") and "--bus" in refusal, said
        assert first.proc is not None and first.proc.returncode is None  # the first serves on
    finally:
        await first.kill()
