"""An admin deletes alice's account through the real server: everything is checked from the
point of view of the others (bob, carol), who lose nothing of theirs, and of the disk."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from client.errors import ClientError
from protocol import files as files_wire
from protocol.account_changes import DeleteUser
from protocol.chat import CreateGroup, SendMessage
from protocol.social import CreatePost, GetThread, GetUser, UserRef
from storage.server.account_deletion import AccountEraser
from tests.conftest import LiveServer
from tests.helpers import SECOND, roost_command
from tests.reliability.live import Peer, RoostProcess, register


def key() -> str:
    return uuid.uuid4().hex


def item(path: str, block: str, size: int) -> dict[str, Any]:
    return {"path": path, "parent_id": None, "size": size, "mtime_ms": 1, "blocks": [block]}


@dataclass
class Scene:
    url: str
    data: Path
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)

    def peer(self, who: str) -> Peer:
        return Peer(self.url, self.tokens[who])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RoostProcess]:
    process = RoostProcess(tmp_path / "data")
    try:
        yield process
    finally:
        process.stop()


def build(server: RoostProcess, data: Path) -> Scene:
    """root (the admin), alice (to be deleted), bob and carol, with something of everything."""
    names = ("root", "alice", "bob", "carol")
    scene = Scene(server.url, data, {n: register(server.url, n)["token"] for n in names})
    alice, bob, carol = scene.peer("alice"), scene.peer("bob"), scene.peer("carol")
    try:
        # social: a post, a reply by bob, likes and reposts both ways, follows both ways
        post = alice.call("post.create", {"text": "alice says hi #garden", "client_id": key()})
        scene.ids["post"] = post["id"]
        reply = bob.call(
            "post.create", {"text": "hi back", "reply_to": post["id"], "client_id": key()}
        )
        scene.ids["reply"] = reply["id"]
        bobs = bob.call("post.create", {"text": "bob's own post", "client_id": key()})
        scene.ids["bobs"] = bobs["id"]
        alice.call("post.like", {"post_id": bobs["id"], "client_id": key()})
        alice.call("post.repost", {"post_id": bobs["id"], "client_id": key()})
        bob.call("post.repost", {"post_id": post["id"], "client_id": key()})
        alice.call("post.create", {"text": "hey @bob", "client_id": key()})
        for a, b in (("alice", bob), ("bob", alice)):
            b.call("follow.add", {"username": a, "client_id": key()})
        carol.call("follow.add", {"username": "bob", "client_id": key()})
        # chat: a direct conversation and a group alice made
        dm = alice.call("chat.send", {"to": "@bob", "text": "dm from alice", "client_id": key()})
        scene.ids["dm"] = dm["conversation"]
        bob.call("chat.send", {"to": dm["conversation"], "text": "dm from bob", "client_id": key()})
        group = alice.call(
            "chat.group.create", {"name": "club", "members": ["bob", "carol"], "client_id": key()}
        )
        scene.ids["group"] = group["id"]
        for peer, text in ((alice, "alice in group"), (bob, "bob in group"), (carol, "carol!")):
            peer.call("chat.send", {"to": group["id"], "text": text, "client_id": key()})
        # files: alice's home, her share "team" with bob as editor, bob's share "bobs" she is in
        home = alice.call("files.namespaces", {})["namespaces"][0]["id"]
        contents = {
            "diary": b"only alice's " + uuid.uuid4().bytes,
            "plan": b"the team plan " + uuid.uuid4().bytes,
            "scan": b"an attachment " + uuid.uuid4().bytes,
        }
        scene.blocks = {name: alice.put_block(data) for name, data in contents.items()}
        items = [
            item("diary.txt", scene.blocks["diary"], len(contents["diary"])),
            item("team/plan.txt", scene.blocks["plan"], len(contents["plan"])),
        ]
        alice.call("files.commit", {"namespace_id": home, "items": items})
        share = alice.call(
            "files.share",
            {"folder": "team", "username": "bob", "role": "editor", "client_id": key()},
        )
        scene.ids["share"] = share["namespace_id"]
        _accept(bob)
        bob_home = bob.call("files.namespaces", {})["namespaces"][0]["id"]
        mine = b"bob's notes " + uuid.uuid4().bytes
        scene.blocks["bob"] = bob.put_block(mine)
        bob.call(
            "files.commit",
            {
                "namespace_id": bob_home,
                "items": [item("bobs/notes.txt", scene.blocks["bob"], len(mine))],
            },
        )
        bobs_share = bob.call(
            "files.share",
            {"folder": "bobs", "username": "alice", "role": "viewer", "client_id": key()},
        )
        scene.ids["bobs_share"] = bobs_share["namespace_id"]
        _accept(alice)
        scan = alice.call(
            "files.attach",
            {
                "name": "scan.bin",
                "size": len(contents["scan"]),
                "blocks": [scene.blocks["scan"]],
                "client_id": key(),
            },
        )
        alice.call("post.create", {"text": "see", "attachments": [scan["id"]], "client_id": key()})
        # carol offers alice a share she never answers
        pics = b"carol's pictures " + uuid.uuid4().bytes
        scene.blocks["carol"] = carol.put_block(pics)
        carol_home = carol.call("files.namespaces", {})["namespaces"][0]["id"]
        picture = item("pics/a.txt", scene.blocks["carol"], len(pics))
        carol.call("files.commit", {"namespace_id": carol_home, "items": [picture]})
        carol.call(
            "files.share",
            {"folder": "pics", "username": "alice", "role": "viewer", "client_id": key()},
        )
    finally:
        for peer in (alice, bob, carol):
            peer.close()
    return scene


def _accept(peer: Peer) -> None:
    [invitation] = peer.call("files.shares")["invitations"]
    peer.call("files.share.accept", {"invitation_id": invitation["id"], "client_id": key()})


def db_rows(data: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{data / 'roost.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_deleting_alice_keeps_everything_of_bob_and_carol(
    server: RoostProcess, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    scene = build(server, data)
    bob, carol, root = scene.peer("bob"), scene.peer("carol"), scene.peer("root")
    alice_live = scene.peer("alice")
    bob_use_before = bob.call("account.usage")["used_bytes"]
    try:
        refusal = bob.request("admin.delete_user", {"username": "alice"})
        assert refusal["error"]["code"] == "forbidden", refusal
        own = root.request("admin.delete_user", {"username": "root"})
        assert own["error"]["code"] == "forbidden" and "another admin" in own["error"]["message"]
        missing = root.request("admin.delete_user", {"username": "nobody"})
        assert missing["error"]["code"] == "not_found"

        done = root.call("admin.delete_user", {"username": "alice"})
        assert done["shares_handed_over"] == [{"folder": "team", "new_owner": "bob"}], done
        assert done["conversations_left"] == 2 and done["attachments"] == 1, done
        assert done["devices_logged_out"] == 1 and done["likes"] == 1, done

        # her live connection closed at once; her token, her password and her name are gone
        deadline = time.monotonic() + 5
        while not alice_live.closed and time.monotonic() < deadline:
            try:
                alice_live.request("auth.whoami")
            except Exception:
                break
        assert alice_live.ws.close_code == 4001, alice_live.ws.close_code  # CLOSE_REVOKED
        with pytest.raises(InvalidStatus):
            Peer(scene.url, scene.tokens["alice"])
        anonymous = Peer(scene.url)
        login = {"username": "alice", "password": "correct horse battery"}
        assert anonymous.request("auth.login", login)["error"]["code"] == "invalid_credentials"
        again = anonymous.request("auth.register", login)
        assert again["error"]["code"] == "username_taken", again
        anonymous.close()

        # posts: hers are gone, bob's reply stays (in his timeline, and its thread without
        # its parent); counts moved back
        gone = bob.request("post.thread", {"post_id": scene.ids["post"]})
        assert gone["error"]["code"] == "not_found"
        thread = bob.call("post.thread", {"post_id": scene.ids["reply"]})
        assert thread["post"]["text"] == "hi back" and thread["ancestors"] == []
        mine = bob.call("timeline.user", {"username": "bob"})["posts"]
        assert [p["text"] for p in mine] == ["bob's own post", "hi back"], mine
        bobs = bob.call("post.thread", {"post_id": scene.ids["bobs"]})["post"]
        assert (bobs["like_count"], bobs["repost_count"]) == (0, 0), bobs
        home = bob.call("timeline.home", {})["posts"]
        assert all(p["author"] != "alice" for p in home), home
        assert all((p.get("original") or {}).get("author") != "alice" for p in home), home
        assert bob.call("search.query", {"query": "garden"})["posts"] == []
        # follows and profile: she is nobody now, from every side
        followers = bob.call("follow.followers", {"username": "bob"})["users"]
        assert [u["username"] for u in followers] == ["carol"], followers
        card = bob.call("user.profile", {"username": "bob"})
        assert (card["followers"], card["following"]) == (1, 0), card
        assert bob.call("follow.following", {"username": "bob"})["users"] == []
        assert bob.request("user.profile", {"username": "alice"})["error"]["code"] == "not_found"
        assert bob.call("search.query", {"query": "alice"})["users"] == []
        notes = bob.call("notifications.list", {})["notifications"]
        assert all(n["actor"] != "alice" for n in notes), notes
        sent = bob.request("chat.send", {"to": "@alice", "text": "?", "client_id": key()})
        assert sent["error"]["code"] == "not_found", sent

        # chat: every message stays for the others, hers too, ending with her leaving
        dm = bob.call("chat.history", {"to": scene.ids["dm"]})["messages"]
        assert [(m["sender"], m["text"]) for m in dm if m["kind"] == "text"] == [
            ("alice", "dm from alice"),
            ("bob", "dm from bob"),
        ]
        assert (dm[-1]["kind"], dm[-1]["text"]) == ("deleted", "account deleted")
        group = carol.call("chat.history", {"to": scene.ids["group"]})["messages"]
        texts = [m["text"] for m in group if m["kind"] == "text"]
        assert texts == ["alice in group", "bob in group", "carol!"], group
        assert group[-1]["kind"] == "deleted" and group[-1]["member"] == "alice"
        bob.call("chat.send", {"to": scene.ids["group"], "text": "still here", "client_id": key()})

        # files: the share she owned is bob's now, with its file; her membership of his ends
        shares = {s["folder"]: s for s in bob.call("files.shares")["shares"]}
        assert shares["team"]["owner"] == "bob" and shares["team"]["role"] == "owner", shares
        entries = bob.call("files.changes", {"namespace_id": scene.ids["share"]})["entries"]
        assert [e["path"] for e in entries] == ["plan.txt"]
        members = [m["username"] for m in shares["bobs"]["members"]]
        assert "alice" not in members, shares["bobs"]
        [pics] = carol.call("files.shares")["shares"]  # the invitation she never answered
        assert [m["username"] for m in pics["members"]] == ["carol"], pics
        # disk use: the share now counts against bob; every running total matches its rows
        plan_bytes = entries[0]["size"]
        assert bob.call("account.usage")["used_bytes"] == bob_use_before + plan_bytes
        assert_totals_match_rows(data)
    finally:
        for peer in (bob, carol, root, alice_live):
            peer.close()

    # garbage collection frees her blocks and keeps what bob now holds
    server.stop()
    subprocess.run(
        [*roost_command(), "admin", "gc", "--data", str(data), "--grace", "0s"], check=True
    )
    left = {h for (h,) in db_rows(data, "SELECT hash FROM blocks")}
    assert scene.blocks["diary"] not in left and scene.blocks["scan"] not in left
    assert {scene.blocks["plan"], scene.blocks["bob"]} <= left
    again = RoostProcess(data)
    try:
        bob = Peer(again.url, scene.tokens["bob"])
        for name in ("plan", "bob"):  # what bob holds still downloads
            frame = files_wire.encode_block_frame(
                files_wire.GET, 3, bytes.fromhex(scene.blocks[name])
            )
            bob.send(frame)
            assert isinstance(bob.reply(), bytes), name
        bob.close()
    finally:
        again.stop()


def assert_totals_match_rows(data: Path) -> None:
    """The "storage use" migration's running totals agree with a count of the rows."""
    per_ns = db_rows(
        data,
        "SELECT n.id, n.entries, n.bytes, COUNT(v.id), COALESCE(SUM(v.size), 0) FROM namespaces n"
        " LEFT JOIN file_versions v ON v.namespace_id = n.id GROUP BY n.id",
    )
    assert all(r[1:3] == r[3:5] for r in per_ns), per_ns
    per_user = db_rows(
        data,
        "SELECT u.user_id, u.attachments, u.attachment_bytes,"
        " (SELECT COUNT(*) FROM attachments a WHERE a.owner_id = u.user_id),"
        " (SELECT COALESCE(SUM(size), 0) FROM attachments a WHERE a.owner_id = u.user_id)"
        " FROM user_use u",
    )
    assert all(r[1:3] == r[3:5] for r in per_user), per_user
    refs = db_rows(
        data,
        "SELECT b.hash, b.refcount,"
        " (SELECT COUNT(DISTINCT version_id) FROM version_blocks vb WHERE vb.hash = b.hash)"
        " + (SELECT COUNT(DISTINCT attachment_id) FROM attachment_blocks ab WHERE ab.hash = b.hash)"
        " FROM blocks b",
    )
    assert all(r[1] == r[2] for r in refs), refs


