"""Chat rules without sockets: batch planning, presence debouncing, receipts, membership."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from protocol.errors import RoostError
from server.chat import rules
from server.chat.commit import PendingSend, plan_batch
from server.chat.presence import PresenceTracker
from storage.server.idempotency import StoredResult


def pending(user: int, conversation: int, text: str, client_id: str | None = None) -> PendingSend:
    # plan_batch never touches the future
    return PendingSend(user, f"u{user}", conversation, text, client_id, None, None)  # type: ignore[arg-type]


def test_plan_assigns_gap_free_seqs_per_conversation_in_arrival_order() -> None:
    batch = [pending(1, 10, "a"), pending(2, 20, "b"), pending(1, 10, "c"), pending(3, 10, "x")]
    plan = plan_batch(batch, {}, {10: {1, 2}, 20: {2}}, {10: 4, 20: 0}, now=5)
    assert [(r.conversation_id, r.seq, r.text) for _, r in plan.accepted] == [
        (10, 5, "a"),
        (20, 1, "b"),
        (10, 6, "c"),
    ]
    [(refused, error)] = plan.refused  # user 3 is not a member: no seq is used up
    assert refused.text == "x" and error.code == "not_found"


def test_plan_returns_first_results_for_replays_and_repeats() -> None:
    prior = {(1, "key-aaaaaaaa"): StoredResult("chat.send", b"{}")}
    other = {(1, "key-cccccccc"): StoredResult("profile.set", b"{}")}
    batch = [
        pending(1, 10, "replayed", "key-aaaaaaaa"),
        pending(1, 10, "first", "key-bbbbbbbb"),
        pending(1, 10, "repeat", "key-bbbbbbbb"),
        pending(1, 10, "wrong op", "key-cccccccc"),
    ]
    plan = plan_batch(batch, {**prior, **other}, {10: {1}}, {10: 0}, now=0)
    assert [r.seq for _, r in plan.accepted] == [1]
    assert [i.text for i, _ in plan.replayed] == ["replayed"]
    assert [(d.text, f.text) for d, f in plan.repeats] == [("repeat", "first")]
    assert [(i.text, e.code) for i, e in plan.refused] == [("wrong op", "conflict")]


@dataclass
class FakeTimer:
    at: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[FakeTimer] = []

    def schedule(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for timer in sorted(self.timers, key=lambda t: t.at):
            if timer.at <= self.now and not timer.cancelled:
                timer.cancelled = True
                timer.callback()


def tracker() -> tuple[PresenceTracker, FakeClock, list[tuple[int, bool]]]:
    clock, said = FakeClock(), []
    t = PresenceTracker(
        clock.schedule, lambda u, online: said.append((u, online)), online_delay=3, offline_delay=2
    )
    return t, clock, said


def test_presence_goes_online_only_after_the_delay_and_offline_after_the_last_device() -> None:
    t, clock, said = tracker()
    t.connected(1)
    clock.advance(2.9)
    assert said == [] and not t.is_online(1)
    clock.advance(0.2)
    assert said == [(1, True)] and t.is_online(1)
    t.connected(1)  # a second device
    t.disconnected(1)
    clock.advance(10)
    assert said == [(1, True)]
    t.disconnected(1)  # the last device
    clock.advance(1.9)
    assert said == [(1, True)]
    clock.advance(0.2)
    assert said == [(1, True), (1, False)] and not t.is_online(1)


def test_presence_blips_announce_nothing() -> None:
    t, clock, said = tracker()
    t.connected(1)
    t.disconnected(1)  # gone before the online delay
    clock.advance(10)
    assert said == []
    t.connected(1)
    clock.advance(3)
    t.disconnected(1)
    t.connected(1)  # back within the offline delay
    clock.advance(10)
    assert said == [(1, True)] and t.is_online(1)
    t.disconnected(2)  # never connected: ignored
    assert said == [(1, True)]


def test_receipt_rules() -> None:
    assert rules.receipt_audience({3, 1}, 2) == [1, 2, 3]
    assert rules.readable_seq(10, None, None) == 10
    assert rules.readable_seq(10, None, 99) == 10
    assert rules.readable_seq(10, 4, None) == 4  # never past one's leaving
    assert rules.readable_seq(10, None, 7) == 7


def test_membership_rules() -> None:
    assert rules.invitees(["Bob", "bob", "ANN", "carol"], "ann") == ["bob", "carol"]
    with pytest.raises(RoostError) as err:
        rules.invitees(["ann"], "Ann")
    assert err.value.code == "invalid_args"
    with pytest.raises(RoostError) as err:
        rules.check_removal(created_by=1, caller_id=2, caller="bob", username="carol")
    assert err.value.code == "forbidden"
    with pytest.raises(RoostError) as err:
        rules.check_removal(created_by=1, caller_id=1, caller="ann", username="ANN")
    assert err.value.code == "invalid_args"
    rules.check_removal(created_by=1, caller_id=1, caller="ann", username="bob")
