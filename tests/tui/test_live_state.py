"""Live state that stays right, against a real server: receipts after a reply, an offline
start that catches up when the server comes, retry now, unread counts in the nav bar, a
reply's parent count and label, the empty home's hint."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from textual.widgets import Input, ListView, Static

from client.backoff import Backoff
from client.core import RoostClient
from client.social import Social
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tests.tui.test_home import timeline_texts
from tests.tui.test_messages import open_messages, shown, write
from tui.app import RoostApp
from tui.screens.home import HomeScreen
from tui.screens.thread import ThreadItem, ThreadScreen
from tui.widgets.nav_bar import NavBar, badge, nav_items
from tui.widgets.posts import PostItem

SLOW = Backoff(base=60.0, cap=60.0)  # only "retry now" reconnects within a test


def nav_text(app: RoostApp) -> str:
    return str(app.screen.query_one(NavBar).render())


def home_note(app: RoostApp) -> str:
    return str(app.screen.query_one("#compose-note", Static).render())


def server_at(tmp_path: Path, port: int = 0) -> RoostServer:
    return RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0)
    )


async def test_receipts_turn_to_read_live_and_reading_while_open_leaves_nothing_unread(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(alice_home) as alice_client:
        await alice_client.chat.send("@bob", "first")
    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot, RoostClient(bob_home) as bob:
        await open_messages(app, pilot)
        app.screen.query_one("#conversations", ListView).focus()
        await pilot.press("enter")
        await until(lambda: any("first" in line for line in shown(app)), "conversation open")
        await write(app, pilot, "are you there?")
        await until(lambda: "✓ sent" in shown(app)[-1], "sent mark")

        await bob.chat.send("@alice", "yes!")
        await until(lambda: any("yes!" in line for line in shown(app)), "the reply, live")
        await bob.chat.read("@alice")
        await until(lambda: "✓✓ read" in shown(app)[-2], "read mark, live")
        assert "✓✓ read" in shown(app)[1]

        # Alice read bob's reply while it was open: after leaving, nothing counts unread.
        await pilot.press("f2")
        await until(lambda: isinstance(app.screen, HomeScreen), "home")
        async with RoostClient(alice_home) as check:
            listed = (await check.chat.conversations()).result
        assert [c.unread for c in listed] == [0]
        assert not re.search(r"Messages \d", nav_text(app))


async def test_unread_messages_and_alerts_show_in_the_nav_bar_on_every_screen(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot, RoostClient(alice_home) as alice:
        await until(lambda: app.link_state == "connected", "connected")
        assert not re.search(r"(Messages|Alerts) \d", nav_text(app))
        await alice.chat.send("@bob", "psst")
        await Social(alice).post("hello @bob")
        await until(lambda: "Messages 1" in nav_text(app), "messages badge")
        await until(lambda: "Alerts 1" in nav_text(app), "alerts badge")
        await pilot.press("f5")
        await until(lambda: app.current_mode == "devices", "devices")
        await until(lambda: "Messages 1" in nav_text(app), "the badge on another screen")

        await open_messages(app, pilot)
        app.screen.query_one("#conversations", ListView).focus()
        await pilot.press("enter")
        await until(lambda: not re.search(r"Messages \d", nav_text(app)), "read: badge gone")
        assert "Alerts 1" in nav_text(app)


async def test_an_app_started_offline_catches_up_when_the_server_comes(
    tmp_path: Path,
) -> None:
    server = server_at(tmp_path)
    await server.start()
    port = server.port
    alice_home = await registered_home(tmp_path, f"ws://127.0.0.1:{port}", "alice", "alice")
    bob_home = await registered_home(tmp_path, f"ws://127.0.0.1:{port}", "bob", "bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).follow("alice")
    async with RoostClient(alice_home) as alice:
        await Social(alice).post("written while bob was away")
    await server.stop()

    app = RoostApp(bob_home, backoff=SLOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: "offline" in home_note(app), "offline note")
        await until(lambda: app.link_state == "reconnecting", "waiting to reconnect")
        await until(lambda: "retry now" in str(app.screen.query_one("#link").render()), "retry")

        server = server_at(tmp_path, port)
        await server.start()
        await pilot.pause()
        app.action_retry_now()  # what the status bar's "retry now" runs
        await until(lambda: app.link_state == "connected", "connected at once, not in 60 s")
        await until(
            lambda: "written while bob was away" in timeline_texts(app), "the timeline, fetched"
        )
        await until(lambda: home_note(app) == "", "offline note gone")
    await server.stop()


async def test_a_reply_raises_its_parents_count_at_once_and_its_label_goes(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).follow("alice")
    async with RoostClient(alice_home) as alice:
        await Social(alice).post("who wants honey?")
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: "who wants honey?" in timeline_texts(app), "alice's post")
        timeline = app.screen.query_one("#timeline", ListView)
        for _ in range(50):  # the first page may still be redrawn under a highlight made early
            timeline.focus()
            timeline.index = 0
            await pilot.press("r")
            if "replying to @alice" in home_note(app):
                break
            await asyncio.sleep(0.1)
        assert "replying to @alice" in home_note(app), "reply label"
        box = app.screen.query_one("#compose", Input)
        box.value = "me please"
        box.focus()
        await pilot.press("enter")
        await until(lambda: "me please" in timeline_texts(app), "the reply on top")
        assert home_note(app) == ""
        parent = next(i for i in app.screen.query(PostItem) if i.post.text == "who wants honey?")
        await until(lambda: parent.post.reply_count == 1, "parent's reply count")


async def test_an_empty_home_says_how_to_find_people(live: LiveServer, tmp_path: Path) -> None:
    home = await registered_home(tmp_path, live.url, "newbie")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        hint = app.screen.query_one("#home-empty", Static)
        await until(lambda: hint.display, "empty hint")
        assert "F8" in str(hint.render()) and "roost suggest" in str(hint.render())
        box = app.screen.query_one("#compose", Input)
        box.value = "my first post"
        box.focus()
        await pilot.press("enter")
        await until(lambda: not hint.display, "hint gone once there is a post")


async def test_the_thread_view_replies_likes_reposts_and_indents_replies(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).follow("alice")
    async with RoostClient(alice_home) as alice:
        root = (await Social(alice).post("the queen is laying")).result
        assert root is not None
        first = (await Social(alice).post("eggs everywhere", root.id)).result
        assert first is not None
        await Social(alice).post("(and larvae)", first.id)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: "the queen is laying" in timeline_texts(app), "alice's post")
        timeline = app.screen.query_one("#timeline", ListView)
        timeline.focus()
        timeline.index = timeline_texts(app).index("the queen is laying")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ThreadScreen), "the thread")

        def rows() -> list[tuple[str, int]]:
            return [(i.post.text, i.depth) for i in app.screen.query(ThreadItem)]

        await until(lambda: len(rows()) == 3, "the thread's posts")
        assert rows() == [("the queen is laying", 0), ("eggs everywhere", 1), ("(and larvae)", 2)]

        await pilot.press("l")
        await until(lambda: app.screen.query(ThreadItem).first().post.liked, "liked")
        await pilot.press("t")
        await until(lambda: app.screen.query(ThreadItem).first().post.repost_count == 1, "repost")

        app.screen.query_one("#thread-posts", ListView).index = 1
        await pilot.press("r")
        await pilot.press(*"so many")
        await pilot.press("enter")
        await until(lambda: ("so many", 2) in rows(), "my reply under the one it answers")
        assert [t for t, _ in rows()].index("so many") == 3  # under "eggs everywhere"'s own
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, HomeScreen), "back home")
        post = next(i.post for i in app.screen.query(PostItem) if i.post.text == root.text)
        assert post.liked and post.like_count == 1  # the like shows on Home at once
        assert post.repost_count == 1
        assert "so many" in timeline_texts(app)  # the reply written there, here too

    async with RoostClient(alice_home) as alice:
        thread = (await Social(alice).thread(root.id)).result
    assert (thread.post.like_count, thread.post.repost_count) == (1, 1)
    assert [(r.author, r.text) for r in thread.replies if r.author == "bob"] == [("bob", "so many")]


@pytest.mark.parametrize("messages,alerts", [(0, 0), (1, 1), (12, 7), (250, 1000)])
def test_the_nav_line_with_unread_counts_fits_80_columns(messages: int, alerts: int) -> None:
    counts = {"messages": messages, "notifications": alerts}
    items = nav_items(RoostApp.BINDINGS, counts)
    if sum(len(plain) for _, plain, _ in items) > 80:
        items = nav_items(RoostApp.BINDINGS, counts, gap="")
    line = "".join(plain for _, plain, _ in items)
    assert len(line) <= 80 and "F8 Explore" in line
    if messages:
        assert f"Messages {badge(messages)}" in line


async def test_a_cached_page_paints_first_then_the_rest_follows(tmp_path: Path) -> None:
    """Offline, the first screenful is in Home's first layout and the rest of the cached
    page follows it, every post once and in order."""
    from datetime import UTC, datetime

    import msgspec

    from client.home import Account, ClientHome
    from protocol.social import Page, Post

    home = ClientHome(tmp_path / "cached")
    home.save(Account("ws://127.0.0.1:9", "1", "alice", "2", "laptop"), "token")
    now = datetime.now(UTC)
    posts = [Post(str(100 - i), "bob", f"cached post {i}", now) for i in range(20)]
    async with RoostClient(home) as client:
        await client.cache.put("timeline.home", "alice:20:", msgspec.json.encode(Page(posts, None)))
    app = RoostApp(home, connect=False)
    async with app.run_test(size=(120, 40)):
        await until(lambda: len(timeline_texts(app)) == 20, "the whole cached page")
        assert timeline_texts(app) == [p.text for p in posts]
        await until(lambda: "offline" in home_note(app), "offline note")
