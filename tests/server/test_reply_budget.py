"""Replies count toward a per-connection budget: a client that asks for blocks without reading
them stops being read (it stalls, not the server), while a client that reads gets every reply.

Through a real `roost serve` subprocess, so the server's memory is measured on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from client.connection import Connection
from protocol.files import (
    BLOCK,
    GET,
    MAX_HASHES_PER_REQUEST,
    PUT,
    Codec,
    decode_block_frame,
    encode_block_frame,
    encode_get_batch,
)
from server.session import reply_fits
from tests.helpers import (
    NO_RATE_LIMIT,
    SECOND,
    ServerProcess,
    registered_token,
    resident_bytes,
)

MiB = 1 << 20
BLOCK_BYTES = 4 * MiB


@pytest.fixture
def server(server_process: ServerProcess) -> ServerProcess:
    return server_process  # the default limits


async def _raw(url: str, token: str, *, unread: bool = False) -> ClientConnection:
    """A raw device connection; `unread`: a 4 KiB receive window and nothing read."""
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    sock = socket.socket()
    if unread:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    ws = await connect(
        url,
        sock=sock,
        compression=None,
        max_size=None,
        max_queue=None,
        additional_headers={"Authorization": f"Bearer {token}"},
    )
    if unread:
        ws.transport.pause_reading()
    return ws


async def _upload(ws: ClientConnection, block: bytes) -> bytes:
    digest = hashlib.sha256(block).digest()
    await ws.send(encode_block_frame(PUT, 1, digest, Codec.RAW, block))
    assert json.loads(await ws.recv())["ok"] is True
    return digest


async def _peak_rss(pid: int, seconds: float) -> int:
    peak = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, resident_bytes(pid))
        await asyncio.sleep(0.05)
    return peak


async def test_unread_block_downloads_do_not_grow_the_server(server: ServerProcess) -> None:
    """150 RGETs of one 4 MiB block, never read, asked 600 MiB of replies: the server holds a
    few MiB for them and stops reading that connection; everyone else is answered at once; the
    stalled client, once it reads, still gets every block."""
    assert server.proc is not None
    pid = server.proc.pid
    token = await registered_token(server.url, "alice")
    block = os.urandom(BLOCK_BYTES)  # incompressible: stored and sent raw, 4 MiB each time
    uploader = await _raw(server.url, token)
    digest = await _upload(uploader, block)
    # Warm up the download path once, so the baseline holds what one download costs anyway.
    await uploader.send(encode_block_frame(GET, 2, digest))
    assert decode_block_frame(await uploader.recv()).magic == BLOCK
    await uploader.close()
    bystander = Connection(server.url, await registered_token(server.url, "bob"))
    await bystander.open()
    baseline = await _peak_rss(pid, 0.5)

    stuck = await _raw(server.url, token, unread=True)
    asked = 150
    for rid in range(1, asked + 1):
        await stuck.send(encode_block_frame(GET, rid, digest))
    # Whatever the server does with them, it has done within a few seconds.
    peak = await _peak_rss(pid, 3 * SECOND)
    started = time.monotonic()
    assert (await bystander.call("auth.whoami")).username == "bob"
    assert time.monotonic() - started < 1 * SECOND, "a bystander waited behind the stuck client"
    grown = peak - baseline
    assert grown < 24 * MiB, f"the server grew by {grown / MiB:.0f} MiB for unread replies"

    stuck.transport.resume_reading()  # a slow client, not a dead one: it gets everything
    got = set()
    for _ in range(asked):
        frame = decode_block_frame(await asyncio.wait_for(stuck.recv(), 20 * SECOND))
        assert frame.magic == BLOCK and bytes(frame.payload) == block
        got.add(frame.request_id)
    assert got == set(range(1, asked + 1))
    await asyncio.gather(stuck.close(), bystander.close())


async def test_unread_batch_downloads_are_bounded_too(server: ServerProcess) -> None:
    """RGTS batches (RBKS replies of ~3 MB each), pipelined without reading."""
    assert server.proc is not None
    pid = server.proc.pid
    token = await registered_token(server.url, "alice")
    uploader = await _raw(server.url, token)
    digests = [await _upload(uploader, os.urandom(200_000)) for _ in range(16)]
    await uploader.close()
    baseline = await _peak_rss(pid, 0.5)

    stuck = await _raw(server.url, token, unread=True)
    for rid in range(1, 151):  # 480 MB of replies asked for
        await stuck.send(encode_get_batch(rid, digests))
    peak = await _peak_rss(pid, 3 * SECOND)
    grown = peak - baseline
    assert grown < 24 * MiB, f"the server grew by {grown / MiB:.0f} MiB for unread replies"
    stuck.transport.abort()


async def test_unread_json_replies_are_bounded_too(tmp_path: Path) -> None:
    """900 files.missing requests, each answered with ~53 KB, never read: 48 MB asked for, not
    enough frames to be dropped for, and not held either."""
    server = await ServerProcess(tmp_path / "data", extra_args=NO_RATE_LIMIT).start()
    try:
        assert server.proc is not None
        token = await registered_token(server.url, "alice")
        hashes = [os.urandom(32).hex() for _ in range(MAX_HASHES_PER_REQUEST)]
        request = {"op": "files.missing", "args": {"namespace_id": None, "hashes": hashes}}
        probe = Connection(server.url, token)
        await probe.open()
        await probe.call_raw("files.missing", json.dumps(request["args"]).encode())
        baseline = await _peak_rss(server.proc.pid, 0.5)

        stuck = await _raw(server.url, token, unread=True)

        async def ask() -> None:  # stalls once the server stops reading: that is the point
            for rid in range(1, 901):
                await stuck.send(json.dumps({"id": rid, **request}))

        asking = asyncio.create_task(ask())
        peak = await _peak_rss(server.proc.pid, 3 * SECOND)
        grown = peak - baseline
        assert grown < 24 * MiB, f"the server grew by {grown / MiB:.0f} MiB for unread replies"
        started = time.monotonic()
        assert (await probe.call("auth.whoami")).username == "alice"
        assert time.monotonic() - started < 1 * SECOND
        asking.cancel()
        stuck.transport.abort()
        await probe.close()
    finally:
        await server.kill()


async def test_a_reading_client_pipelining_downloads_gets_them_all(server: ServerProcess) -> None:
    token = await registered_token(server.url, "alice")
    ws = await _raw(server.url, token)
    blocks = [os.urandom(1 << 20) for _ in range(4)]
    digests = [await _upload(ws, b) for b in blocks]
    asked = 200
    for rid in range(1, asked + 1):
        await ws.send(encode_block_frame(GET, rid, digests[rid % 4]))
    started = time.monotonic()
    got = {}
    for _ in range(asked):
        frame = decode_block_frame(await asyncio.wait_for(ws.recv(), 10 * SECOND))
        got[frame.request_id] = bytes(frame.payload)
    assert sorted(got) == list(range(1, asked + 1))
    assert all(got[rid] == blocks[rid % 4] for rid in got)
    assert time.monotonic() - started < 20 * SECOND
    await ws.close()


# ------------------------------------------------------------------ the rule, without sockets
def test_an_idle_connection_always_takes_one_request() -> None:
    idle = dict(reserved=0, held=0, buffered=100, buffer_high=32 << 10)
    assert reply_fits(budget=MiB, reserve=64 * MiB, **idle)  # larger than the whole budget


def test_room_held_and_unsent_bytes_fill_the_budget() -> None:
    rule = dict(budget=8 * MiB, buffer_high=32 << 10)
    assert reply_fits(reserve=4 * MiB, reserved=4 * MiB, held=0, buffered=0, **rule)
    assert not reply_fits(reserve=4 * MiB, reserved=4 * MiB, held=1, buffered=0, **rule)
    assert not reply_fits(reserve=4 * MiB, reserved=0, held=0, buffered=5 * MiB, **rule)
    assert reply_fits(reserve=0, reserved=0, held=3 * MiB, buffered=5 * MiB, **rule)
    assert not reply_fits(reserve=0, reserved=0, held=3 * MiB, buffered=5 * MiB + 1, **rule)
