"""`roost serve --db postgresql://…` when the database cannot be had at start: one line that
names where it looked and why, never the password, no traceback, exit 1."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import pytest

from tests.helpers import SECOND, roost_command
from tests.postgres import free_port, session_cluster

PASSWORD = "pw-that-must-not-show"


async def serve(data: Path, url: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), "serve", "--port", "0", "--data", str(data), "--db", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60 * SECOND):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


def one_line(output: str) -> str:
    assert "Traceback" not in output
    assert PASSWORD not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


async def test_nothing_listening_wrong_database_and_refused_login_each_say_so_in_one_line(
    tmp_path: Path, postgres_url: str, request: pytest.FixtureRequest
) -> None:
    cluster = session_cluster(request.config)
    port = cluster.port
    role = f"pw_{uuid.uuid4().hex[:8]}"
    cluster.require_password(role, "the-right-one")
    database = postgres_url.rsplit("/", 1)[1]
    cases = {
        "nothing listening": (
            f"postgresql://roost:{PASSWORD}@127.0.0.1:{free_port()}/roost",
            r"database unreachable at 127\.0\.0\.1:\d+/roost: connection refused \(is"
            r" PostgreSQL running and listening there\?\)",
        ),
        "no such database": (
            f"postgresql://roost:{PASSWORD}@127.0.0.1:{port}/no_such_db",
            rf"database unreachable at 127\.0\.0\.1:{port}/no_such_db:"
            r' database "no_such_db" does not exist',
        ),
        "wrong password": (
            f"postgresql://{role}:{PASSWORD}@127.0.0.1:{port}/{database}",
            rf"database unreachable at 127\.0\.0\.1:{port}/{database}:"
            rf' password authentication failed for user "{role}"',
        ),
        "no such role": (
            f"postgresql://nobody:{PASSWORD}@127.0.0.1:{port}/{database}",
            rf"database unreachable at 127\.0\.0\.1:{port}/{database}:"
            r' role "nobody" does not exist',
        ),
    }
    for case, (url, said) in cases.items():
        code, output = await serve(tmp_path / case.replace(" ", "-"), url)
        line = one_line(output)
        assert code == 1, f"{case}: {output}"
        assert re.fullmatch(rf"error: cannot start the server: {said}", line), f"{case}: {line}"


async def test_a_folder_whose_server_ran_on_postgresql_is_not_served_from_sqlite_by_mistake(
    tmp_path: Path,
) -> None:
    """Forgetting --db must not start an empty (or stale) SQLite server on the folder."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "postgresql").write_text("postgresql://db.internal:5432/roost\n")
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), "serve", "--port", "0", "--data", str(data),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60 * SECOND):
        out, err = await proc.communicate()
    line = one_line((out + err).decode())
    assert proc.returncode == 1
    assert line == (
        f"error: the server on {data} keeps its database in PostgreSQL"
        " (postgresql://db.internal:5432/roost): start it with --db URL (to start over on"
        f" SQLite in this folder instead, remove {data / 'postgresql'})"
    )
    assert not (data / "roost.db").exists()
