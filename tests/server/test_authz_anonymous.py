"""Generated from the op table: without a logged-in device, every op but register, login and
redeeming a password reset code is refused with `unauthenticated` and no data, and so are
block frames. A new op cannot skip this check: it is enumerated here automatically."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from protocol.ops import OPS
from tests.conftest import LiveServer

OPEN_OPS = {"auth.register", "auth.login", "auth.reset_password"}


def test_only_register_login_and_reset_are_open() -> None:
    assert {name for name, spec in OPS.items() if not spec.needs_auth} == OPEN_OPS


async def test_every_other_op_refuses_an_anonymous_connection(live: LiveServer) -> None:
    await live.register("owner")  # there is data a leak could show
    async with connect(live.url, compression=None) as ws:
        for op in sorted(set(OPS) - OPEN_OPS):
            for args in ({}, {"username": "owner", "client_id": "abcdefgh1234"}):
                await ws.send(json.dumps({"id": 1, "op": op, "args": args}))
                reply = json.loads(await ws.recv())
                error = reply.get("error") or {}
                expected = {"code": "unauthenticated", "message": error.get("message")}
                assert reply == {"id": 1, "ok": False, "error": expected}, op


async def test_block_frames_refuse_an_anonymous_connection(live: LiveServer) -> None:
    async with connect(live.url, compression=None) as ws:
        await ws.send(b"RGET" + (7).to_bytes(8, "big") + bytes(32))
        reply = json.loads(await ws.recv())
        assert reply["ok"] is False and reply["error"]["code"] == "unauthenticated"
