"""Notifications, search, trending hashtags and who-to-follow through the real server."""

from __future__ import annotations

import asyncio

import msgspec

from client.connection import Connection
from protocol import social as wire
from protocol.profiles import SetProfile
from tests.conftest import LiveServer
from tests.helpers import SECOND
from tests.server.social_helpers import close, follow, post, users


async def _notes(conn: Connection) -> wire.Notifications:
    result: wire.Notifications = await conn.call("notifications.list", wire.ListNotifications())
    return result


async def test_every_kind_of_notification_is_stored_and_pushed(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    await follow(b, "alice")
    async with asyncio.timeout(5 * SECOND):
        pushed = await a.events.get()
    assert pushed.event == "notification.new"
    assert msgspec.json.decode(pushed.data, type=wire.Notification).kind == "follow"
    p = await post(a, "hello")
    await b.call("post.like", wire.PostRef(post_id=p.id))
    await b.call("post.repost", wire.PostRef(post_id=p.id))
    await post(b, "nice one @alice", reply_to=p.id)  # a reply that mentions: one notification
    await post(b, "hey @alice")
    await post(a, "talking to myself @alice")  # never notified of one's own actions
    notes = await _notes(a)
    assert [(n.kind, n.actor) for n in notes.notifications] == [
        ("mention", "bob"),
        ("reply", "bob"),
        ("repost", "bob"),
        ("like", "bob"),
        ("follow", "bob"),
    ]
    assert notes.unread == 5 and all(n.unread for n in notes.notifications)
    assert notes.notifications[3].post is not None and notes.notifications[3].post.id == p.id
    assert notes.notifications[4].post is None
    assert (await _notes(b)).notifications == []  # bob's list is his own
    await close(a, b)


async def test_read_marker_moves_forward_only(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    p = await post(a, "x")
    await b.call("post.like", wire.PostRef(post_id=p.id))
    await follow(b, "alice")
    [newest, older] = (await _notes(a)).notifications
    marker: wire.ReadMarker = await a.call(
        "notifications.read", wire.MarkNotificationsRead(up_to=older.id)
    )
    assert (marker.read_up_to, marker.unread) == (older.id, 1)
    notes = await _notes(a)
    assert [n.unread for n in notes.notifications] == [True, False]
    all_read: wire.ReadMarker = await a.call("notifications.read", wire.MarkNotificationsRead())
    assert (all_read.read_up_to, all_read.unread) == (newest.id, 0)
    back: wire.ReadMarker = await a.call(
        "notifications.read", wire.MarkNotificationsRead(up_to=older.id)
    )
    assert back.read_up_to == newest.id  # a late replay cannot un-read
    await close(a, b)


async def test_search_finds_posts_and_users_and_ignores_operators(live: LiveServer) -> None:
    a, b = await users(live, "alice", "beekeeper")
    await b.call("profile.set", SetProfile(display_name="Bea Keeper", bio="honey and hives"))
    await post(a, "The bees are back in the garden #bees")
    gone = await post(a, "bees that will be deleted")
    await post(b, "Nothing to see here")
    await a.call("post.delete", wire.PostRef(post_id=gone.id))
    found: wire.SearchResult = await a.call("search.query", wire.Search(query="bees garden"))
    assert [p.text for p in found.posts] == ["The bees are back in the garden #bees"]
    people: wire.SearchResult = await a.call("search.query", wire.Search(query="hive"))
    assert [u.username for u in people.users] == ["beekeeper"]
    by_name: wire.SearchResult = await a.call("search.query", wire.Search(query="bea"))
    assert [u.username for u in by_name.users] == ["beekeeper"]
    odd: wire.SearchResult = await a.call("search.query", wire.Search(query='bees" OR NEAR( *'))
    assert odd.posts == []  # typed operators are plain words: no error, no match
    await close(a, b)


async def test_trending_counts_distinct_authors(live: LiveServer) -> None:
    conns = await users(live, "alice", "bob", "carol")
    a, b, c = conns
    for i in range(5):
        await post(a, f"spam #loud {i}")  # one author, many posts
    await post(a, "#rising")
    await post(b, "#rising too")
    await post(c, "#rising and #loud")
    gone = await post(c, "#gone")
    await c.call("post.delete", wire.PostRef(post_id=gone.id))
    trend: wire.TrendingTags = await a.call("trending.tags", wire.Trending())
    assert [(t.tag, t.authors, t.posts) for t in trend.tags] == [
        ("rising", 3, 3),
        ("loud", 2, 6),
    ]
    await close(*conns)


async def test_suggestions_are_friends_of_friends_ranked_by_mutuals(live: LiveServer) -> None:
    me, f1, f2, x, y, z = await users(live, "me_", "friend1", "friend2", "xavier", "yann", "zoe")
    await follow(me, "friend1")
    await follow(me, "friend2")
    await follow(f1, "xavier")
    await follow(f2, "xavier")  # 2 mutuals
    await follow(f1, "yann")  # 1 mutual, 2 followers
    await follow(z, "yann")
    await follow(f1, "zoe")  # 1 mutual, 1 follower
    await follow(f1, "me_")  # never suggest oneself
    await follow(f2, "friend1")  # already followed
    found: wire.Suggestions = await me.call("suggest.follows", wire.Suggest())
    assert [(s.username, s.mutuals) for s in found.users] == [
        ("xavier", 2),
        ("yann", 1),
        ("zoe", 1),
    ]
    assert found.users[0].followed_by == ["friend1", "friend2"]
    await close(me, f1, f2, x, y, z)


async def test_followers_following_and_profile_counts(live: LiveServer) -> None:
    a, b, c = await users(live, "alice", "bob", "carol")
    await follow(b, "alice")
    await follow(c, "alice")
    await follow(a, "bob")
    await post(a, "one")
    followers: wire.UserList = await c.call("follow.followers", wire.ListUsers(username="alice"))
    assert sorted(u.username for u in followers.users) == ["bob", "carol"]
    following: wire.UserList = await a.call("follow.following", wire.ListUsers())
    assert [u.username for u in following.users] == ["bob"]
    prof: wire.UserProfile = await a.call("user.profile", wire.GetUser(username="bob"))
    assert (prof.followers, prof.following, prof.you_follow, prof.follows_you) == (
        1,
        1,
        True,
        True,
    )
    mine: wire.UserProfile = await a.call("user.profile", wire.GetUser())
    assert (mine.followers, mine.following, mine.posts) == (2, 1, 1)
    await close(a, b, c)
