"""Social writes racing each other through the real server, on every engine.

On PostgreSQL two ops run in two transactions side by side (SQLite runs one writer at a time),
so each test sends the two ops at once over two connections, many rounds, and checks what a
person would notice: a post's like count is the number of likes it has, a profile's follower
and following counts are the follows there are, and no op fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from client.connection import Connection
from protocol import profiles
from protocol import social as wire
from tests.conftest import LiveServer
from tests.server.social_helpers import close, follow, post, users

ROUNDS = 20


async def _two_connections(live: LiveServer, username: str) -> tuple[Connection, Connection]:
    """One person on two devices: two connections, two sessions."""
    first = await live.connect((await live.register(username, device="laptop")).token)
    second = await live.connect((await live.login(username, device="phone")).token)
    return first, second


async def _one(live: LiveServer, sql: str, *params: Any) -> int:
    async with live.server.db.reader.execute(sql, params) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def _likes_agree(live: LiveServer, post_id: str) -> int:
    """The post's stored like count equals its like rows; returns that number."""
    counted = await _one(live, "SELECT like_count FROM posts WHERE id = ?", int(post_id))
    rows = await _one(live, "SELECT COUNT(*) FROM likes WHERE post_id = ?", int(post_id))
    assert counted == rows, f"like_count {counted} but {rows} likes"
    return rows


async def _follows_agree(live: LiveServer, user_id: int) -> tuple[int, int]:
    """The user's stored follower/following counts equal their follow rows."""
    followers = await _one(live, "SELECT followers FROM social_stats WHERE user_id = ?", user_id)
    following = await _one(live, "SELECT following FROM social_stats WHERE user_id = ?", user_id)
    follower_rows = await _one(live, "SELECT COUNT(*) FROM follows WHERE followee_id = ?", user_id)
    following_rows = await _one(live, "SELECT COUNT(*) FROM follows WHERE follower_id = ?", user_id)
    assert (followers, following) == (follower_rows, following_rows), (
        f"counters {(followers, following)} but rows {(follower_rows, following_rows)}"
    )
    return followers, following


async def _user_id(live: LiveServer, username: str) -> int:
    return await _one(live, "SELECT id FROM users WHERE username = ?", username)


def _ref(post_id: str) -> wire.PostRef:
    return wire.PostRef(post_id=post_id)


async def test_a_like_and_an_unlike_at_once_keep_the_count_true(live: LiveServer) -> None:
    author, fan = await users(live, "author", "fan")
    laptop, phone = await _two_connections(live, "racer")
    p = await post(author, "race on me")
    await fan.call("post.like", _ref(p.id))  # a like that is not in the race
    for round_ in range(ROUNDS):
        if round_ % 2:  # half the rounds start liked, half not
            await laptop.call("post.like", _ref(p.id))
        # Both succeed; which won shows in the rows (on PostgreSQL a reply may already
        # show the other op, committed while this one read its answer).
        await asyncio.gather(
            laptop.call("post.like", _ref(p.id)), phone.call("post.unlike", _ref(p.id))
        )
        rows = await _likes_agree(live, p.id)
        assert rows in (1, 2)
        seen: wire.Thread = await author.call("post.thread", wire.GetThread(post_id=p.id))
        assert seen.post.like_count == rows
        mine: wire.Thread = await laptop.call("post.thread", wire.GetThread(post_id=p.id))
        assert (mine.post.like_count, mine.post.liked) == (rows, rows == 2)
        await laptop.call("post.unlike", _ref(p.id))
        assert await _likes_agree(live, p.id) == 1
    await close(author, fan, laptop, phone)


