"""Profiles: the first capability, exercising writes, idempotency keys and live events."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from client.errors import ServerError
from protocol.profiles import GetProfile, Profile, SetProfile
from tests.conftest import LiveServer
from tests.helpers import SECOND


async def test_set_and_get_profile(live: LiveServer) -> None:
    alice = await live.register("alice")
    bob = await live.register("bob")
    a = await live.connect(alice.token)
    b = await live.connect(bob.token)
    updated = await a.call("profile.set", SetProfile(display_name="Alice A.", bio="gardens & bees"))
    assert (updated.display_name, updated.bio) == ("Alice A.", "gardens & bees")
    seen_by_bob = await b.call("profile.get", GetProfile(username="ALICE"))
    assert (seen_by_bob.display_name, seen_by_bob.bio) == ("Alice A.", "gardens & bees")
    # A partial update leaves the other field alone.
    await a.call("profile.set", SetProfile(bio="just bees"))
    assert (await a.call("profile.get")).display_name == "Alice A."
    with pytest.raises(ServerError) as err:
        await b.call("profile.get", GetProfile(username="nobody"))
    assert err.value.code == "not_found"
    await asyncio.gather(a.close(), b.close())


async def test_profile_change_reaches_the_users_other_devices_only(live: LiveServer) -> None:
    laptop = await live.register("carol", device="laptop")
    phone = await live.login("carol", device="phone")
    stranger = await live.register("dan")
    conns = [await live.connect(t) for t in (laptop.token, phone.token, stranger.token)]
    on_laptop, on_phone, on_stranger = conns

    await on_laptop.call("profile.set", SetProfile(bio="new bio"))

    async with asyncio.timeout(5 * SECOND):
        event = await on_phone.events.get()
    assert event.event == "profile.updated"
    assert msgspec.json.decode(event.data, type=Profile).bio == "new bio"
    await on_stranger.call("auth.whoami")  # a round trip: anything sent to them would be here now
    assert on_stranger.events.empty()
    assert on_laptop.events.empty()  # the sender got the reply, not an echo
    await asyncio.gather(*(c.close() for c in conns))


async def test_replayed_write_returns_the_first_result_and_applies_once(live: LiveServer) -> None:
    erin = await live.register("erin")
    conn = await live.connect(erin.token)
    first = await conn.call("profile.set", SetProfile(bio="first", client_id="key-0001-aaaa"))
    await conn.call("profile.set", SetProfile(bio="second", client_id="key-0002-bbbb"))
    replay = await conn.call("profile.set", SetProfile(bio="first", client_id="key-0001-aaaa"))
    assert replay == first  # same answer, same timestamp
    assert (await conn.call("profile.get")).bio == "second"  # the replay did not clobber
    await conn.close()


async def test_idempotency_keys_are_per_user(live: LiveServer) -> None:
    """Another user's key cannot be used to read their result or block their write."""
    fay = await live.register("fay")
    gus = await live.register("gus")
    f = await live.connect(fay.token)
    g = await live.connect(gus.token)
    await f.call("profile.set", SetProfile(bio="fay's bio", client_id="shared-key-123"))
    mine = await g.call("profile.set", SetProfile(bio="gus's bio", client_id="shared-key-123"))
    assert mine.username == "gus" and mine.bio == "gus's bio"
    await asyncio.gather(f.close(), g.close())


async def test_concurrent_writers_all_commit(live: LiveServer) -> None:
    users = [await live.register(f"user{i}") for i in range(8)]
    conns = [await live.connect(u.token) for u in users]
    results = await asyncio.gather(
        *(c.call("profile.set", SetProfile(bio=f"bio of {i}")) for i, c in enumerate(conns))
    )
    assert [r.bio for r in results] == [f"bio of {i}" for i in range(8)]
    for i, c in enumerate(conns):
        assert (await c.call("profile.get")).bio == f"bio of {i}"
    await asyncio.gather(*(c.close() for c in conns))
