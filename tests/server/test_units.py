"""Server logic without sockets: the token bucket and the in-process hub."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from server.hub import BROADCAST_PAUSE, BROADCAST_SLICE, InProcessHub
from server.rate_limits import TokenBucket


def test_token_bucket_allows_a_burst_then_paces() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take()
    assert abs(wait - 0.1) < 1e-9
    now[0] += 0.1
    assert bucket.take() == 0.0
    now[0] += 100  # a long pause refills only up to the burst
    assert [bucket.take() for _ in range(4)][-1] > 0


@dataclass(eq=False)
class FakeSubscriber:
    user_id: int
    device_id: int
    frames: list[bytes] = field(default_factory=list)
    kicked: list[int] = field(default_factory=list)

    def deliver(self, frame: bytes) -> None:
        self.frames.append(frame)

    def kick(self, code: int, reason: str) -> None:
        self.kicked.append(code)


def test_hub_routes_by_user_and_kicks_by_device() -> None:
    hub = InProcessHub()
    a1, a2, b = FakeSubscriber(1, 10), FakeSubscriber(1, 11), FakeSubscriber(2, 20)
    for s in (a1, a2, b):
        hub.attach(s)
    assert hub.publish([1], b"x", skip=a1) == 1
    assert (a1.frames, a2.frames, b.frames) == ([], [b"x"], [])
    assert hub.publish([1, 2], b"y") == 3
    hub.kick_device(11, 4001, "revoked")
    assert a2.kicked == [4001] and not a1.kicked
    hub.detach(a1)
    hub.detach(a2)
    assert not hub.is_online(1) and hub.is_online(2)
    assert hub.connection_count() == 1


async def test_a_broadcast_reaches_everyone_a_slice_per_event_loop_turn() -> None:
    hub = InProcessHub(broadcast_pause=0)
    subscribers = [FakeSubscriber(user_id=i // 10, device_id=i) for i in range(300)]
    for s in subscribers:
        hub.attach(s)
    leaves = subscribers[-1]  # disconnects while the broadcast is under way
    task = asyncio.create_task(hub.broadcast(range(30), b"presence"))
    delivered = [0]
    while not task.done():
        await asyncio.sleep(0)
        delivered.append(sum(len(s.frames) for s in subscribers))
        if delivered[-1] and leaves in hub._by_user.get(leaves.user_id, ()):
            hub.detach(leaves)
    assert await task == 299
    assert max(b - a for a, b in itertools.pairwise(delivered)) <= BROADCAST_SLICE
    assert len(delivered) >= 300 // BROADCAST_SLICE
    assert all(s.frames == [b"presence"] for s in subscribers[:-1]) and leaves.frames == []


async def test_a_broadcast_is_spread_out_in_time() -> None:
    hub = InProcessHub()
    subscribers = [FakeSubscriber(user_id=i, device_id=i) for i in range(3 * BROADCAST_SLICE)]
    for s in subscribers:
        hub.attach(s)
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(hub.broadcast(range(len(subscribers)), b"presence"))
    await asyncio.sleep(BROADCAST_PAUSE / 2)
    assert sum(len(s.frames) for s in subscribers) == BROADCAST_SLICE  # the first slice only
    assert await task == 3 * BROADCAST_SLICE
    assert loop.time() - started >= 2 * BROADCAST_PAUSE  # two pauses between three slices
