"""Connections that are not logged in: small frames, a deadline to log in, and a cap per
address; and the cap on all connections per address. Through a real `roost serve`."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from client.connection import Connection
from client.errors import Unreachable
from tests.helpers import SECOND, ServerProcess, registered_token, resident_bytes

MiB = 1 << 20
OTHER = "127.0.0.3"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    proc = await ServerProcess(tmp_path / "data").start()  # the default limits
    try:
        yield proc
    finally:
        if proc.proc is not None and proc.proc.returncode is None:
            await proc.kill()


async def anonymous(url: str, source: str = "127.0.0.1") -> ClientConnection:
    return await connect(url, local_addr=(source, 0), max_size=None)


def frame_header(length: int, *, opcode: int = 0x1, final: bool = True) -> bytes:
    """A masked client frame's header announcing `length` bytes (the mask is all zero)."""
    first = (0x80 if final else 0) | opcode
    return struct.pack("!BBQ", first, 0x80 | 127, length) + b"\0\0\0\0"


async def closed_with(ws: ClientConnection, seconds: float = 5.0) -> tuple[int | None, str]:
    try:
        async with asyncio.timeout(seconds * SECOND):
            while True:
                await ws.recv()
    except ConnectionClosed:
        pass
    rcvd = ws.protocol.close_rcvd
    return (rcvd.code, rcvd.reason) if rcvd else (None, "")


async def test_a_large_frame_before_login_is_refused_at_its_header(server: ServerProcess) -> None:
    """A 4 MiB text frame announced, a little of it sent and the rest never: the server closes
    at the header (1009) instead of buffering megabytes for someone who has not logged in."""
    assert server.proc is not None
    baseline = resident_bytes(server.proc.pid)
    held = []
    for _ in range(12):
        ws = await anonymous(server.url)
        ws.transport.write(frame_header(4 * MiB) + os.urandom(3 * MiB))  # never finished
        held.append(ws)
    for ws in held:
        code, reason = await closed_with(ws)
        assert code == 1009, (code, reason)
        assert "65536" in reason  # says what the limit is
    assert resident_bytes(server.proc.pid) - baseline < 16 * MiB
    for ws in held:
        ws.transport.abort()


async def test_a_fragmented_message_before_login_is_refused_past_the_limit(
    server: ServerProcess,
) -> None:
    ws = await anonymous(server.url)
    ws.transport.write(frame_header(40_000, final=False) + b"x" * 40_000)
    ws.transport.write(frame_header(40_000, opcode=0x0, final=False) + b"x" * 40_000)
    code, _ = await closed_with(ws)
    assert code == 1009
    ws.transport.abort()


async def test_frames_up_to_a_block_once_logged_in(server: ServerProcess) -> None:
    """The small limit is for anonymous connections only: a device's 1 MiB request frame gets
    the ordinary too_large reply and the connection stays."""
    token = await registered_token(server.url, "alice")
    async with connect(
        server.url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
    ) as ws:
        await ws.send(json.dumps({"id": 1, "op": "auth.whoami", "args": {"x": "y" * MiB}}))
        reply = json.loads(await ws.recv())
        assert reply["error"]["code"] == "too_large"
        await ws.send(json.dumps({"id": 2, "op": "auth.whoami"}))
        assert json.loads(await ws.recv())["result"]["username"] == "alice"


async def test_an_anonymous_connection_is_closed_at_its_login_deadline(tmp_path: Path) -> None:
    """Answering pings is not enough: a connection that has not logged in by the deadline is
    closed with 1008 and a reason that says what to do."""
    server = await ServerProcess(tmp_path / "data", extra_args=("--login-timeout", "1")).start()
    try:
        token = await registered_token(server.url, "alice")
        device = await connect(server.url, additional_headers={"Authorization": f"Bearer {token}"})
        idle = await anonymous(server.url)
        started = time.monotonic()
        code, reason = await closed_with(idle, 10)
        assert code == 1008
        assert reason == "not logged in within 1 s; log in, then connect with the token"
        assert 0.8 < time.monotonic() - started < 5 * SECOND
        await device.send(json.dumps({"id": 1, "op": "auth.whoami"}))  # a device stays
        assert json.loads(await device.recv())["ok"] is True
        await device.close()
        await server.logged("not logged in within 1 s", "127.0.0.1")
    finally:
        await server.kill()


async def test_one_address_cannot_hold_more_than_its_share_of_anonymous_connections(
    server: ServerProcess,
) -> None:
    """16 connections not logged in from one address (the default); the 17th is refused with
    HTTP 429 and a line the client shows; another address, and a device from the same one,
    still connect; closing one makes room again."""
    held = [await anonymous(server.url) for _ in range(16)]
    with pytest.raises(Unreachable) as refused:
        await Connection(server.url).open()  # the real client, from the same address
    assert "HTTP 429" in str(refused.value)
    assert "too many connections from your address that are not logged in (at most 16)" in str(
        refused.value
    )
    other = await anonymous(server.url, OTHER)
    await other.send(json.dumps({"id": 1, "op": "auth.whoami"}))
    assert json.loads(await other.recv())["error"]["code"] == "unauthenticated"
    # A device (with a token) from the crowded address is not refused.
    await held.pop().close()
    token = await registered_token(server.url, "alice")
    held.append(await anonymous(server.url))  # the room is taken again
    async with connect(server.url, additional_headers={"Authorization": f"Bearer {token}"}):
        pass
    for ws in [*held, other]:
        await ws.close()
    await asyncio.sleep(0.2)
    await (await anonymous(server.url)).close()  # every closed connection gave its room back


async def test_all_connections_per_address_are_capped(tmp_path: Path) -> None:
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--connections-per-address", "4")
    ).start()
    try:
        token = await registered_token(server.url, "alice")
        headers = {"Authorization": f"Bearer {token}"}
        held = [await connect(server.url, additional_headers=headers) for _ in range(4)]
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.url, additional_headers=headers)
        assert refused.value.response.status_code == 429
        assert b"too many connections from your address (at most 4)" in refused.value.response.body
        elsewhere = await connect(server.url, additional_headers=headers, local_addr=(OTHER, 0))
        await elsewhere.close()
        await held.pop().close()
        await asyncio.sleep(0.2)
        held.append(await connect(server.url, additional_headers=headers))
        for ws in held:
            await ws.close()
    finally:
        await server.kill()


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_counted(
    tmp_path: Path,
) -> None:
    server = await ServerProcess(
        tmp_path / "data",
        extra_args=("--trusted-proxy", "127.0.0.1", "--anonymous-per-address", "2"),
    ).start()
    try:

        def via_proxy(client: str) -> dict[str, str]:
            return {"X-Forwarded-For": f"198.51.100.7, {client}"}

        a = [await connect(server.url, additional_headers=via_proxy("203.0.113.5")) for _ in "ab"]
        with pytest.raises(InvalidStatus):
            await connect(server.url, additional_headers=via_proxy("203.0.113.5"))
        b = await connect(server.url, additional_headers=via_proxy("203.0.113.6"))
        # An untrusted peer's header is ignored: 127.0.0.3 is counted as itself.
        c = await connect(
            server.url, additional_headers=via_proxy("203.0.113.5"), local_addr=(OTHER, 0)
        )
        await b.send(json.dumps({"id": 1, "op": "auth.login", "args": {
            "username": "nobody", "password": "not the password"}}))  # fmt: skip
        assert json.loads(await b.recv())["error"]["code"] == "invalid_credentials"
        await server.logged("op=auth.login", "code=invalid_credentials", "addr=203.0.113.6")
        for ws in [*a, b, c]:
            await ws.close()
    finally:
        await server.kill()
