"""Helpers for social tests: users with live connections on a real server."""

from __future__ import annotations

from typing import Any

from client.connection import Connection
from protocol import social as wire
from tests.conftest import LiveServer


async def users(live: LiveServer, *names: str) -> list[Connection]:
    out = []
    for name in names:
        session = await live.register(name)
        out.append(await live.connect(session.token))
    return out


async def post(conn: Connection, text: str, reply_to: str | None = None) -> wire.Post:
    result: wire.Post = await conn.call(
        "post.create", wire.CreatePost(text=text, reply_to=reply_to)
    )
    return result


async def follow(conn: Connection, username: str) -> Any:
    return await conn.call("follow.add", wire.UserRef(username=username))


async def home(conn: Connection, limit: int = 20, before: str | None = None) -> wire.Page:
    page: wire.Page = await conn.call(
        "timeline.home", wire.HomeTimeline(limit=limit, before=before)
    )
    return page


async def home_texts(conn: Connection, limit: int = 100) -> list[str]:
    return [p.text for p in (await home(conn, limit)).posts]


async def close(*conns: Connection) -> None:
    for c in conns:
        await c.close()
