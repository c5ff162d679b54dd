"""Bad frames get a clear error with a stable code; the connection and everyone else carry on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.config import Limits
from tests.conftest import LiveServer, start_server
from tests.helpers import SECOND


async def exchange(ws: ClientConnection, frame: str | bytes) -> dict:
    await ws.send(frame)
    async with asyncio.timeout(5 * SECOND):
        return json.loads(await ws.recv())


async def authed(live: LiveServer, name: str) -> ClientConnection:
    session = await live.register(name)
    return await connect(
        live.url,
        additional_headers={"Authorization": f"Bearer {session.token}"},
        compression=None,
        max_size=None,
    )


async def still_serving(ws: ClientConnection) -> None:
    reply = await exchange(ws, json.dumps({"id": 999, "op": "auth.whoami", "args": {}}))
    assert reply["ok"] is True, reply


@pytest.mark.parametrize(
    ("frame", "code", "request_id"),
    [
        ("not json at all", "malformed", None),
        ("[1, 2, 3]", "malformed", None),
        ('{"op": "auth.whoami"}', "malformed", None),
        ('{"id": 5, "args": {}}', "malformed", 5),
        ('{"id": "5", "op": "auth.whoami"}', "malformed", None),
        ('{"id": 6, "op": "no.such.op", "args": {}}', "unknown_op", 6),
        ('{"id": 7, "op": "profile.set", "args": {"bio": 42}}', "invalid_args", 7),
        ('{"id": 8, "op": "profile.set", "args": {"bio": "x", "admin": true}}', "invalid_args", 8),
        ('{"id": 9, "op": "profile.set", "args": [1]}', "invalid_args", 9),
        ('{"id": 10, "op": "profile.get", "args": {"username": "../etc"}}', "invalid_args", 10),
        ('{"id": 11, "op": "devices.revoke", "args": {"device_id": 12}}', "invalid_args", 11),
        ('{"id": -1, "op": "auth.whoami"}', "malformed", None),
    ],
)
async def test_bad_request_gets_an_error_and_the_connection_survives(
    live: LiveServer, frame: str, code: str, request_id: int | None
) -> None:
    async with await authed(live, "alice") as ws:
        reply = await exchange(ws, frame)
        assert reply["ok"] is False
        assert reply["id"] == request_id
        assert reply["error"]["code"] == code
        assert reply["error"]["message"]  # a human-readable sentence, never empty
        await still_serving(ws)


async def test_too_long_text_names_the_field_and_the_limit(live: LiveServer) -> None:
    async with await authed(live, "bob") as ws:
        reply = await exchange(
            ws, json.dumps({"id": 1, "op": "profile.set", "args": {"bio": "é" * 501}})
        )
        assert reply["error"] == {
            "code": "invalid_args",
            "message": "bad profile.set args: bio is too long (at most 500 characters)",
        }
        # 500 code points is fine even though it is 1,000 bytes of UTF-8
        reply = await exchange(
            ws, json.dumps({"id": 2, "op": "profile.set", "args": {"bio": "é" * 500}})
        )
        assert reply["ok"] is True


async def test_binary_frame_out_of_place_is_refused(live: LiveServer) -> None:
    async with await authed(live, "carol") as ws:
        reply = await exchange(ws, b"\x00\x01binary")
        assert reply["error"]["code"] == "malformed"
        await still_serving(ws)


async def test_large_request_gets_too_large_and_oversized_frame_closes_only_that_socket(
    live: LiveServer,
) -> None:
    limits = live.server.config.limits
    bystander = await authed(live, "dave")
    # No `async with`: the server closes while megabytes are still buffered on our side, and
    # closing such a socket again from this end trips over asyncio's aborted transport.
    ws = await authed(live, "erin")
    big = json.dumps(
        {"id": 3, "op": "profile.set", "args": {"bio": "x" * limits.max_request_bytes}}
    )
    reply = await exchange(ws, big)
    assert reply["id"] == 3 and reply["error"]["code"] == "too_large"
    await still_serving(ws)

    await ws.send("x" * (limits.max_frame_bytes + 1))
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(5 * SECOND):
            await ws.recv()
    assert ws.close_code == 1009  # "message too big": the socket-level limit
    await still_serving(bystander)
    await bystander.close()


async def test_rate_limit_says_when_to_retry(tmp_path: Path) -> None:
    server = await start_server(tmp_path / "s", Limits(ops_per_second=5, ops_burst=5))
    live = LiveServer(server)
    try:
        async with await authed(live, "fred") as ws:
            for i in range(5):
                await ws.send(json.dumps({"id": i, "op": "auth.whoami"}))
            replies = [json.loads(await ws.recv()) for _ in range(5)]
            assert all(r["ok"] for r in replies)
            reply = await exchange(ws, json.dumps({"id": 6, "op": "auth.whoami"}))
            assert reply["id"] == 6 and reply["error"]["code"] == "rate_limited"
            assert 0 < reply["error"]["retry_after"] <= 0.25
            await asyncio.sleep(reply["error"]["retry_after"])
            await still_serving(ws)
    finally:
        await server.stop()


async def test_unauthenticated_bad_frames_do_not_disturb_others(live: LiveServer) -> None:
    """A stream of garbage from one anonymous socket while another user keeps working."""
    good = await authed(live, "gail")
    async with connect(live.url, compression=None) as noisy:
        for frame in ["{", "null", '{"id": 1, "op": "devices.list"}', "\u0000" * 100]:
            reply = await exchange(noisy, frame)
            assert reply["ok"] is False
            await still_serving(good)
    await good.close()
