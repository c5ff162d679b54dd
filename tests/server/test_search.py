"""Search through the real server: one query finds posts, people, tags, the caller's own chat
messages and the names of their files, each kind only as far as the caller may see it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from client.connection import Connection
from client.errors import ServerError
from client.files import RemoteFiles
from protocol import chat, files
from protocol import social as wire
from protocol.profiles import SetProfile
from storage.server import search as search_repository
from tests.conftest import LiveServer
from tests.files.helpers import Device, device
from tests.hostile import HOSTILE, MARKUP
from tests.server.social_helpers import close, follow, post, users


async def search(conn: Connection, query: str, limit: int = 20) -> wire.SearchResult:
    found: wire.SearchResult = await conn.call("search.query", wire.Search(query, limit))
    return found


async def send(conn: Connection, to: str, text: str) -> chat.Message:
    sent: chat.Message = await conn.call("chat.send", chat.SendMessage(to=to, text=text))
    return sent


async def texts(conn: Connection, query: str) -> list[str]:
    return [p.text for p in (await search(conn, query)).posts]


async def test_words_match_their_forms(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    await post(a, "The Hives are buzzing today")
    await post(a, "I run along the river")
    await post(a, "Nothing about bees")
    assert await texts(b, "hive") == ["The Hives are buzzing today"]
    assert await texts(b, "running") == ["I run along the river"]
    assert await texts(b, "RIVERS") == ["I run along the river"]
    await close(a, b)


async def test_each_kind_has_its_own_list_ranked_best_first(live: LiveServer) -> None:
    a, b = await users(live, "gardener", "bob")
    await a.call("profile.set", SetProfile(display_name="Green Thumb", bio="garden all day"))
    await post(a, "garden garden, the garden #gardening")
    await post(b, "my small garden this morning, and the sun was out #gardenparty")
    await post(b, "a walk in the park")
    await send(b, "@gardener", "your garden looks lovely")
    found = await search(b, "garden")
    assert [p.author for p in found.posts] == ["gardener", "bob"]  # more of the word first
    assert [u.username for u in found.users] == ["gardener"]
    assert [(t.tag, t.authors, t.posts) for t in found.tags] == [
        ("gardening", 1, 1),
        ("gardenparty", 1, 1),
    ]
    [hit] = found.messages
    assert (hit.sender, hit.text, hit.conversation_kind) == (
        "bob",
        "your garden looks lovely",
        "direct",
    )
    assert hit.conversation_name == "gardener"  # a direct conversation is named by the other
    assert found.files == []
    limited = await search(b, "garden", limit=1)
    assert (len(limited.posts), len(limited.tags)) == (1, 1)
    await close(a, b)


async def test_tags_rank_by_how_many_people_used_them(live: LiveServer) -> None:
    conns = await users(live, "alice", "bob", "carol")
    a, b, c = conns
    for i in range(3):
        await post(a, f"#beeswax candle {i}")
    await post(b, "#bees here")
    await post(c, "#bees there")
    found = await search(a, "#bee")
    assert [(t.tag, t.authors, t.posts) for t in found.tags] == [
        ("bees", 2, 2),
        ("beeswax", 1, 3),
    ]
    await close(*conns)


async def test_blocked_muted_and_locked_authors_posts_are_not_found(live: LiveServer) -> None:
    me, blocked, muted, locked, friend = await users(
        live, "reader", "blocked", "muted", "locked", "friend"
    )
    for conn, name in ((blocked, "blocked"), (muted, "muted"), (locked, "locked")):
        await post(conn, f"honeycomb news from {name} #honeycomb")
    await locked.call("profile.set", SetProfile(locked=True))
    await post(friend, "honeycomb news from friend #honeycomb")
    await me.call("block.add", wire.UserRef(username="blocked"))
    await me.call("mute.add", wire.UserRef(username="muted"))
    found = await search(me, "honeycomb")
    assert [p.author for p in found.posts] == ["friend"]
    # Tags count what the reader may see: the locked account's use is not counted.
    assert [(t.tag, t.authors) for t in found.tags] == [("honeycomb", 3)]
    # Others still find them: a block is the blocker's view only.
    assert len((await search(friend, "honeycomb")).posts) == 3
    await close(me, blocked, muted, locked, friend)


@pytest.mark.engines("sqlite")  # SQLite's queue; PostgreSQL's index is current at commit
async def test_messages_are_indexed_soon_after_their_commit(live: LiveServer) -> None:
    """The chat commit queues a message; the server's timer indexes it without a search."""
    alice, bob = await users(live, "alice", "bob")
    await send(alice, "@bob", "queued for the index")

    async def waiting() -> int:
        async with live.server.db.reader.execute("SELECT COUNT(*) FROM messages_to_index") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async with asyncio.timeout(10):
        while await waiting():
            await asyncio.sleep(0.05)
    async with live.server.db.reader.execute(
        "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'text : \"queued\"'"
    ) as cur:
        assert (await cur.fetchone())[0] == 1
    assert [m.text for m in (await search(bob, "indexes")).messages] == ["queued for the index"]
    await close(alice, bob)