class FailingEraser(AccountEraser):
    """Fails after most of the work is done, as a crash or a full disk would."""

    async def _attachments(self, *args: Any) -> None:
        raise RuntimeError("disk full")


async def test_a_deletion_that_fails_half_way_changes_nothing(live: LiveServer) -> None:
    await live.register("root")
    alice = await live.register("alice")
    bob = await live.register("bob")
    alice_conn, bob_conn = await live.connect(alice.token), await live.connect(bob.token)
    try:
        post = await alice_conn.call("post.create", CreatePost(text="still here", client_id=key()))
        await bob_conn.call("follow.add", UserRef(username="alice", client_id=key()))
        await alice_conn.call("chat.send", SendMessage(to="@bob", text="hi", client_id=key()))
        services = live.server._services
        assert services is not None
        social = services.social
        eraser = FailingEraser(
            social.posts, social.follows, social.timelines, services.chat, services.files
        )
        with pytest.raises(RuntimeError):
            async with services.db.write() as tx:
                await eraser.delete(tx, int(alice.user_id), 1)
        assert (await alice_conn.call("auth.whoami")).username == "alice"
        thread = await bob_conn.call("post.thread", GetThread(post_id=post.id))
        assert thread.post.text == "still here"
        card = await bob_conn.call("user.profile", GetUser(username="alice"))
        assert card.followers == 1
        [conversation] = (await bob_conn.call("chat.list")).conversations
        assert conversation.last_seq == 1 and conversation.members == ["alice", "bob"]
    finally:
        await alice_conn.close()
        await bob_conn.close()


