"""Blocks and mutes through the real server: what a block refuses (messages, follows, groups),
what it and a mute hide (notifications, home timelines fanned out and merged, threads,
search, suggestions), that both apply on the next read after the ack, that the blocked or
muted person is told nothing, and that undoing either brings things back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from client.connection import Connection
from client.errors import ServerError
from protocol import blocking
from protocol import chat as chat_wire
from protocol import social as wire
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.server.chat_fixtures import chat_live, message, next_event, quiet
from tests.server.social_helpers import close, follow, home, home_texts, post, users

__all__ = ["chat_live"]


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server whose celebrity threshold is 2 followers: a third follower makes a star."""
    config = ServerConfig(
        data_dir=tmp_path / "server", port=0, celebrity_threshold=2, registration="open"
    )
    server = RoostServer(config)
    await server.start()
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def act(conn: Connection, op: str, username: str) -> wire.UserProfile:
    result: wire.UserProfile = await conn.call(op, wire.UserRef(username=username))
    return result


async def profile_of(conn: Connection, username: str) -> wire.UserProfile:
    result: wire.UserProfile = await conn.call("user.profile", wire.GetUser(username=username))
    return result


async def refused(conn: Connection, op: str, args: msgspec.Struct) -> ServerError:
    with pytest.raises(ServerError) as caught:
        await conn.call(op, args)
    return caught.value


async def send(conn: Connection, to: str, text: str) -> chat_wire.Message:
    result: chat_wire.Message = await conn.call(
        "chat.send", chat_wire.SendMessage(to=to, text=text)
    )
    return result


async def history(conn: Connection, to: str) -> list[str]:
    page: chat_wire.MessagePage = await conn.call("chat.history", chat_wire.History(to=to))
    return [m.text for m in page.messages]


async def notes(conn: Connection) -> wire.Notifications:
    result: wire.Notifications = await conn.call("notifications.list", wire.ListNotifications())
    return result


async def listed(conn: Connection, op: str) -> list[str]:
    result: blocking.ListedUsers = await conn.call(op, blocking.ListHidden())
    return [u.username for u in result.users]


# ----------------------------------------------------------------------------- messages
async def test_a_blocked_person_cannot_message_but_the_conversation_stays_readable(
    live: LiveServer,
) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    first = await send(bob, "@alice", "hi alice")
    dm = first.conversation
    profile = await act(alice, "block.add", "bob")
    assert (profile.username, profile.blocked, profile.muted) == ("bob", True, False)

    by_name = await refused(bob, "chat.send", chat_wire.SendMessage(to="@alice", text="hey?"))
    by_id = await refused(bob, "chat.send", chat_wire.SendMessage(to=dm, text="hey?"))
    for error in (by_name, by_id):
        assert (error.code, error.message) == ("forbidden", "you cannot message @alice")
    own = await refused(alice, "chat.send", chat_wire.SendMessage(to="@bob", text="psst"))
    assert own.message == "you have blocked @bob: unblock them to message them"
    assert await history(alice, dm) == ["hi alice"]  # readable to both, nothing new in it
    assert await history(bob, dm) == ["hi alice"]

    # no conversation is started by a refused first message either
    await act(carol, "block.add", "bob")
    await refused(bob, "chat.send", chat_wire.SendMessage(to="@carol", text="hello?"))
    convs: chat_wire.ConversationList = await carol.call("chat.list")
    assert convs.conversations == []

    await act(alice, "block.remove", "bob")
    await send(bob, dm, "sorry")
    assert await history(alice, dm) == ["hi alice", "sorry"]
    await close(alice, bob, carol)


