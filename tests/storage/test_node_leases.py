"""Snowflake node ids leased from the database: never the same id to two live holders."""

from __future__ import annotations

import asyncio

import pytest

from protocol.ids import MAX_NODE, SnowflakeGenerator
from storage.database import Database
from storage.server.node_leases import NodeIdsExhausted, NodeLeases

TTL = 60_000


async def test_holders_get_distinct_ids_and_a_released_one_is_taken_again(
    server_db: Database,
) -> None:
    leases = NodeLeases(server_db)
    first = await leases.take("a", 1_000, TTL)
    second = await leases.take("b", 1_000, TTL)
    assert (first, second) == (0, 1)
    await leases.release(first, "a")
    assert await leases.take("c", 2_000, TTL) == 0
    assert [(n, h) for n, h, _ in await leases.held()] == [(0, "c"), (1, "b")]


async def test_holders_racing_for_a_lease_never_share_an_id(server_db: Database) -> None:
    leases = NodeLeases(server_db)
    ids = await asyncio.gather(*(leases.take(f"p{i}", 1_000, TTL) for i in range(12)))
    assert sorted(ids) == list(range(12))
    # ids minted by different holders in the same millisecond differ
    minted = {SnowflakeGenerator(n, clock=lambda: 1_767_225_600_000).next() for n in ids}
    assert len(minted) == 12


async def test_an_expired_lease_is_free_and_its_old_holder_cannot_renew_it(
    server_db: Database,
) -> None:
    leases = NodeLeases(server_db)
    node = await leases.take("dead", 1_000, TTL)
    assert await leases.renew(node, "dead", 2_000, TTL)  # still its own
    assert await leases.take("next", 2_000 + TTL, TTL) == node  # expired: taken over
    assert not await leases.renew(node, "dead", 2_000 + TTL + 1, TTL)
    assert await leases.renew(node, "next", 2_000 + TTL + 1, TTL)


async def test_when_every_id_is_held_a_new_holder_is_refused(server_db: Database) -> None:
    async with server_db.write() as tx:
        await tx.executemany(
            "INSERT INTO node_leases (node_id, holder, expires_at) VALUES (?, ?, ?)",
            [(n, f"h{n}", 10**15) for n in range(MAX_NODE + 1)],
        )
    with pytest.raises(NodeIdsExhausted, match="all 1024 node ids are leased"):
        await NodeLeases(server_db).take("late", 1_000, TTL)