def test_a_share_passes_to_an_heir_who_owns_one_of_that_name(server: RoostProcess) -> None:
    """bob already owns a share called "team" and mounts alice's as "team (from alice)": after
    the handover both are his, under those names, with their files."""
    tokens = {n: register(server.url, n)["token"] for n in ("root", "alice", "bob", "carol")}
    alice, bob, root = (Peer(server.url, tokens[n]) for n in ("alice", "bob", "root"))
    try:
        for peer, text in ((alice, b"alice's plan"), (bob, b"bob's plan")):
            block = peer.put_block(text)
            home = peer.call("files.namespaces", {})["namespaces"][0]["id"]
            entry = item("team/plan.txt", block, len(text))
            peer.call("files.commit", {"namespace_id": home, "items": [entry]})
        bob.call(
            "files.share",
            {"folder": "team", "username": "carol", "role": "viewer", "client_id": key()},
        )
        alice.call(
            "files.share",
            {"folder": "team", "username": "bob", "role": "viewer", "client_id": key()},
        )
        _accept(bob)
        before = {s["namespace_id"]: s for s in bob.call("files.shares")["shares"]}
        assert sorted(s["folder"] for s in before.values()) == ["team", "team (from alice)"]

        done = root.call("admin.delete_user", {"username": "alice"})
        assert done["shares_handed_over"] == [
            {"folder": "team (from alice)", "new_owner": "bob"}
        ], done
        after = {s["namespace_id"]: s for s in bob.call("files.shares")["shares"]}
        assert {i: s["folder"] for i, s in after.items()} == {
            i: s["folder"] for i, s in before.items()
        }
        assert all(s["owner"] == "bob" and s["role"] == "owner" for s in after.values()), after
        for ns_id in after:
            entries = bob.call("files.changes", {"namespace_id": ns_id})["entries"]
            assert [e["path"] for e in entries] == ["plan.txt"], entries
    finally:
        for peer in (alice, bob, root):
            peer.close()


