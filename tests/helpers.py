"""Test helpers: a Roost server as a real subprocess, the real CLI, client homes.

Timeouts are multiples of `SECOND`, which ROOST_TEST_TIMEOUT_SCALE stretches on slow machines.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

SECOND = float(os.environ.get("ROOST_TEST_TIMEOUT_SCALE", "1"))
PASSWORD = "correct horse battery"
_LISTENING = re.compile(r"Roost listening on (wss?://\S+)")


def roost_command() -> list[str]:
    """The installed `roost` script beside this interpreter, else `python -m cli`."""
    script = Path(sys.executable).with_name("roost")
    if script.exists():
        return [str(script)]
    found = shutil.which("roost")
    return [found] if found else [sys.executable, "-m", "cli"]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


# For tests that drive one user hard on purpose (fuzzing, kill loops): per-user rate limits
# would answer instead of what is under test (tests/server/test_limits.py covers them).
NO_RATE_LIMIT = ("--rate", "1000000", "--burst", "1000000")
# For tests that register more accounts from 127.0.0.1 than a server allows one address in an
# hour (tests/server/test_auth_limits.py covers that limit).
MANY_ACCOUNTS = ("--registrations-per-hour", "0")


async def registered_token(url: str, username: str) -> str:
    """Register `username` through the client's connection; its device token."""
    from client.connection import Connection
    from protocol import accounts

    conn = Connection(url)
    await conn.open()
    try:
        session: accounts.DeviceSession = await conn.call(
            "auth.register", accounts.Credentials(username=username, password=PASSWORD)
        )
    finally:
        await conn.close()
    return session.token


class ServerProcess:
    """`roost serve` in a child process, so tests can SIGKILL it and start it again."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = 0,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        registration: str | None = "open",
        database_url: str | None = None,
    ) -> None:
        """`registration`: the --registration mode; "open" lets tests make the accounts they
        need, None leaves the server's default (invite). `database_url`: keep the database in
        PostgreSQL there (--db) instead of SQLite in `data_dir`."""
        self.data_dir = data_dir
        self.port = port  # None: no --port flag (the environment or a config file sets it)
        self.env = env  # None: this process's environment
        mode = ("--registration", registration) if registration else ()
        database = ("--db", database_url) if database_url else ()
        self.extra_args = (*mode, *database, *extra_args)
        self.url = ""
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []

    async def start(self) -> ServerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            *roost_command(),
            "serve",
            *(("--port", str(self.port)) if self.port is not None else ()),
            "--data",
            str(self.data_dir),
            *self.extra_args,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        async with asyncio.timeout(15 * SECOND):
            while True:
                line = (await self.proc.stderr.readline()).decode()
                if not line:
                    raise RuntimeError("server exited during start-up:\n" + "".join(self.log))
                self.log.append(line)
                if m := _LISTENING.search(line):
                    self.url = m[1]
                    self.port = int(self.url.rsplit(":", 1)[1])  # restarts reuse the port
                    break
        self._drain = asyncio.create_task(self._read_log())
        return self

    async def _read_log(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.log.append(line.decode())

    async def logged(self, *parts: str, seconds: float = 5.0) -> str:
        """The first log line holding every one of `parts`, waiting for it to be written: a
        reply can reach a test before the line logged on the way."""
        async with asyncio.timeout(seconds * SECOND):
            while True:
                for line in self.log:
                    if all(p in line for p in parts):
                        return line
                await asyncio.sleep(0.02)

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        await self._signal(signal.SIGKILL)

    async def terminate(self) -> int:
        return await self._signal(signal.SIGTERM)

    async def _signal(self, sig: int) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(20 * SECOND):
            code = await self.proc.wait()
            await self._drain
        return code


class Home:
    """One client home (one device of one user), driven through the real CLI."""

    def __init__(self, path: Path, server_url: str) -> None:
        self.path = path
        self.server_url = server_url

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(ROOST_HOME=str(self.path), ROOST_SERVER=self.server_url, COLUMNS="200")
        env.pop("ROOST_DEBUG", None)
        return env

    async def run(self, *args: str, stdin: str | None = None, cwd: Path | None = None) -> CliResult:
        proc = await asyncio.create_subprocess_exec(
            *roost_command(),
            *args,
            env=self.env(),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        async with asyncio.timeout(60 * SECOND):
            out, err = await proc.communicate(stdin.encode() if stdin is not None else b"")
        assert proc.returncode is not None
        return CliResult(proc.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str | None = None, cwd: Path | None = None) -> CliResult:
        result = await self.run(*args, stdin=stdin, cwd=cwd)
        assert result.code == 0, f"roost {' '.join(args)} failed ({result.code}): {result.stderr}"
        return result

    async def register(self, username: str, password: str = PASSWORD) -> CliResult:
        return await self.ok("register", username, "--password-stdin", stdin=password + "\n")

    async def login(
        self, username: str, password: str = PASSWORD, device: str = "second"
    ) -> CliResult:
        return await self.ok(
            "login", username, "--password-stdin", "--device", device, stdin=password + "\n"
        )


# ---------------------------------------------------------------- process memory (Linux)
PIECE = 32 << 10  # above pymalloc's small objects: each comes from the thread's malloc arena
PIECES = 3000  # ~94 MiB


def resident_bytes(pid: int | str = "self") -> int:
    """RSS of this process, or of another by pid (Linux)."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fragment_a_thread_arena() -> list[bytes]:
    """As a database thread leaves its arena: most of it free, but every so often a chunk
    still in use, so the arena cannot shrink from the top and the pages stay resident. The
    chunks still in use are returned."""
    kept: list[bytes] = []

    def allocate_and_free_most() -> None:
        pieces = [os.urandom(PIECE) for _ in range(PIECES)]  # touched: resident
        kept.extend(pieces[::100])
        pieces.clear()

    worker = threading.Thread(target=allocate_and_free_most)
    worker.start()
    worker.join()
    return kept
