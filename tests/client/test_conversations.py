"""The conversation list model, without a server or Textual: order by latest activity, unread
counts, the open conversation, presence, queued sends."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from client.conversations import Arrival, ConversationList, needs_read, target_of
from protocol import chat as wire

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def direct(cid: str, name: str, *, last: int = 1, unread: int = 0) -> wire.Conversation:
    return wire.Conversation(cid, "direct", name, ["me", name], last, last - unread, unread)


def group(cid: str, name: str, *, last: int = 1) -> wire.Conversation:
    return wire.Conversation(cid, "group", name, ["me", "bob", "carol"], last, last, 0)


def message(cid: str, seq: int, sender: str, kind: str = "text") -> wire.Message:
    return wire.Message(cid, seq, sender, "hi", NOW, kind=kind)


def model() -> ConversationList:
    m = ConversationList(me="me")
    m.replace([direct("1", "bob"), group("2", "hive"), direct("3", "carol")])
    return m


def order(m: ConversationList) -> list[str]:
    return [c.id for c in m.conversations]


def test_a_message_moves_its_conversation_to_the_top_and_counts_unread() -> None:
    m = model()
    assert m.arrived(message("3", 2, "carol"), showing=False) is Arrival.MOVED
    assert order(m) == ["3", "1", "2"]
    carol = m.find("3")
    assert carol is not None and (carol.unread, carol.last_seq) == (1, 2)
    assert m.unread == 1


def test_ones_own_message_and_the_one_being_read_are_not_unread() -> None:
    m = model()
    m.arrived(message("2", 2, "me"), showing=False)
    m.arrived(message("1", 2, "bob"), showing=True)
    assert m.unread == 0
    assert order(m) == ["1", "2", "3"]


def test_a_message_of_an_unknown_conversation_or_a_member_change_asks_for_the_list() -> None:
    m = model()
    assert m.arrived(message("9", 1, "dave"), showing=False) is Arrival.UNKNOWN
    assert m.arrived(message("2", 2, "bob", kind="added"), showing=False) is Arrival.UNKNOWN
    assert order(m) == ["1", "2", "3"]  # unchanged until the server's list comes


def test_reading_clears_the_count() -> None:
    m = ConversationList(me="me")
    m.replace([direct("1", "bob", last=5, unread=3)])
    m.read("1")
    bob = m.find("1")
    assert bob is not None and (bob.unread, bob.read_seq) == (0, 5)


def test_a_direct_chat_opened_before_it_exists_gets_its_id_from_its_first_message() -> None:
    m = model()
    m.open("@dave")
    assert m.open_id is None
    m.arrived(message("9", 1, "dave"), showing=False)
    assert m.open_id == "9"


def test_a_direct_chat_opened_before_it_exists_gets_its_id_from_the_list() -> None:
    m = model()
    m.open("@Dave")
    m.replace([direct("9", "dave"), *m.conversations])
    assert m.open_id == "9" and m.opened is not None and m.opened.name == "dave"


def test_ones_own_acked_send_moves_the_conversation_up() -> None:
    m = model()
    m.open("@carol", "3")
    assert m.sent(message("3", 7, "me"), "@carol") is Arrival.MOVED
    assert order(m) == ["3", "1", "2"]
    assert m.sent(message("8", 1, "me"), "@erin") is Arrival.UNKNOWN  # a new direct chat


def test_queued_sends_are_kept_per_target_until_acked() -> None:
    m = model()
    m.queue("c1", "@bob")
    m.queue("c2", "@Bob")
    m.queue("c3", "@carol")
    assert m.pending_for("@bob") == ["c1", "c2"]
    assert m.acked("c1") == "@bob"
    assert m.acked("c1") is None  # once
    assert m.pending_for("@bob") == ["c2"]


def test_presence_is_forgotten_offline() -> None:
    m = model()
    m.set_presence("bob", True)
    assert m.online == {"bob": True}
    m.forget_presence()
    assert m.online == {}


def test_targets() -> None:
    assert target_of(direct("1", "bob")) == "@bob"
    assert target_of(group("2", "hive")) == "2"


@given(st.lists(st.tuples(st.sampled_from(["1", "2", "3"]), st.booleans()), max_size=30))
def test_every_conversation_stays_listed_once_and_the_latest_is_on_top(
    arrivals: list[tuple[str, bool]],
) -> None:
    m = model()
    seqs = {"1": 1, "2": 1, "3": 1}
    for cid, mine in arrivals:
        seqs[cid] += 1
        m.arrived(message(cid, seqs[cid], "me" if mine else "bob"), showing=False)
    assert sorted(order(m)) == ["1", "2", "3"]
    if arrivals:
        assert order(m)[0] == arrivals[-1][0]
    expected_unread = sum(1 for _, mine in arrivals if not mine)
    assert m.unread == expected_unread


def test_a_message_read_while_open_still_needs_a_receipt_sent() -> None:
    m = model()
    m.open("@bob", "1")
    assert not needs_read(m.conversations[0])
    m.arrived(message("1", 2, "bob"), showing=True)
    opened = m.find("1")
    assert opened is not None and opened.unread == 0  # not counted here...
    assert needs_read(opened)  # ...but the server must still hear it was read
    m.read("1")
    done = m.find("1")
    assert done is not None and not needs_read(done)
