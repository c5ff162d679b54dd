"""Mute and block on someone's profile in the terminal app, against a real server: the keys
and the buttons, the state the card and buttons show, the home timeline losing their posts,
undoing both, and a block made offline shown pending until it is sent."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from client.core import RoostClient
from client.social import Social
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tests.tui.test_explore import other_card, timeline_texts
from tui.app import RoostApp
from tui.screens.home import HomeScreen
from tui.screens.profile import ProfileScreen
from tui.widgets.profile import BlockButton, FollowButton, MuteButton


async def test_mute_and_block_from_a_profile(live: LiveServer, tmp_path: Path) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(alice_home) as alice:
        await Social(alice).follow("bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).post("Smoker lit, going in")

    async def alices_lists() -> tuple[list[str], list[str]]:
        async with RoostClient(alice_home) as alice:
            social = Social(alice)
            blocked = [u.username for u in (await social.blocked()).result.users]
            muted = [u.username for u in (await social.muted()).result.users]
            return blocked, muted

    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await until(lambda: timeline_texts(app) == ["Smoker lit, going in"], "bob's post")
        await pilot.press("escape", "p")  # from the timeline (the post box has the focus)
        await until(lambda: isinstance(app.screen, ProfileScreen), "bob's profile")
        screen = app.screen
        mute = screen.query_one("#mute", MuteButton)
        block = screen.query_one("#block", BlockButton)
        follow = screen.query_one("#follow", FollowButton)
        await until(lambda: "1 follower " in other_card(app), "counts")
        assert (str(mute.label), str(block.label), str(follow.label)) == (
            "Mute",
            "Block",
            "Unfollow",
        )

        await pilot.press("m")
        await until(lambda: str(mute.label) == "Unmute", "muted")
        await until(lambda: "muted by you" in other_card(app), "the card says so")
        assert await alices_lists() == ([], ["bob"])
        assert str(follow.label) == "Unfollow"  # a mute changes no follow
        await until(lambda: timeline_texts(app) == ["Smoker lit, going in"], "his page shows him")

        await pilot.click("#block")  # the button does what the key does
        await until(lambda: str(block.label) == "Unblock", "blocked")
        await until(lambda: "blocked by you" in other_card(app), "the card says so")
        assert str(follow.label) == "Follow"  # the block ended the follow
        note = screen.query_one("#user-posts-note", Static)
        await until(lambda: "You blocked @bob" in str(note.render()), "his posts hidden")
        assert timeline_texts(app) == []
        assert await alices_lists() == (["bob"], ["bob"])

        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, HomeScreen), "back home")
        await until(lambda: timeline_texts(app) == [], "his post left the home timeline")

        await pilot.press("f4", "ctrl+l", *"bob", "enter")  # look him up from your profile
        await until(lambda: bool(app.screen.query("#block")), "his profile again")
        block = app.screen.query_one("#block", BlockButton)
        mute = app.screen.query_one("#mute", MuteButton)
        await until(lambda: str(block.label) == "Unblock", "the state comes from the server")
        assert str(mute.label) == "Unmute"
        await pilot.press("b")
        await until(lambda: str(block.label) == "Block", "unblocked")
        await pilot.press("m")
        await until(lambda: str(mute.label) == "Mute", "unmuted")
        await until(lambda: timeline_texts(app) == ["Smoker lit, going in"], "his posts again")
        assert await alices_lists() == ([], [])


async def test_an_offline_block_is_pending_until_the_server_returns(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(data_dir=tmp_path / "s", port=0, shutdown_grace=1.0, registration="open")
    )
    await server.start()
    port = server.port
    url = f"ws://127.0.0.1:{port}"
    home = await registered_home(tmp_path, url, "dora", name="dora")
    await registered_home(tmp_path, url, "eddie", name="eddie")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f4", "ctrl+l", *"eddie", "enter")
        await until(lambda: "0 followers" in other_card(app), "his profile")
        await server.stop()
        await until(lambda: app.link_state != "connected", "offline")

        await pilot.press("b")
        block = app.screen.query_one("#block", BlockButton)
        await until(lambda: str(block.label) == "Unblock (pending)", "pending block")
        assert "blocked by you" in other_card(app)
        await until(lambda: app.outbox_count == 1, "queued")

        server = RoostServer(
            ServerConfig(
                data_dir=tmp_path / "s", port=port, shutdown_grace=1.0, registration="open"
            )
        )
        await server.start()
        await until(lambda: str(block.label) == "Unblock", "sent")
        await until(lambda: app.outbox_count == 0, "outbox drained")
    async with RoostClient(home) as dora:
        blocked = (await Social(dora).blocked()).result
    assert [u.username for u in blocked.users] == ["eddie"]
    await server.stop()