async def test_groups_both_are_in_carry_on_but_neither_adds_the_other(live: LiveServer) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    group: chat_wire.Conversation = await carol.call(
        "chat.group.create", chat_wire.CreateGroup(name="club", members=["alice", "bob"])
    )
    await act(alice, "block.add", "bob")
    await quiet(alice, "chat.message")  # the group's "created" line
    await send(bob, group.id, "hello club")
    got = message(await next_event(alice, "chat.message"))
    assert (got.sender, got.text) == ("bob", "hello club")  # as in Element and Signal

    refusal = await refused(
        bob, "chat.group.create", chat_wire.CreateGroup(name="trap", members=["alice", "carol"])
    )
    assert (refusal.code, refusal.message) == ("forbidden", "you cannot add @alice to a group")
    mine: chat_wire.Conversation = await bob.call(
        "chat.group.create", chat_wire.CreateGroup(name="mine", members=["carol"])
    )
    add = await refused(
        bob, "chat.group.add", chat_wire.GroupMember(conversation=mine.id, username="alice")
    )
    assert add.code == "forbidden"
    own = await refused(
        alice, "chat.group.create", chat_wire.CreateGroup(name="x", members=["bob"])
    )
    assert "you have blocked @bob" in own.message
    names = [c.name for c in (await alice.call("chat.list")).conversations]
    assert names == ["club"]
    await close(alice, bob, carol)


async def test_mute_hides_nothing_of_messages(live: LiveServer) -> None:
    alice, bob = await users(live, "alice", "bob")
    await act(alice, "mute.add", "bob")
    await send(bob, "@alice", "still here")
    got = message(await next_event(alice, "chat.message"))
    assert got.text == "still here"
    await send(alice, "@bob", "and I can answer")
    assert await history(bob, "@alice") == ["still here", "and I can answer"]
    await close(alice, bob)


async def test_typing_does_not_pass_a_block(live: LiveServer) -> None:
    alice, bob = await users(live, "alice", "bob")
    dm = (await send(bob, "@alice", "hi")).conversation
    await act(alice, "block.add", "bob")
    await quiet(alice, "chat.typing")
    await bob.call("chat.typing", chat_wire.SetTyping(conversation=dm, typing=True))
    assert await quiet(alice, "chat.typing") == []
    await close(alice, bob)


# ----------------------------------------------------------------------------- follows
async def test_blocking_ends_follows_both_ways_and_refuses_new_ones(live: LiveServer) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    await follow(alice, "bob")
    await follow(bob, "alice")
    await follow(alice, "carol")
    await follow(carol, "bob")  # bob: a friend of a friend for alice ...
    await act(alice, "follow.remove", "bob")
    suggestions: wire.Suggestions = await alice.call("suggest.follows", wire.Suggest())
    assert [s.username for s in suggestions.users] == ["bob"]
    await follow(alice, "bob")

    profile = await act(alice, "block.add", "bob")
    assert (profile.you_follow, profile.follows_you, profile.followers) == (False, False, 1)
    mine: wire.UserProfile = await alice.call("user.profile", wire.GetUser())
    assert (mine.followers, mine.following) == (0, 1)
    error = await refused(bob, "follow.add", wire.UserRef(username="alice"))
    assert (error.code, error.message) == ("forbidden", "you cannot follow @alice")
    own = await refused(alice, "follow.add", wire.UserRef(username="bob"))
    assert own.message == "you have blocked @bob: unblock them to follow them"
    suggestions = await alice.call("suggest.follows", wire.Suggest())
    assert suggestions.users == []  # ... no longer suggested

    await act(alice, "block.remove", "bob")
    assert (await follow(bob, "alice")).followers == 1  # a follow that ended does not return
    assert (await profile_of(alice, "bob")).you_follow is False
    await close(alice, bob, carol)


# ----------------------------------------------------------------------------- notifications
async def test_blocked_and_muted_people_do_not_reach_notifications(live: LiveServer) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    mine = await post(alice, "my post")
    await post(bob, "before the block, @alice")
    assert [n.actor for n in (await notes(alice)).notifications] == ["bob"]
    await act(alice, "block.add", "bob")
    await act(alice, "mute.add", "carol")
    assert (await notes(alice)).unread == 0  # the old one is hidden too
    await quiet(alice, "notification.new")

    await post(bob, "hey @alice", reply_to=mine.id)
    await post(bob, "@alice look")
    await bob.call("post.like", wire.PostRef(post_id=mine.id))
    await bob.call("post.repost", wire.PostRef(post_id=mine.id))
    await post(carol, "@alice muted me")
    await carol.call("post.like", wire.PostRef(post_id=mine.id))
    await follow(carol, "alice")
    assert await quiet(alice, "notification.new") == []
    shown = await notes(alice)
    assert (shown.notifications, shown.unread) == ([], 0)

    await act(alice, "block.remove", "bob")
    await act(alice, "mute.remove", "carol")
    back = await notes(alice)
    # made during the block or mute: never stored; made before it: shown again
    assert [(n.actor, n.kind) for n in back.notifications] == [("bob", "mention")]
    await post(bob, "after, @alice")
    assert [n.actor for n in (await notes(alice)).notifications] == ["bob", "bob"]
    await close(alice, bob, carol)