@asynccontextmanager
async def writes_held(
    live: LiveServer, user_id: int
) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """Hold back every write that touches the account `user_id` for the block; yields how
    many connections' requests wait. SQLite: hold its one writer (everyone's writes queue
    behind it, in order). PostgreSQL: hold the account's row, which a deletion locks first
    and every write of the account's devices takes (they queue on it, in order)."""
    db = live.server.db
    if db.engine == "sqlite":
        lock = db._write_lock

        async def waiting_sqlite() -> int:
            tasks = [cb.__self__ for w in lock._waiters or () for cb, _ in w._callbacks]
            return sum("protocol_handler" in t.get_coro().__qualname__ for t in tasks)

        async with db.write():
            yield waiting_sqlite
        return

    async def waiting_postgres() -> int:
        async with db.reader.execute(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ) as cur:
            return int((await cur.fetchone())[0])

    async with db.write() as tx:
        await tx.execute("SELECT id FROM users WHERE id = ? FOR UPDATE", (user_id,))
        yield waiting_postgres


async def test_a_write_waiting_behind_the_deletion_is_refused(live: LiveServer) -> None:
    """alice's writes that reached the server while the deletion held her account run after
    it: they must be refused, not leave a live post (or any write) by a deleted account."""
    root = await live.register("root")
    alice = await live.register("alice")
    root_conn, alice_conn = await live.connect(root.token), await live.connect(alice.token)
    alice_phone = await live.connect((await live.login("alice", "phone")).token)

    async def queued(waiting: Callable[[], Awaitable[int]], count: int) -> None:
        while await waiting() < count:
            await asyncio.sleep(0.005)

    try:
        async with writes_held(live, int(alice.user_id)) as waiting:
            deleting = asyncio.create_task(
                root_conn.call("admin.delete_user", DeleteUser(username="alice"))
            )
            await asyncio.wait_for(queued(waiting, 1), 5 * SECOND)
            posting = asyncio.create_task(
                alice_conn.call("post.create", CreatePost(text="too late", client_id=key()))
            )
            await asyncio.wait_for(queued(waiting, 2), 5 * SECOND)
            grouping = asyncio.create_task(
                alice_phone.call(
                    "chat.group.create", CreateGroup(name="ghosts", members=[], client_id=key())
                )
            )
            await asyncio.wait_for(queued(waiting, 3), 5 * SECOND)
        assert (await deleting).username == "alice"
        for late in (posting, grouping):
            with pytest.raises(ClientError):  # refused, or the connection closed first
                await late
        await asyncio.wait_for(live.server._idle.wait(), 5 * SECOND)  # the server is done too
        db = live.server.db
        async with db.reader.execute("SELECT COUNT(*) FROM posts WHERE text = 'too late'") as cur:
            assert tuple(await cur.fetchone() or ()) == (0,)
        # a write that ran would have left its idempotency key (the deletion removed them all)
        # and a conversation the deleted account is in
        for sql in (
            "SELECT COUNT(*) FROM idempotency_keys WHERE user_id = ?",
            "SELECT COUNT(*) FROM conversation_members WHERE user_id = ? AND left_seq IS NULL",
        ):
            async with db.reader.execute(sql, (int(alice.user_id),)) as cur:
                assert tuple(await cur.fetchone() or ()) == (0,), sql
    finally:
        await root_conn.close()
        await alice_conn.close()
        await alice_phone.close()


