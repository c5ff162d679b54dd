"""The cluster tests' own machinery, checked on its own: a private Redis stops and comes back
empty on its port; the TCP proxy passes a Roost connection through, cuts it when its backend
goes, and sends the next one to a backend that accepts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from client.connection import Connection
from tests.cluster.cluster import closed
from tests.conftest import LiveServer, start_server
from tests.postgres import free_port
from tests.redis_server import private_redis
from tests.tcp_proxy import TcpProxy


def redis_says(port: int, command: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(command + b"\r\n")
        return conn.recv(64)


def test_a_private_redis_stops_and_comes_back_empty_on_the_same_port() -> None:
    with private_redis() as redis:
        port = redis.port
        assert redis.url == f"redis://127.0.0.1:{port}/0"
        assert redis_says(port, b"SET roost 1") == b"+OK\r\n"
        redis.stop()
        with pytest.raises(ConnectionRefusedError):
            redis_says(port, b"PING")
        redis.start()
        assert redis.port == port
        assert redis_says(port, b"GET roost") == b"$-1\r\n"  # nothing kept: no persistence


async def test_the_proxy_sends_connections_to_a_backend_that_accepts(tmp_path: Path) -> None:
    first = LiveServer(await start_server(tmp_path / "first"))
    second = LiveServer(await start_server(tmp_path / "second"))
    nobody = free_port()
    proxy = await TcpProxy([nobody, first.server.port, second.server.port]).start()
    try:
        through = LiveServer(first.server)
        through.url = proxy.url
        ann = await through.register("proxy_ann")  # past the port nobody listens on
        conn = await through.connect(ann.token)
        assert (await conn.call("auth.whoami")).username == "proxy_ann"
        assert dict(proxy.opened) == {first.server.port: 2}

        await first.server.stop()
        await closed(conn)  # its backend went: the proxy cut the client's side too
        ben = await through.register("proxy_ben")  # lands on the second server
        assert ben.username == "proxy_ben"
        assert proxy.opened[second.server.port] == 1
        await conn.close()
    finally:
        await proxy.close()
        await second.server.stop()


async def test_a_rotating_proxy_takes_turns_and_cuts_its_connections_when_closed(
    tmp_path: Path,
) -> None:
    servers = [LiveServer(await start_server(tmp_path / f"s{i}")) for i in range(2)]
    proxy = await TcpProxy([s.server.port for s in servers], rotate=True).start()
    try:
        conns = [Connection(proxy.url) for _ in range(4)]
        for conn in conns:
            await conn.open()
        assert sorted(proxy.opened.values()) == [2, 2]
        await proxy.close()
        for conn in conns:
            await closed(conn)
    finally:
        await proxy.close()
        for s in servers:
            await s.server.stop()