# ----------------------------------------------------------------------------- timelines
async def test_block_and_mute_apply_to_fanned_out_and_merged_posts_at_once(
    small: LiveServer,
) -> None:
    alice, bob, carol, star, f1, f2 = await users(
        small, "alice", "bob", "carol", "star", "fan1", "fan2"
    )
    for fan in (alice, f1, f2):
        await follow(fan, "star")  # 3 followers > 2: star's posts are merged at read time
    await follow(alice, "bob")
    await follow(alice, "carol")
    starred = await post(star, "from the star")
    bobs = await post(bob, "from bob")
    await post(carol, "from carol")
    await carol.call("post.repost", wire.PostRef(post_id=bobs.id))
    await carol.call("post.repost", wire.PostRef(post_id=starred.id))
    everything = await home_texts(alice)  # also fills the hot head of alice's timeline
    assert everything == ["", "", "from carol", "from bob", "from the star"]

    await act(alice, "mute.add", "star")
    await act(alice, "mute.add", "bob")
    page = await home(alice)
    assert [(p.author, p.text) for p in page.posts] == [("carol", "from carol")]
    assert (await profile_of(alice, "bob")).you_follow is True  # a mute changes no follow
    # a muted author's own page still shows them: the reader went to look
    own: wire.Page = await alice.call("timeline.user", wire.UserTimeline(username="bob"))
    assert [p.text for p in own.posts] == ["from bob"]

    await act(alice, "mute.remove", "star")
    await act(alice, "mute.remove", "bob")
    assert await home_texts(alice) == everything
    await act(alice, "block.add", "star")
    await act(alice, "block.add", "bob")
    assert await home_texts(alice) == ["from carol"]
    blocked: wire.Page = await alice.call("timeline.user", wire.UserTimeline(username="bob"))
    assert blocked.posts == []
    await act(alice, "block.remove", "star")
    await act(alice, "block.remove", "bob")
    assert await home_texts(alice) == ["", "", "from carol"]  # the block ended the follows
    await close(alice, bob, carol, star, f1, f2)


async def test_a_page_of_muted_posts_goes_on_to_older_ones(live: LiveServer) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    await follow(alice, "bob")
    await follow(alice, "carol")
    await post(carol, "older, from carol")
    for n in range(80):  # more than a page reads in all its rounds
        await post(bob, f"bob {n}")
    await act(alice, "mute.add", "bob")
    page = await home(alice, limit=5)
    seen = [p.text for p in page.posts]
    while page.next_before is not None and not seen:
        page = await home(alice, limit=5, before=page.next_before)
        seen += [p.text for p in page.posts]
    assert seen == ["older, from carol"]
    await close(alice, bob, carol)


async def test_threads_and_search_hide_blocked_and_muted_people(live: LiveServer) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    root = await post(alice, "what about gardens")
    await post(bob, "gardens are dull", reply_to=root.id)
    await post(carol, "gardens are lovely", reply_to=root.id)
    bobs = await post(bob, "my gardens")

    async def thread_texts() -> list[str]:
        found: wire.Thread = await alice.call("post.thread", wire.GetThread(post_id=root.id))
        return [r.text for r in found.replies]

    async def search_authors() -> list[str]:
        found: wire.SearchResult = await alice.call("search.query", wire.Search(query="gardens"))
        return sorted({p.author for p in found.posts})

    assert sorted(await thread_texts()) == ["gardens are dull", "gardens are lovely"]
    await act(alice, "block.add", "bob")
    await act(alice, "mute.add", "carol")
    assert await thread_texts() == []
    assert await search_authors() == ["alice"]
    error = await refused(alice, "post.thread", wire.GetThread(post_id=bobs.id))
    assert (error.code, error.message) == (
        "not_found",
        f"post {bobs.id} is by @bob, whom you blocked",
    )
    await act(alice, "block.remove", "bob")
    await act(alice, "mute.remove", "carol")
    assert await search_authors() == ["alice", "bob", "carol"]
    await close(alice, bob, carol)


