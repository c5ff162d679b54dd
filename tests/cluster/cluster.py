"""A cluster of real processes: three `roost serve` on one PostgreSQL database and one Redis,
each with its own data folder (each locks its own), for the tests of what crosses processes.

One cluster per test module (starting one takes a few seconds): each module makes its own with
`running_cluster()` in a module-scoped fixture, and its tests run on the module's event loop
(`pytestmark = CLUSTER_LOOP`) so they can use the processes the fixture started. Each cluster
has its own Redis (`private_redis()`): Redis's pub/sub channels are not scoped by database
number, so two clusters on one Redis would hear each other.

A cluster is PostgreSQL by nature: these tests take no `engine` fixture, so they run once,
whatever `--engine` chooses for the server, storage and files suites.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from client.connection import Connection
from protocol import accounts as wire
from tests.helpers import MANY_ACCOUNTS, PASSWORD, SECOND, ServerProcess, roost_command
from tests.postgres import session_cluster
from tests.redis_server import RedisServer, private_redis
from tests.tcp_proxy import TcpProxy

NODES = 3
# Tests in a module share its cluster, and so its event loop.
CLUSTER_LOOP = pytest.mark.asyncio(loop_scope="module")
# Presence announced quickly, so the presence tests wait fractions of a second.
PRESENCE_DELAY = 0.2
FAST_PRESENCE = (
    "--presence-online-delay", str(PRESENCE_DELAY),
    "--presence-offline-delay", str(PRESENCE_DELAY),
)  # fmt: skip


@dataclass
class Cluster:
    nodes: list[ServerProcess]
    redis: RedisServer
    database_url: str
    admin: wire.DeviceSession  # the first account: the server's admin
    proxies: list[TcpProxy] = field(default_factory=list)

    def url(self, node: int) -> str:
        return self.nodes[node].url

    async def register(self, node: int, username: str, device: str = "first") -> wire.DeviceSession:
        """A new account, registered through process `node`."""
        return await self._sign_in(node, "auth.register", username, device)

    async def login(self, node: int, username: str, device: str) -> wire.DeviceSession:
        """Another device of an account, logged in through process `node`."""
        return await self._sign_in(node, "auth.login", username, device)

    async def _sign_in(self, node: int, op: str, username: str, device: str) -> wire.DeviceSession:
        conn = Connection(self.url(node))
        await conn.open()
        try:
            session: wire.DeviceSession = await conn.call(
                op, wire.Credentials(username=username, password=PASSWORD, device_name=device)
            )
            return session
        finally:
            await conn.close()

    async def connect(self, node: int, token: str) -> Connection:
        conn = Connection(self.url(node), token)
        await conn.open()
        return conn

    async def proxy(self, prefer: int) -> TcpProxy:
        """A TCP proxy whose connections go to process `prefer` while it accepts, else to the
        next one up (closed with the cluster)."""
        ports = [n.port or 0 for n in self.nodes]
        proxy = await TcpProxy(ports[prefer:] + ports[:prefer]).start()
        self.proxies.append(proxy)
        return proxy

    async def health(self, node: int) -> dict[str, Any]:
        """Process `node`'s /healthz JSON (whatever its status code)."""
        url = self.url(node).replace("ws://", "http://") + "/healthz"

        def fetch() -> dict[str, Any]:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = response.read()
            except urllib.error.HTTPError as exc:
                body = exc.read()
            found: dict[str, Any] = json.loads(body)
            return found

        return await asyncio.to_thread(fetch)

    async def wait_health(self, node: int, key: str, value: str, seconds: float = 10.0) -> None:
        """Until process `node`'s /healthz says `key` is `value` (what it said last if never)."""
        said: dict[str, Any] = {}
        try:
            async with asyncio.timeout(seconds * SECOND):
                while (said := await self.health(node)).get(key) != value:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(
                f"node {node}: /healthz never said {key}={value}: {said}"
            ) from None

    def errors_logged(self) -> list[str]:
        """ERROR lines and tracebacks any process wrote."""
        return [
            f"node {i}: {line}"
            for i, node in enumerate(self.nodes)
            for line in node.log
            if " ERROR " in line or "Traceback" in line
        ]


def serve_flags(database_url: str, redis_url: str, *flags: str) -> tuple[str, ...]:
    """What each process of a cluster runs with (its --data and --port come from its
    ServerProcess): the shared database and bus, open registration, many accounts from one
    address, quick presence, then the module's own flags."""
    return ("--db", database_url, "--bus", redis_url, *MANY_ACCOUNTS, *FAST_PRESENCE, *flags)


@contextlib.asynccontextmanager
async def running_cluster(
    config: pytest.Config, root: Path, *flags: str, env: dict[str, str] | None = None
) -> AsyncIterator[Cluster]:
    """Three processes on a fresh database (a copy of the migrated template, so no process
    migrates) and a Redis of their own; stopped and removed when the block ends. `env`: added
    to the processes' environment (the credentials of a --blocks bucket)."""
    postgres = session_cluster(config)
    database = postgres.create_database(postgres.server_template())
    url = postgres.url(database)
    cluster: Cluster | None = None
    try:
        with private_redis() as redis:
            nodes = [
                ServerProcess(
                    root / f"node{i}",
                    extra_args=serve_flags(url, redis.url, *flags),
                    env=os.environ | env if env else None,
                )
                for i in range(NODES)
            ]
            try:
                started = await asyncio.gather(*(n.start() for n in nodes), return_exceptions=True)
                if failed := [s for s in started if isinstance(s, BaseException)]:
                    raise failed[0]
                cluster = Cluster(nodes, redis, url, await _register_admin(nodes[0].url))
                yield cluster
                # Whatever the tests made the processes go through, none may have failed.
                assert not cluster.errors_logged(), cluster.errors_logged()
            finally:
                for proxy in cluster.proxies if cluster is not None else []:
                    await proxy.close()
                for node in nodes:  # before their Redis goes
                    await _stop(node)
    finally:
        postgres.drop_database(database)


async def _register_admin(url: str) -> wire.DeviceSession:
    """The first account of a server is its admin: made first, so no test's user is."""
    conn = Connection(url)
    await conn.open()
    try:
        admin: wire.DeviceSession = await conn.call(
            "auth.register",
            wire.Credentials(username="admin", password=PASSWORD, device_name="admin"),
        )
        return admin
    finally:
        await conn.close()


async def _stop(node: ServerProcess) -> None:
    """SIGKILL whatever still runs (a process that never said it listens has no log reader)."""
    if node.proc is None or node.proc.returncode is not None:
        return
    if hasattr(node, "_drain"):
        await node.kill()
    else:
        node.proc.kill()
        await node.proc.wait()


async def refused_start(data: Path, *flags: str, seconds: float = 20.0) -> tuple[int, str]:
    """`roost serve` expected to refuse: its exit code and all it said (a start instead of a
    refusal fails the test within `seconds`). Never a traceback, never listening."""
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), "serve", "--port", "0", "--data", str(data), *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(seconds * SECOND):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"roost serve {' '.join(flags)} started instead of refusing") from None
    assert proc.returncode is not None
    said = (out + err).decode()
    assert "Traceback" not in said, said
    assert "Roost listening" not in said, said
    return proc.returncode, said


async def closed(conn: Connection, seconds: float = 5.0) -> str:
    """How the server closed this connection ("CODE reason"), waiting for it to."""
    try:
        async with asyncio.timeout(seconds * SECOND):
            await conn.wait_closed()
    except TimeoutError:
        raise AssertionError(f"the connection to {conn.url} is still open") from None
    return conn.close_reason or "1000"
