"""Fixtures: an in-process server on an ephemeral port, server subprocesses, client homes."""

from __future__ import annotations

import asyncio
import os
import re
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from client.connection import Connection
from client.core import RoostClient
from client.home import ClientHome
from protocol import accounts as wire
from server.app import RoostServer
from server.config import Limits, ServerConfig
from storage.database import Database
from storage.engines import server_database
from tests.helpers import PASSWORD, Home, ServerProcess
from tests.postgres import session_cluster
from tests.redis_server import session_redis
from tests.seaweed import s3_bucket, seaweed  # noqa: F401 (fixtures: a real S3 endpoint)

# Test files are written whole before each sync: no waiting for them to settle (the tests of
# that rule set their own delay). Inherited by every `roost` child process.
os.environ.setdefault("ROOST_SYNC_SETTLE_MS", "0")


class LiveServer:
    def __init__(self, server: RoostServer) -> None:
        self.server = server
        self.url = f"ws://127.0.0.1:{server.port}"

    async def register(
        self, username: str, device: str = "test", invite: str | None = None
    ) -> wire.DeviceSession:
        """An account made over the real protocol; returns its device session (with token)."""
        conn = Connection(self.url)
        await conn.open()
        try:
            session: wire.DeviceSession = await conn.call(
                "auth.register",
                wire.Registration(
                    username=username, password=PASSWORD, device_name=device, invite=invite
                ),
            )
            return session
        finally:
            await conn.close()

    async def login(self, username: str, device: str = "other") -> wire.DeviceSession:
        conn = Connection(self.url)
        await conn.open()
        try:
            session: wire.DeviceSession = await conn.call(
                "auth.login",
                wire.Credentials(username=username, password=PASSWORD, device_name=device),
            )
            return session
        finally:
            await conn.close()

    async def connect(self, token: str | None) -> Connection:
        conn = Connection(self.url, token)
        await conn.open()
        return conn

    async def metric(self, sample: str) -> float:
        """One sample of the server's /metrics page, e.g. 'roost_connections'."""
        url = self.url.replace("ws://", "http://") + "/metrics"

        def fetch() -> str:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())

        return sample_value(await asyncio.to_thread(fetch), sample)


def sample_value(page: str, sample: str) -> float:
    """A sample's value in a Prometheus text page."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", page, re.MULTILINE)
    assert match, f"{sample} not in /metrics"
    return float(match[1])


async def start_server(
    data_dir: Path,
    limits: Limits | None = None,
    registration: str = "open",
    database_url: str | None = None,
    bus_url: str | None = None,
) -> RoostServer:
    """A server on an ephemeral port; anyone may register (tests of the registration modes
    ask for another mode). `database_url`: PostgreSQL instead of SQLite in `data_dir`;
    `bus_url`: one of several processes on that database, through this Redis."""
    config = ServerConfig(
        data_dir=data_dir,
        database_url=database_url,
        bus_url=bus_url,
        port=0,
        limits=limits or Limits(),
        shutdown_grace=5.0,
        registration=registration,
    )
    server = RoostServer(config)
    await server.start()
    return server


# The suites that run on every engine (the server, its storage, file sync through it); the
# others run on SQLite.
ENGINES = ("sqlite", "postgresql")
EVERY_ENGINE = ("server", "storage", "files")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        action="append",
        choices=ENGINES,
        help="run the server, storage and files suites on this engine only (repeatable;"
        " default: every engine)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        suite = metafunc.definition.path.relative_to(Path(__file__).parent).parts[0]
        chosen = metafunc.config.getoption("engine") or list(ENGINES)
        engines = chosen if suite in EVERY_ENGINE else ["sqlite"]
        # @pytest.mark.engines("sqlite"): a test of something one engine has (SQLite's reader
        # connection, its search queues) runs on that engine only.
        if (only := metafunc.definition.get_closest_marker("engines")) is not None:
            engines = [e for e in engines if e in only.args]
        metafunc.parametrize("engine", engines)


@pytest.fixture
def database_url(engine: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Where a test server keeps its database: None (SQLite in its data folder) or a fresh
    PostgreSQL database, already at the newest schema (a copy of one migrated database)."""
    if engine == "sqlite":
        yield None
        return
    cluster = session_cluster(request.config)
    name = cluster.create_database(cluster.server_template())
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture
async def server_db(tmp_path: Path, database_url: str | None) -> AsyncIterator[Database]:
    """A server database, migrated, on the test's engine."""
    db = await server_database(database_url, tmp_path / "roost.db").open()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def live(tmp_path: Path, database_url: str | None) -> AsyncIterator[LiveServer]:
    server = await start_server(tmp_path / "server", database_url=database_url)
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


@pytest.fixture
async def server_process(tmp_path: Path, database_url: str | None) -> AsyncIterator[ServerProcess]:
    """`roost serve` in a child process, on the test's engine (--db for PostgreSQL)."""
    extra = ("--db", database_url) if database_url is not None else ()
    proc = await ServerProcess(tmp_path / "server-data", extra_args=extra).start()
    try:
        yield proc
    finally:
        if proc.proc is not None and proc.proc.returncode is None:
            await proc.kill()


@pytest.fixture
def make_home(tmp_path: Path) -> Callable[[str, str], Home]:
    """make_home(name, server_url): a fresh ROOST_HOME for one device, driven by the CLI."""

    def make(name: str, server_url: str) -> Home:
        return Home(tmp_path / "homes" / name, server_url)

    return make


@pytest.fixture
async def alice_and_bob_cli(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> tuple[Home, Home]:
    """Two people registered through the CLI on a server subprocess, a home each."""
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")
    return alice, bob


@pytest.fixture
def client_home(tmp_path: Path) -> Callable[[str], RoostClient]:
    """client_home(name): a RoostClient (the core the CLI and TUI use) on a fresh home."""

    def make(name: str) -> RoostClient:
        return RoostClient(ClientHome(tmp_path / "homes" / name), open_timeout=2.0)

    return make


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """postgresql://USER@127.0.0.1:PORT/DB: a fresh, empty database on the session's real
    PostgreSQL cluster (tests/postgres.py), dropped after the test."""
    cluster = session_cluster(request.config)
    name = cluster.create_database()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> str:
    """redis://127.0.0.1:PORT/0: the session's real Redis (tests/redis_server.py), shared by
    every test that asks; a test that stops Redis starts its own with `private_redis()`."""
    return session_redis(request.config).url