async def test_a_muted_author_is_not_pushed_live(live: LiveServer) -> None:
    alice, bob = await users(live, "alice", "bob")
    await follow(alice, "bob")
    await act(alice, "mute.add", "bob")
    await quiet(alice, "post.created")
    await post(bob, "you will not see this")
    assert await quiet(alice, "post.created") == []
    await act(alice, "mute.remove", "bob")
    await post(bob, "now you do")
    assert len(await quiet(alice, "post.created")) == 1
    await close(alice, bob)


# ----------------------------------------------------------------------------- privacy
async def test_the_blocked_person_is_told_nothing(live: LiveServer) -> None:
    alice, bob = await users(live, "alice", "bob")
    mine = await post(alice, "hello world")
    await act(alice, "block.add", "bob")
    await act(alice, "mute.add", "bob")
    await bob.call("auth.whoami")  # after any event those ops caused
    assert bob.events.empty()  # no event of any kind
    seen = await profile_of(bob, "alice")
    assert (seen.blocked, seen.muted) == (False, False)  # only the caller's own lists show
    assert await listed(bob, "block.list") == []
    assert await listed(bob, "mute.list") == []
    assert await listed(alice, "block.list") == ["bob"]
    assert await listed(alice, "mute.list") == ["bob"]
    # alice's posts stay as public to bob as to anyone, and he may still reply (unseen by her)
    theirs: wire.Page = await bob.call("timeline.user", wire.UserTimeline(username="alice"))
    assert [p.text for p in theirs.posts] == ["hello world"]
    await post(bob, "a reply", reply_to=mine.id)
    for error in (
        await refused(bob, "follow.add", wire.UserRef(username="alice")),
        await refused(bob, "chat.send", chat_wire.SendMessage(to="@alice", text="hi")),
    ):
        assert "block" not in error.message and "mute" not in error.message
    await close(alice, bob)


async def test_lists_take_only_real_other_people(live: LiveServer) -> None:
    alice, bob = await users(live, "alice", "bob")
    nobody = await refused(alice, "block.add", wire.UserRef(username="nobody"))
    assert (nobody.code, nobody.message) == ("not_found", "no user 'nobody'")
    me = await refused(alice, "mute.add", wire.UserRef(username="alice"))
    assert (me.code, me.message) == ("invalid_args", "you cannot mute yourself")
    await act(alice, "block.add", "BOB")
    again = await act(alice, "block.add", "bob")  # blocking twice changes nothing
    assert again.blocked
    assert await listed(alice, "block.list") == ["bob"]
    assert (await act(alice, "block.remove", "bob")).blocked is False
    assert (await act(alice, "block.remove", "bob")).blocked is False
    assert await listed(alice, "block.list") == []
    await close(alice, bob)


async def test_a_block_hides_presence_both_ways_without_leaving_a_gap(
    chat_live: LiveServer,
) -> None:
    """In a group both are in, each stays in the other's presence list but always offline,
    and no presence.changed passes between them; carol still sees both."""
    alice_s, bob_s, carol_s = [await chat_live.register(n) for n in ("alice", "bob", "carol")]
    alice = await chat_live.connect(alice_s.token)
    carol = await chat_live.connect(carol_s.token)
    await carol.call(
        "chat.group.create", chat_wire.CreateGroup(name="club", members=["alice", "bob"])
    )
    await act(alice, "block.add", "bob")
    await quiet(alice, "presence.changed")
    bob = await chat_live.connect(bob_s.token)
    while b'"bob"' not in bytes((await next_event(carol, "presence.changed")).data or b""):
        pass  # bob came online for carol ...
    about = [bytes(e.data or b"") for e in await quiet(alice, "presence.changed")]
    assert not [e for e in about if b'"bob"' in e], about  # ... not for alice
    listed: chat_wire.PresenceList = await bob.call("presence.get")
    assert [(p.user, p.online) for p in listed.users] == [("alice", False), ("carol", True)]
    listed = await alice.call("presence.get")
    assert [(p.user, p.online) for p in listed.users] == [("bob", False), ("carol", True)]
    await close(alice, bob, carol)