async def test_two_likes_by_one_person_at_once_count_once(live: LiveServer) -> None:
    author, fan = await users(live, "author", "fan")
    laptop, phone = await _two_connections(live, "racer")
    p = await post(author, "like me twice")
    await fan.call("post.like", _ref(p.id))
    for _round in range(ROUNDS):
        first, second = await asyncio.gather(
            laptop.call("post.like", _ref(p.id)), phone.call("post.like", _ref(p.id))
        )
        assert first.liked and second.liked
        assert await _likes_agree(live, p.id) == 2
        seen: wire.Thread = await author.call("post.thread", wire.GetThread(post_id=p.id))
        assert seen.post.like_count == 2
        unliked: wire.Post = await phone.call("post.unlike", _ref(p.id))
        assert (unliked.like_count, unliked.liked) == (1, False)
        assert await _likes_agree(live, p.id) == 1
    # One like notification per like that counted, never one per attempt.
    note_rows = await _one(
        live,
        "SELECT COUNT(*) FROM notifications WHERE kind = 'like' AND post_id = ?",
        int(p.id),
    )
    assert note_rows == 1  # the fan's; each racer's was taken back with its unlike
    await close(author, fan, laptop, phone)


async def test_a_follow_and_an_unfollow_at_once_keep_the_counters_true(live: LiveServer) -> None:
    (star,) = await users(live, "star")
    laptop, phone = await _two_connections(live, "racer")
    (other,) = await users(live, "other")
    await follow(other, "star")  # a follow that is not in the race
    star_id, racer_id = await _user_id(live, "star"), await _user_id(live, "racer")
    for round_ in range(ROUNDS):
        if round_ % 2:
            await follow(laptop, "star")
        # Both succeed; which won shows in the rows (see the like race above).
        await asyncio.gather(
            follow(laptop, "star"), phone.call("follow.remove", wire.UserRef(username="star"))
        )
        followers, _ = await _follows_agree(live, star_id)
        _, following = await _follows_agree(live, racer_id)
        assert followers == 1 + following and following in (0, 1)
        profile: wire.UserProfile = await laptop.call("user.profile", wire.GetUser(username="star"))
        assert (profile.followers, profile.you_follow) == (followers, following == 1)
        listed: wire.UserList = await star.call("follow.followers", wire.ListUsers(username="star"))
        assert len(listed.users) == followers
        await phone.call("follow.remove", wire.UserRef(username="star"))
        assert await _follows_agree(live, star_id) == (1, 0)
    await close(star, laptop, phone, other)


async def test_two_follows_by_one_person_at_once_count_once(live: LiveServer) -> None:
    (star,) = await users(live, "star")
    laptop, phone = await _two_connections(live, "racer")
    star_id, racer_id = await _user_id(live, "star"), await _user_id(live, "racer")
    await post(star, "backfilled into the racer's home")
    for _round in range(ROUNDS):
        first, second = await asyncio.gather(follow(laptop, "star"), follow(phone, "star"))
        assert first.you_follow and second.you_follow
        assert await _follows_agree(live, star_id) == (1, 0)
        assert await _follows_agree(live, racer_id) == (0, 1)
        home: wire.Page = await laptop.call("timeline.home", wire.HomeTimeline(limit=20))
        assert [p.text for p in home.posts] == ["backfilled into the racer's home"]
        await phone.call("follow.remove", wire.UserRef(username="star"))
        assert await _follows_agree(live, star_id) == (0, 0)
    await close(star, laptop, phone)


async def test_two_people_following_each_other_at_once_both_succeed(live: LiveServer) -> None:
    """Each follow changes both people's counters: the two ops must not wait on each other
    for good (on PostgreSQL that would be a deadlock, and one op would fail)."""
    ann, bea = await users(live, "ann", "bea")
    ann_id, bea_id = await _user_id(live, "ann"), await _user_id(live, "bea")
    for _round in range(ROUNDS):
        to_bea, to_ann = await asyncio.gather(follow(ann, "bea"), follow(bea, "ann"))
        assert to_bea.you_follow and to_ann.you_follow
        assert await _follows_agree(live, ann_id) == (1, 1)
        assert await _follows_agree(live, bea_id) == (1, 1)
        await asyncio.gather(
            ann.call("follow.remove", wire.UserRef(username="bea")),
            bea.call("follow.remove", wire.UserRef(username="ann")),
        )
        assert await _follows_agree(live, ann_id) == (0, 0)
        assert await _follows_agree(live, bea_id) == (0, 0)
    await close(ann, bea)


