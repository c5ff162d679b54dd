"""The single-file server: built with shiv from this tree, started as one file, talked to."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from client.connection import Connection
from protocol import accounts as wire
from tests.helpers import PASSWORD, SECOND

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
async def test_single_file_executable_serves(tmp_path: Path) -> None:
    target = tmp_path / "roost.pyz"
    env = dict(os.environ, SHIV_ROOT=str(tmp_path / "shiv-cache"))
    build = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shiv", "-c", "roost", "-o", str(target), "-q", str(ROOT),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await build.communicate()
    assert build.returncode == 0, out.decode()[-3000:]

    server = await asyncio.create_subprocess_exec(
        str(target), "serve", "--port", "0", "--data", str(tmp_path / "data"),
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        async with asyncio.timeout(60 * SECOND):
            while not (
                m := re.search(rb"Roost listening on (ws://\S+)", await server.stderr.readline())
            ):
                pass
        conn = Connection(m[1].decode())
        await conn.open()
        session = await conn.call(
            "auth.register", wire.Credentials(username="zip", password=PASSWORD)
        )
        await conn.close()
        assert session.username == "zip"
    finally:
        server.terminate()
        assert await server.wait() == 0  # a clean shutdown on SIGTERM
