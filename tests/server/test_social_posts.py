"""Posts, replies, reposts, likes, deletes and threads through the real server."""

from __future__ import annotations

import pytest

from client.errors import ServerError
from protocol import social as wire
from tests.conftest import LiveServer
from tests.server.social_helpers import close, follow, home_texts, post, users


async def test_post_limits_count_code_points(live: LiveServer) -> None:
    [a] = await users(live, "alice")
    emoji = "🐝" * 280  # 280 code points, 1,120 bytes of UTF-8
    assert (await post(a, emoji)).text == emoji
    with pytest.raises(ServerError) as err:
        await post(a, "x" * 281)
    assert err.value.code == "invalid_args"
    assert "text is too long (at most 280 characters)" in err.value.message
    with pytest.raises(ServerError) as err:
        await post(a, "   ")
    assert err.value.code == "invalid_args" and "needs some text" in err.value.message
    await close(a)


async def test_mentions_and_hashtags_are_parsed_server_side(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    p = await post(a, "hi @Bob and @nobody_here, see #Bees #bees #2024 mail@bob.org")
    assert p.mentions == ["bob"]  # only users that exist
    assert p.tags == ["bees"]
    await close(a, b)


async def test_reply_thread_and_counts(live: LiveServer) -> None:
    a, b, c = await users(live, "alice", "bob", "carol")
    root = await post(a, "root")
    r1 = await post(b, "first reply", reply_to=root.id)
    r2 = await post(c, "reply to the reply", reply_to=r1.id)
    assert r1.reply_to == root.id
    thread: wire.Thread = await c.call("post.thread", wire.GetThread(post_id=root.id))
    assert thread.post.reply_count == 1
    assert [p.text for p in thread.replies] == ["first reply", "reply to the reply"]
    sub: wire.Thread = await a.call("post.thread", wire.GetThread(post_id=r2.id))
    assert [p.text for p in sub.ancestors] == ["root", "first reply"]
    with pytest.raises(ServerError) as err:
        await post(b, "to nothing", reply_to="123456")
    assert err.value.code == "not_found"
    await close(a, b, c)


async def test_likes_are_counted_once_and_can_be_taken_back(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    p = await post(a, "like me")
    liked: wire.Post = await b.call("post.like", wire.PostRef(post_id=p.id))
    assert (liked.like_count, liked.liked) == (1, True)
    again: wire.Post = await b.call("post.like", wire.PostRef(post_id=p.id))
    assert again.like_count == 1
    seen: wire.Thread = await a.call("post.thread", wire.GetThread(post_id=p.id))
    assert (seen.post.like_count, seen.post.liked) == (1, False)
    unliked: wire.Post = await b.call("post.unlike", wire.PostRef(post_id=p.id))
    assert (unliked.like_count, unliked.liked) == (0, False)
    # The post was hot in the server's memory; the unlike must have dropped that copy.
    after: wire.Thread = await a.call("post.thread", wire.GetThread(post_id=p.id))
    assert after.post.like_count == 0
    with pytest.raises(ServerError) as err:
        await b.call("post.like", wire.PostRef(post_id="999999"))
    assert (err.value.code, err.value.message) == ("not_found", "no post 999999")
    await close(a, b)


async def test_only_the_author_may_delete(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    p = await post(a, "mine")
    with pytest.raises(ServerError) as err:
        await b.call("post.delete", wire.PostRef(post_id=p.id))
    assert (err.value.code, err.value.message) == (
        "forbidden",
        "you can only delete your own posts",
    )
    await a.call("post.delete", wire.PostRef(post_id=p.id))
    with pytest.raises(ServerError) as err:
        await a.call("post.delete", wire.PostRef(post_id=p.id))
    assert err.value.code == "not_found"
    with pytest.raises(ServerError) as err:
        await b.call("post.like", wire.PostRef(post_id=p.id))
    assert err.value.code == "not_found"
    await close(a, b)


async def test_repost_references_the_original_and_vanishes_with_it(live: LiveServer) -> None:
    a, b, c = await users(live, "alice", "bob", "carol")
    await follow(c, "bob")
    original = await post(a, "worth sharing")
    shared: wire.Post = await b.call("post.repost", wire.PostRef(post_id=original.id))
    assert shared.repost_of == original.id and shared.author == "bob"
    assert shared.original is not None and shared.original.text == "worth sharing"
    assert shared.original.repost_count == 1
    # Reposting twice (or reposting the repost) gives back the same repost.
    again: wire.Post = await b.call("post.repost", wire.PostRef(post_id=shared.id))
    assert again.id == shared.id
    page: wire.Page = await c.call("timeline.home", wire.HomeTimeline())
    assert [(p.author, p.repost_of) for p in page.posts] == [("bob", original.id)]

    await a.call("post.delete", wire.PostRef(post_id=original.id))
    assert await home_texts(c) == []
    bob_page: wire.Page = await c.call("timeline.user", wire.UserTimeline(username="bob"))
    assert bob_page.posts == []
    with pytest.raises(ServerError):
        await c.call("post.thread", wire.GetThread(post_id=shared.id))
    await close(a, b, c)


async def test_write_retries_with_the_same_key_do_not_duplicate(live: LiveServer) -> None:
    [a] = await users(live, "alice")
    args = wire.CreatePost(text="once", client_id="post-key-0001")
    first = await a.call("post.create", args)
    second = await a.call("post.create", args)
    assert first == second
    assert await home_texts(a) == ["once"]
    await close(a)