async def _posts_agree(live: LiveServer, user_id: int) -> int:
    """The user's stored post count equals their live posts."""
    counted = await _one(live, "SELECT posts FROM social_stats WHERE user_id = ?", user_id)
    rows = await _one(
        live, "SELECT COUNT(*) FROM posts WHERE author_id = ? AND deleted_at IS NULL", user_id
    )
    assert counted == rows, f"posts counter {counted} but {rows} live posts"
    return rows


async def test_two_reposts_by_one_person_at_once_make_one(live: LiveServer) -> None:
    (author,) = await users(live, "author")
    laptop, phone = await _two_connections(live, "racer")
    racer_id = await _user_id(live, "racer")
    p = await post(author, "worth sharing")
    for _round in range(ROUNDS):
        first, second = await asyncio.gather(
            laptop.call("post.repost", _ref(p.id)), phone.call("post.repost", _ref(p.id))
        )
        assert first.id == second.id
        assert await _posts_agree(live, racer_id) == 1
        seen: wire.Thread = await author.call("post.thread", wire.GetThread(post_id=p.id))
        assert seen.post.repost_count == 1
        await laptop.call("post.delete", _ref(first.id))
        assert await _posts_agree(live, racer_id) == 0
    await close(author, laptop, phone)


async def test_two_deletes_of_one_post_at_once_delete_it_once(live: LiveServer) -> None:
    laptop, phone = await _two_connections(live, "racer")
    (reposter,) = await users(live, "reposter")
    racer_id = await _user_id(live, "racer")
    await post(laptop, "a post that stays")
    for round_ in range(ROUNDS):
        p = await post(laptop, f"gone soon {round_}")
        await reposter.call("post.repost", _ref(p.id))
        outcomes = await asyncio.gather(
            laptop.call("post.delete", _ref(p.id)),
            phone.call("post.delete", _ref(p.id)),
            return_exceptions=True,
        )
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        # SQLite runs them one after the other: the second finds nothing to delete. On
        # PostgreSQL the second waits for the first, then finds the same.
        assert len(failed) == 1 and getattr(failed[0], "code", None) == "not_found", outcomes
        assert await _posts_agree(live, racer_id) == 1
        assert await _posts_agree(live, await _user_id(live, "reposter")) == 0
    await close(laptop, phone, reposter)


async def _follows(live: LiveServer, follower: str, followee: str) -> bool:
    return bool(
        await _one(
            live,
            "SELECT COUNT(*) FROM follows WHERE follower_id = ? AND followee_id = ?",
            await _user_id(live, follower),
            await _user_id(live, followee),
        )
    )