async def test_a_deleted_account_leaves_no_block_mute_or_follow_request_behind(
    live: LiveServer,
) -> None:
    from protocol.blocking import ListHidden
    from protocol.profiles import SetProfile
    from protocol.social import ListFollowRequests

    sessions = {n: await live.register(n) for n in ("root", "alice", "bob", "lena")}
    conns = {n: await live.connect(s.token) for n, s in sessions.items()}
    try:
        await conns["alice"].call("block.add", UserRef(username="bob", client_id=key()))
        await conns["bob"].call("mute.add", UserRef(username="alice", client_id=key()))
        await conns["lena"].call("profile.set", SetProfile(locked=True, client_id=key()))
        await conns["alice"].call("follow.add", UserRef(username="lena", client_id=key()))
        waiting = await conns["lena"].call("follow.requests", ListFollowRequests())
        assert [r.username for r in waiting.requests] == ["alice"]

        await conns["root"].call("admin.delete_user", DeleteUser(username="alice"))

        assert (await conns["bob"].call("mute.list", ListHidden())).users == []
        assert (await conns["lena"].call("follow.requests", ListFollowRequests())).requests == []
        async with live.server.db.reader.execute(
            "SELECT (SELECT count(*) FROM user_blocks) + (SELECT count(*) FROM user_mutes)"
            " + (SELECT count(*) FROM follow_requests)"
        ) as cur:
            assert tuple(await cur.fetchone()) == (0,)
    finally:
        for conn in conns.values():
            await conn.close()
