"""argon2 slots are shared round-robin between addresses: one address's queue of hashes makes
another address wait for at most one of them per slot."""

from __future__ import annotations

import asyncio

from server.accounts.passwords import FairSlots, Passwords


async def test_a_freed_slot_goes_to_the_next_address_in_turn() -> None:
    slots = FairSlots(1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(key: str) -> None:
        async with slots.turn(key):
            order.append(key)
            await release.wait()

    first = asyncio.create_task(hold("flood"))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(hold("flood")) for _ in range(10)]
    await asyncio.sleep(0)
    queued.append(asyncio.create_task(hold("alice")))
    queued.append(asyncio.create_task(hold("bob")))
    await asyncio.sleep(0)
    assert slots.waiting() == 12
    release.set()
    await asyncio.gather(first, *queued)
    assert order[:4] == ["flood", "flood", "alice", "bob"]
    assert slots.waiting() == 0


async def test_a_cancelled_waiter_gives_up_its_place_and_no_slot_is_lost() -> None:
    slots = FairSlots(2)
    gate = asyncio.Event()

    async def hold(key: str) -> None:
        async with slots.turn(key):
            await gate.wait()

    holders = [asyncio.create_task(hold("a")) for _ in range(2)]
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(hold(k)) for k in "abc"]
    await asyncio.sleep(0)
    waiting[1].cancel()
    await asyncio.sleep(0)
    assert slots.waiting() == 2
    gate.set()
    await asyncio.gather(*holders, waiting[0], waiting[2])
    # both slots are free again: two holders at once get in without waiting
    async with slots.turn("x"), slots.turn("y"):
        assert slots.waiting() == 0


async def test_passwords_verify_with_the_decoy_for_unknown_users() -> None:
    from argon2 import PasswordHasher

    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    passwords = Passwords(2, fast)
    stored = await passwords.hash("a good password", requester="10.0.0.1")
    assert await passwords.verify(stored, "a good password", requester="10.0.0.1")
    assert not await passwords.verify(stored, "wrong", requester="10.0.0.2")
    assert not await passwords.verify(None, "a good password")