async def test_a_follow_racing_a_block_never_outlives_it(live: LiveServer) -> None:
    """Whichever goes first, the blocked person does not end up following the blocker."""
    blocker, fan = await users(live, "blocker", "fan")
    blocker_id, fan_id = await _user_id(live, "blocker"), await _user_id(live, "fan")
    for _round in range(ROUNDS):
        outcomes = await asyncio.gather(
            blocker.call("block.add", wire.UserRef(username="fan")),
            follow(fan, "blocker"),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        # The follow came second (refused: forbidden) or first (then severed by the block).
        assert all(getattr(e, "code", None) == "forbidden" for e in refused), outcomes
        assert not await _follows(live, "fan", "blocker")
        assert await _follows_agree(live, blocker_id) == (0, 0)
        assert await _follows_agree(live, fan_id) == (0, 0)
        await blocker.call("block.remove", wire.UserRef(username="fan"))
    await close(blocker, fan)


async def _lock(conn: Connection, locked: bool) -> None:
    await conn.call("profile.set", profiles.SetProfile(locked=locked))


async def test_an_approval_racing_a_withdrawn_request_leaves_no_follow(live: LiveServer) -> None:
    """Approve-then-unfollow and unfollow-then-approve both end with no follow, so racing
    them must too."""
    (owner,) = await users(live, "owner")
    asker, asker_phone = await _two_connections(live, "asker")
    await _lock(owner, True)
    owner_id = await _user_id(live, "owner")
    for _round in range(ROUNDS):
        await follow(asker, "owner")  # a request: the owner is locked
        outcomes = await asyncio.gather(
            owner.call("follow.approve", wire.UserRef(username="asker")),
            asker_phone.call("follow.remove", wire.UserRef(username="owner")),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert all(getattr(e, "code", None) == "not_found" for e in refused), outcomes
        assert not await _follows(live, "asker", "owner")
        assert await _follows_agree(live, owner_id) == (0, 0)
        waiting: wire.FollowRequests = await owner.call(
            "follow.requests", wire.ListFollowRequests()
        )
        assert waiting.requests == []
    await close(owner, asker, asker_phone)


async def test_a_request_racing_an_unlock_is_never_left_waiting(live: LiveServer) -> None:
    """Unlocking approves what waits; a request sent at that moment is approved too, or finds
    the account open and follows: none is left waiting on an open account."""
    (owner,) = await users(live, "owner")
    asker, early = await users(live, "asker", "early")
    owner_id = await _user_id(live, "owner")
    for _round in range(ROUNDS):
        await _lock(owner, True)
        await follow(early, "owner")  # waiting before the race
        await asyncio.gather(_lock(owner, False), follow(asker, "owner"))
        assert await _follows(live, "asker", "owner")
        assert await _follows(live, "early", "owner")
        waiting: wire.FollowRequests = await owner.call(
            "follow.requests", wire.ListFollowRequests()
        )
        assert waiting.requests == []
        assert await _follows_agree(live, owner_id) == (2, 0)
        for conn in (asker, early):
            await conn.call("follow.remove", wire.UserRef(username="owner"))
    await close(owner, asker, early)


async def test_an_original_and_its_repost_deleted_at_once_both_go(live: LiveServer) -> None:
    """Deleting an original deletes its reposts: a reposter deleting theirs at that moment
    either deletes it first or finds it gone, and neither delete fails."""
    author, reposter = await users(live, "author", "reposter")
    ids = [await _user_id(live, name) for name in ("author", "reposter")]
    for round_ in range(ROUNDS):
        p = await post(author, f"original {round_}")
        shared: wire.Post = await reposter.call("post.repost", _ref(p.id))
        outcomes = await asyncio.gather(
            author.call("post.delete", _ref(p.id)),
            reposter.call("post.delete", _ref(shared.id)),
            return_exceptions=True,
        )
        assert not isinstance(outcomes[0], BaseException), outcomes
        if isinstance(outcomes[1], BaseException):
            assert getattr(outcomes[1], "code", None) == "not_found", outcomes
        for user_id in ids:
            assert await _posts_agree(live, user_id) == 0
    await close(author, reposter)


async def test_a_post_racing_a_new_follow_reaches_the_follower(live: LiveServer) -> None:
    """A post is fanned out to the followers it reads, and a follow backfills the posts it
    reads: racing, each must see the other, or the new follower's home misses the post.
    (Both move the author's counter row, which orders them on PostgreSQL.)"""
    author, *fans = await users(live, "author", "fan1", "fan2", "fan3")
    for round_ in range(ROUNDS):
        # Tags and mentions: more work between reading the followers and committing.
        text = f"fresh {round_} #one #two #three @fan1 @fan2 @fan3"
        posted, *_ = await asyncio.gather(
            post(author, text), *(follow(fan, "author") for fan in fans)
        )
        for fan in fans:
            home: wire.Page = await fan.call("timeline.home", wire.HomeTimeline(limit=5))
            assert posted.id in [p.id for p in home.posts], f"round {round_}: a home misses it"
            await fan.call("follow.remove", wire.UserRef(username="author"))
    await close(author, *fans)
