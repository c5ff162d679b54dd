"""`client.chat`: its state lives on the object (no module-level registry), receipts merge
without losing one to another, and one's own messages reach the store once acked."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Callable

import client.chat as chat_module
from client.core import RoostClient
from protocol import chat as wire
from tests.conftest import LiveServer
from tests.helpers import PASSWORD


def receipt(user: str, n: int) -> wire.Receipt:
    return wire.Receipt("c1", user, delivered_seq=n, read_seq=n, id=str(n))


async def test_receipts_arriving_at_once_are_all_kept(
    client_home: Callable[[str], RoostClient],
) -> None:
    async with client_home("alice") as client:
        # A live receipt and a catch-up page at the same moment, for many members.
        await asyncio.gather(
            *(client.chat.keep_receipts([receipt(f"member{i}", i + 1)]) for i in range(20))
        )
        kept = {r.user: r.read_seq for r in await client.chat.receipts("c1")}
        assert kept == {f"member{i}": i + 1 for i in range(20)}
        # Receipts only move forward.
        await client.chat.keep_receipts([receipt("member3", 1)])
        kept = {r.user: r.read_seq for r in await client.chat.receipts("c1")}
        assert kept["member3"] == 4


async def test_a_closed_client_is_not_kept_alive_by_chat_state(
    client_home: Callable[[str], RoostClient],
) -> None:
    async with client_home("alice") as client:
        await client.chat.keep_receipts([receipt("bob", 1)])
    gone = weakref.ref(client)
    del client
    gc.collect()
    assert gone() is None
    assert not [v for v in vars(chat_module).values() if isinstance(v, weakref.WeakKeyDictionary)]


async def test_ones_own_message_is_stored_once_acked(
    live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    async with client_home("bob") as bob:
        await bob.register(live.url, "bob", PASSWORD, "phone")
    async with client_home("alice") as alice:
        await alice.register(live.url, "alice", PASSWORD, "laptop")
        sent = await alice.chat.send("@bob", "the hive is calm")
        assert sent.result is not None and not sent.queued
        cached = await alice.chat.cached_messages("@bob", limit=5)
        assert [(m.seq, m.text) for m in cached] == [(1, "the hive is calm")]
        group = await alice.chat.create_group("keepers", ["bob"])
        assert group.result is not None
        await alice.chat.send(group.result.id, "welcome")
        in_group = await alice.chat.cached_messages(group.result.id, limit=5)
        assert [m.text for m in in_group if m.kind == "text"] == ["welcome"]
