"""Roles: the first account on a new server administers it; later ones are members."""

from __future__ import annotations

import asyncio

from tests.conftest import LiveServer


async def test_the_first_account_is_the_admin_and_the_next_ones_members(
    live: LiveServer,
) -> None:
    first = await live.register("founder")
    others = await asyncio.gather(*(live.register(f"member{i}") for i in range(3)))
    roles = {}
    for session in (first, *others):
        conn = await live.connect(session.token)
        me = await conn.call("auth.whoami")
        roles[me.username] = me.role
        await conn.close()
    assert roles == {"founder": "admin", "member0": "member", "member1": "member",
                     "member2": "member"}  # fmt: skip
