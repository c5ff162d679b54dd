"""The Home and Notifications screens against a real server."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, ListView, Static

from client.core import RoostClient
from client.social import Social
from protocol.social import GetThread, Page
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tui.app import RoostApp
from tui.screens.home import HomeScreen
from tui.widgets.posts import PostItem


def timeline_texts(app: RoostApp) -> list[str]:
    return [item.post.text for item in app.screen.query(PostItem)]


def shown_rows(app: RoostApp) -> str:
    """The text the timeline's rows draw, as far as they are mounted."""
    return "\n".join(str(row.render()) for row in app.screen.query(PostItem))


def pending_count(app: RoostApp) -> int:
    return sum(1 for item in app.screen.query(PostItem) if item.pending_client_id)


async def test_a_followers_open_app_shows_a_new_post_live_and_can_like_it(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).follow("alice")

    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        assert isinstance(app.screen, HomeScreen)
        async with RoostClient(alice_home) as alice:
            written = await Social(alice).post("fresh from the hive #bees")
        assert written.result is not None
        # Live: no reload asks for it (a loaded machine may take more than a second).
        await until(lambda: "fresh from the hive #bees" in timeline_texts(app), "live post")

        app.screen.query_one("#timeline", ListView).focus()  # letters act in the list
        app.screen.query_one("#timeline", ListView).index = 0
        await pilot.press("l")
        await until(lambda: app.screen.query(PostItem).first().post.liked, "liked in the view")
        async with RoostClient(alice_home) as alice:
            thread = await alice.call("post.thread", GetThread(post_id=written.result.id))
        assert thread.post.like_count == 1


async def test_a_timeline_shows_each_attachments_name_and_size(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    photo = tmp_path / "beach.jpg"
    photo.write_bytes(bytes(300_000))
    async with RoostClient(bob_home) as bob:
        await Social(bob).follow("alice")
    async with RoostClient(alice_home) as alice:
        await Social(alice).post_files("at the beach", [photo])

    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)):
        # A row is in the DOM a moment before the text inside it is mounted.
        await until(lambda: "at the beach" in shown_rows(app), "the post drawn")
        assert "📎 beach.jpg  293.0 KiB" in shown_rows(app)


async def test_offline_post_is_pending_until_the_server_returns(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=0, shutdown_grace=1.0)
    )
    await server.start()
    port = server.port
    home = await registered_home(tmp_path, f"ws://127.0.0.1:{port}", "carol")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await server.stop()
        await until(lambda: app.link_state != "connected", "offline")

        app.screen.query_one("#compose", Input).value = "written on a train"
        app.screen.query_one("#compose", Input).focus()
        await pilot.press("enter")
        await until(lambda: pending_count(app) == 1, "pending post")
        assert timeline_texts(app) == ["written on a train"]
        await until(lambda: app.outbox_count == 1, "queued")

        server = RoostServer(
            ServerConfig(
                registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0
            )
        )
        await server.start()
        await until(lambda: pending_count(app) == 0, "sent")
        assert timeline_texts(app) == ["written on a train"]
    async with RoostClient(home) as carol:
        page: Page = (await Social(carol).home()).result
    assert [p.text for p in page.posts] == ["written on a train"]
    await server.stop()


async def test_a_like_queued_offline_shows_its_count_once_the_server_takes_it(
    tmp_path: Path,
) -> None:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=0, shutdown_grace=1.0)
    )
    await server.start()
    port = server.port
    home = await registered_home(tmp_path, f"ws://127.0.0.1:{port}", "dora")
    async with RoostClient(home) as dora:
        await dora.social.post("a queen was seen")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: timeline_texts(app) == ["a queen was seen"], "the post")
        await until(lambda: app.link_state == "connected", "connected")
        await server.stop()
        await until(lambda: app.link_state != "connected", "offline")

        app.screen.query_one("#timeline", ListView).focus()
        app.screen.query_one("#timeline", ListView).index = 0
        await pilot.press("l")
        await until(lambda: app.outbox_count == 1, "the like queued")
        first = app.screen.query(PostItem).first()
        assert first.post.like_count == 0  # not liked until the server says so

        server = RoostServer(
            ServerConfig(
                registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0
            )
        )
        await server.start()
        await until(lambda: app.screen.query(PostItem).first().post.liked, "liked once replayed")
        assert app.screen.query(PostItem).first().post.like_count == 1
        assert "♥ 1" in shown_rows(app)  # drawn, not only held
    await server.stop()


async def test_notifications_screen_lists_and_marks_read(live: LiveServer, tmp_path: Path) -> None:
    dan_home = await registered_home(tmp_path, live.url, "dan", name="dan")
    eve_home = await registered_home(tmp_path, live.url, "eve", name="eve")
    async with RoostClient(eve_home) as eve:
        await Social(eve).follow("dan")
        await Social(eve).post("hello @dan")
    app = RoostApp(dan_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f3")
        title = lambda: str(app.screen.query_one("#notifications-title", Static).render())  # noqa: E731
        await until(lambda: "2 unread" in title(), "two unread")
        await pilot.press("m")
        await until(lambda: "unread" not in title(), "all read")
