"""The plain logic under the bus between server processes: its message format, who is
connected elsewhere, and presence settled across processes (no sockets, no Redis)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import RoostError
from server import bus_messages as bus
from server.accounts.failed_attempts import AuthLimits
from server.chat.presence import PresenceTracker
from server.cluster_hub import Elsewhere
from server.rate_limits import SharedRateLimits
from server.redis_bus import check_url, describe
from tests.server.test_chat_units import FakeClock

ids = st.integers(min_value=0, max_value=(1 << 63) - 1)
messages = st.one_of(
    st.builds(bus.Deliver, ids, st.lists(ids), st.binary()),
    st.builds(bus.Broadcast, ids, st.lists(ids), st.binary()),
    st.builds(bus.KickDevice, ids, ids, st.integers(1000, 4999), st.text()),
    st.builds(bus.KickUser, ids, ids, st.integers(1000, 4999), st.text()),
    st.builds(bus.SetRole, ids, ids, st.sampled_from(["admin", "member"])),
    st.builds(bus.Here, ids, ids),
    st.builds(bus.Gone, ids, ids),
    st.builds(bus.Roster, ids, st.lists(ids), st.booleans()),
    st.builds(bus.Alive, ids),
    st.builds(bus.Leaving, ids),
    st.builds(bus.AuthCount, ids, st.sampled_from(["failed", "succeeded"]), st.text(), st.text()),
)


@given(messages)
def test_every_event_message_decodes_to_itself(message: bus.Message) -> None:
    assert bus.decode_event(bus.encode(message)) == message


@given(ids, st.builds(bus.Forget, ids, st.lists(ids), st.lists(ids), st.booleans(), st.lists(ids)))
def test_a_cache_message_carries_its_epoch(epoch: int, forget: bus.Forget) -> None:
    assert bus.decode_forget(str(epoch).encode() + b" " + bus.encode(forget)) == (epoch, forget)


@given(st.binary())
def test_anything_else_on_the_bus_is_refused_not_misread(data: bytes) -> None:
    for decode in (bus.decode_event, bus.decode_forget):
        try:
            decode(data)
        except (ValueError, msgspec.DecodeError):
            continue


def test_a_cache_message_without_an_epoch_is_refused() -> None:
    with pytest.raises(ValueError, match="epoch"):
        bus.decode_forget(bus.encode(bus.Forget(1, posts=[2])))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_elsewhere_knows_who_is_on_which_process_until_it_leaves_or_goes_silent() -> None:
    clock = Clock()
    seen = Elsewhere(clock)
    seen.here(2, 10)
    seen.here(3, 10)
    seen.here(3, 11)
    assert seen.has(10) and seen.has(11) and seen.nodes() == [2, 3]
    seen.gone(2, 10)
    assert seen.has(10)  # still on 3
    assert seen.roster(3, [11]) == {10}  # 3's roster: 10 left without a Gone we heard
    assert not seen.has(10) and seen.has(11)
    clock.now = 20
    seen.heard(2)
    assert seen.silent(15) == [3]
    assert seen.forget_node(3) == {11}
    assert not seen.has(11) and seen.nodes() == [2]
    seen.refresh()
    assert seen.silent(15) == []


def shared_tracker(
    elsewhere: set[int],
) -> tuple[PresenceTracker, FakeClock, list[tuple[int, bool]]]:
    clock, said = FakeClock(), []
    t = PresenceTracker(
        clock.schedule,
        lambda u, online: said.append((u, online)),
        online_delay=3,
        offline_delay=2,
        elsewhere=elsewhere.__contains__,
    )
    return t, clock, said


def test_across_processes_a_user_stays_online_while_connected_to_another_one() -> None:
    on_other_process: set[int] = set()
    t, clock, said = shared_tracker(on_other_process)
    t.connected(1)
    clock.advance(3.1)
    assert said == [(1, True)]
    on_other_process.add(1)  # a second device, on another process
    t.disconnected(1)
    clock.advance(10)
    # every settle says what it found; the shared flag in Redis drops the repeat
    assert said == [(1, True), (1, True)]
    assert t.is_online(1) is False  # nothing of theirs is here now


def test_a_user_whose_process_died_is_settled_offline_by_the_survivors() -> None:
    on_other_process = {1}
    t, clock, said = shared_tracker(on_other_process)
    on_other_process.clear()  # that process went silent and was forgotten
    t.left_elsewhere(1)
    clock.advance(1.9)
    assert said == []
    clock.advance(0.2)
    assert said == [(1, False)]


def test_a_user_back_here_before_the_offline_delay_is_not_announced_offline() -> None:
    t, clock, said = shared_tracker(set())
    t.left_elsewhere(1)
    t.connected(1)
    clock.advance(5)
    assert said == [(1, True)]


class SharedBucket:
    """The Redis side of SharedRateLimits, as plain logic: a bucket of whole tokens."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens
        self.asked = 0
        self.away = False

    async def take(self, user_id: int, want: int) -> tuple[int, float] | None:
        self.asked += 1
        if self.away:
            return None
        taken = min(want, self.tokens)
        self.tokens -= taken
        return (taken, 0.0) if taken else (0, 0.5)