async def test_a_stranger_never_finds_a_direct_message(live: LiveServer) -> None:
    alice, bob, mallory = await users(live, "alice", "bob", "mallory")
    await send(alice, "@bob", "meet me at the old lighthouse")
    for conn, other in ((alice, "bob"), (bob, "alice")):
        [hit] = (await search(conn, "lighthouses")).messages
        assert (hit.text, hit.conversation_name) == ("meet me at the old lighthouse", other)
    nothing = await search(mallory, "lighthouse")
    assert nothing.messages == [] and nothing.posts == []
    await close(alice, bob, mallory)


async def test_a_member_who_left_finds_only_what_came_before(live: LiveServer) -> None:
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    group: chat.Conversation = await alice.call(
        "chat.group.create", chat.CreateGroup(name="Beekeepers", members=["bob", "carol"])
    )
    await send(alice, group.id, "swarm season starts soon")
    await carol.call("chat.group.leave", chat.LeaveGroup(conversation=group.id))
    await send(alice, group.id, "the swarm arrived after carol left")
    carols = await search(carol, "swarm")
    assert [m.text for m in carols.messages] == ["swarm season starts soon"]
    assert carols.messages[0].conversation_name == "Beekeepers"
    bobs = await search(bob, "swarm")
    assert sorted(m.text for m in bobs.messages) == [
        "swarm season starts soon",
        "the swarm arrived after carol left",
    ]
    await close(alice, bob, carol)


async def test_past_the_scope_a_search_still_finds_only_ones_own(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone in more conversations and shares than a query names: the join alone keeps
    what they may read."""
    monkeypatch.setattr(search_repository, "MAX_SCOPE", 1)
    alice, bob, carol = await users(live, "alice", "bob", "carol")
    await send(alice, "@bob", "pollen count is high")
    await send(alice, "@carol", "pollen for carol only")
    group: chat.Conversation = await alice.call(
        "chat.group.create", chat.CreateGroup(name="Hive", members=["bob"])
    )
    await bob.call("chat.group.leave", chat.LeaveGroup(conversation=group.id))
    await send(alice, group.id, "pollen after bob left")
    assert sorted(m.text for m in (await search(bob, "pollen")).messages) == [
        "pollen count is high"
    ]
    assert len((await search(alice, "pollen")).messages) == 3
    await close(alice, bob, carol)


@pytest.mark.parametrize("scope", [search_repository.MAX_SCOPE, 0], ids=["named", "joined"])
async def test_file_names_are_found_only_in_ones_own_namespaces(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scope: int
) -> None:
    monkeypatch.setattr(search_repository, "MAX_SCOPE", scope)
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)
    mallory = await device(live, tmp_path, "mallory", "m1", register=True)
    try:
        mine = RemoteFiles(alice.client)
        await mine.put(alice.write("local/budget.txt", "numbers"), "Reports/Budget-2026.txt")
        await mine.put(alice.write("local/plan.txt", "the plan"), "team/Budget plans.txt")
        old = await mine.put(alice.write("local/old.txt", "gone"), "Old budget.txt")
        gone = files.CommitItem("Old budget.txt", old.version_id, deleted=True)
        await alice.client.call("files.commit", files.Commit(old.namespace_id, [gone]))
        found = await _files(alice, "budgets")
        assert found == [("", "Reports/Budget-2026.txt"), ("", "team/Budget plans.txt")]
        await mine.share("team", "bob", "viewer")
        assert await _files(bob, "budget") == []  # invited is not a member
        await RemoteFiles(bob.client).accept("team")
        assert await _files(bob, "budget") == [("team", "Budget plans.txt")]
        assert await _files(mallory, "budget") == []
        assert (await _search(bob, "reports")).files == []  # a folder of alice's home
    finally:
        for d in (alice, bob, mallory):
            await d.client.close()


async def test_any_text_is_searched_as_words_without_an_error(live: LiveServer) -> None:
    [a] = await users(live, "alice")
    await post(a, "near the text of bees")
    queries = [*HOSTILE.values(), MARKUP, 'bees" OR NEAR( *', "text:bees", "^bees", "bee*"]
    for query in [*queries, "x" * 200, "bees \\' | !x & (y) <-> z:*"]:
        try:
            found = await search(a, query)
        except ServerError as exc:  # control characters: refused as any text field refuses them
            assert exc.code == "invalid_args", (query, exc)
            continue
        assert all("bees" in p.text for p in found.posts), (query, found.posts)
    assert await texts(a, "NEAR text") == ["near the text of bees"]
    await close(a)


async def test_search_sees_writes_at_once(live: LiveServer) -> None:
    a, b = await users(live, "alice", "bob")
    await follow(b, "alice")
    p = await post(a, "ephemeral wording")
    assert await texts(b, "ephemeral") == ["ephemeral wording"]
    await a.call("post.delete", wire.PostRef(post_id=p.id))
    assert await texts(b, "ephemeral") == []
    await a.call("profile.set", SetProfile(display_name="Queen Bee"))
    assert [u.username for u in (await search(b, "queen")).users] == ["alice"]
    await close(a, b)


async def _search(d: Device, query: str) -> wire.SearchResult:
    found: wire.SearchResult = await d.client.call("search.query", wire.Search(query))
    return found


async def _files(d: Device, query: str) -> list[tuple[str, str]]:
    found = await asyncio.wait_for(_search(d, query), 10)
    return sorted((f.namespace, f.path) for f in found.files)