async def test_processes_sharing_a_bucket_get_its_tokens_once_and_ask_redis_once_per_lease() -> (
    None
):
    clock = Clock()
    bucket = SharedBucket(20)
    processes = [SharedRateLimits(bucket.take, lease=4, clock=clock) for _ in range(3)]
    allowed = 0
    for _ in range(10):  # the same user, on three processes at once
        for limits in processes:
            allowed += await limits.wait_for(7) == 0.0
    assert allowed == 20  # not 3 x 20
    assert bucket.asked == 20 // 4 + 10  # one round trip per lease of 4, and one per refusal
    assert await processes[0].wait_for(7) == 0.5  # what Redis says to wait


async def test_tokens_held_too_long_are_dropped_and_redis_away_means_ask_the_connection() -> None:
    clock = Clock()
    bucket = SharedBucket(100)
    limits = SharedRateLimits(bucket.take, lease=8, keep=1.0, clock=clock)
    assert await limits.wait_for(1) == 0.0
    clock.now = 5
    assert limits.sweep() == 1
    bucket.away = True
    assert await limits.wait_for(1) is None


def test_failed_logins_on_one_process_count_on_every_other() -> None:
    clock = Clock()
    a = AuthLimits(login_failures=3, registrations_per_hour=2, clock=clock)
    b = AuthLimits(login_failures=3, registrations_per_hour=2, clock=clock)
    a.share(b.apply)  # what the bus does, without the bus
    b.share(a.apply)
    for _ in range(3):  # a guesser spreading tries over two processes
        a.login_failed("203.0.113.9", "alice")
    with pytest.raises(RoostError, match="too many failed logins"):
        b.check_login("203.0.113.9", "alice")
    b.login_succeeded("203.0.113.9", "alice")  # the owner, through the other process
    a.check_login("203.0.113.9", "alice")
    a.start_registration("198.51.100.7")
    b.start_registration("198.51.100.7")
    with pytest.raises(RoostError, match="too many accounts"):
        a.start_registration("198.51.100.7")
    b.registration_refused("198.51.100.7")  # that one failed: taken back everywhere
    a.start_registration("198.51.100.7")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:6379", "write redis://HOST:PORT/DB"),
        ("127.0.0.1:6379", "write redis://HOST:PORT/DB"),
        ("redis://127.0.0.1:6379/zero", "the database is a number"),
    ],
)
def test_a_bus_url_that_is_not_redis_is_refused_in_one_line(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        check_url(url)
    assert "\n" not in str(refused.value)


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20))
def test_a_bus_url_is_shown_without_its_password(password: str) -> None:
    url = f"redis://roost:{password}@cache.internal:6379/0"
    check_url(url)
    assert describe(url) == "redis://cache.internal:6379/0"
