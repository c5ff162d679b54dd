"""The Explore screen and other people's profiles against a real server."""

from __future__ import annotations

from pathlib import Path

import msgspec
from textual.widgets import Input, ListView, Static

from client.chat import ChatClient
from client.core import RoostClient
from client.files import RemoteFiles
from client.social import Social
from protocol.social import UserProfile
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, card_text, registered_home, until
from tui.app import RoostApp
from tui.screens.explore import ExploreScreen
from tui.screens.home import HomeScreen
from tui.screens.messages import MessagesScreen
from tui.screens.profile import ProfileScreen
from tui.screens.thread import ThreadScreen
from tui.widgets.chat import MessageRow
from tui.widgets.explore import (
    FileItem,
    MessageItem,
    SectionTitle,
    SuggestionRow,
    TagItem,
    UserItem,
)
from tui.widgets.posts import PostItem
from tui.widgets.profile import FollowButton


def results(app: RoostApp) -> list[str]:
    """What the search results show: `@user` for people, the text for posts."""
    view = app.screen.query_one("#results", ListView)
    return [
        f"@{item.user.username}" if isinstance(item, UserItem) else item.post.text
        for item in view.children
        if isinstance(item, UserItem | PostItem)
    ]


def other_card(app: RoostApp) -> str:
    """The text of someone else's profile card, or "" while it is not on screen yet."""
    return card_text(app, "#other-card") if app.screen.query("#other-card") else ""


def timeline_texts(app: RoostApp) -> list[str]:
    return [item.post.text for item in app.screen.query(PostItem)]


async def search(app: RoostApp, query: str) -> None:
    box = app.screen.query_one("#explore-search", Input)
    box.value = query
    await box.action_submit()


async def test_search_finds_people_and_posts_and_a_trending_tag_searches_itself(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bobby", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).post("Swarm season is here #bees")
        await Social(bob).post("Jam from the plum tree")

    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f8")
        await until(lambda: isinstance(app.screen, ExploreScreen), "explore screen")

        await search(app, "bobb")  # people match by the start of a name
        await until(lambda: results(app) == ["@bobby"], "bobby found")

        await search(app, "plum")
        await until(lambda: results(app) == ["Jam from the plum tree"], "the post found")
        await until(lambda: app.screen.query_one("#results").has_focus, "results focused")

        trending = app.screen.query_one("#trending", ListView)
        await until(lambda: len(trending.query(TagItem)) == 1, "#bees trending")
        await pilot.click(TagItem)
        await until(lambda: results(app) == ["Swarm season is here #bees"], "tag searched")
        assert app.screen.query_one("#explore-search", Input).value == "#bees"

        await search(app, "bobby")
        await until(lambda: results(app) == ["@bobby"], "bobby again")
        await pilot.press("enter")  # the results have the focus: open his profile
        await until(lambda: isinstance(app.screen, ProfileScreen), "his profile")
        await until(lambda: "2 posts" in other_card(app), "his counts")


def sections(app: RoostApp) -> list[str]:
    view = app.screen.query_one("#results", ListView)
    # A row is in the DOM a moment before the text inside it is mounted.
    return [str(s.render()) for item in view.query(SectionTitle) for s in item.query(Static)]


async def test_search_shows_each_kind_and_a_message_opens_its_conversation(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).post("Swarm report from the orchard #swarming")
        await ChatClient(bob).send("@alice", "the swarm is in the oak tree")
    async with RoostClient(alice_home) as alice:
        local = tmp_path / "notes.txt"
        local.write_text("where the swarms went")
        await RemoteFiles(alice).put(local, "Swarm notes.txt")

    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f8")
        await until(lambda: isinstance(app.screen, ExploreScreen), "explore screen")
        await search(app, "swarm")
        await until(
            lambda: sections(app) == ["Posts (1)", "Tags (1)", "Messages (1)", "Files (1)"],
            "a section per kind found",
        )
        view = app.screen.query_one("#results", ListView)
        first = lambda: isinstance(view.highlighted_child, PostItem)  # noqa: E731
        await until(first, "the cursor on the first hit, not on a title")
        [message] = view.query(MessageItem)
        assert "the swarm is in the oak tree" in str(message.query_one(Static).render())
        assert "Swarm notes.txt" in str(view.query_one(FileItem).query_one(Static).render())
        title = str(app.screen.query_one("#results-title", Static).render())
        assert "1 post, 1 tag, 1 message, 1 file" in title

        view.index = list(view.children).index(message)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, MessagesScreen), "messages")
        texts = lambda: [r.message.text for r in app.screen.query(MessageRow)]  # noqa: E731
        await until(lambda: texts() == ["the swarm is in the oak tree"], "its conversation open")


async def test_following_a_suggestion_brings_their_posts_home(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    carol_home = await registered_home(tmp_path, live.url, "carol", name="carol")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).post("Hive inspection done, queen spotted")
    async with RoostClient(carol_home) as carol:
        await Social(carol).follow("bob")
    async with RoostClient(alice_home) as alice:
        await Social(alice).follow("carol")

    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        assert "Hive inspection done, queen spotted" not in timeline_texts(app)
        await pilot.press("f8")
        rows = lambda: list(app.screen.query(SuggestionRow))  # noqa: E731
        await until(lambda: [r.suggestion.username for r in rows()] == ["bob"], "bob suggested")
        button = rows()[0].button
        assert str(button.label) == "Follow"
        button.press()
        await until(lambda: str(button.label) == "Following", "following")

        await pilot.press("f2")
        assert isinstance(app.screen, HomeScreen)
        await until(
            lambda: "Hive inspection done, queen spotted" in timeline_texts(app), "bob at home"
        )
    async with RoostClient(bob_home) as bob:
        followers = (await Social(bob).followers()).result
    assert sorted(u.username for u in followers.users) == ["alice", "carol"]


async def test_open_a_profile_from_a_post_then_unfollow_and_follow_again(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(alice_home) as alice:
        await Social(alice).follow("bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).post("Smoker lit, going in")

    async def followers_of_bob() -> list[str]:
        async with RoostClient(bob_home) as bob:
            return [u.username for u in (await Social(bob).followers()).result.users]

    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await until(lambda: timeline_texts(app) == ["Smoker lit, going in"], "bob's post")
        app.screen.query_one("#timeline", ListView).focus()  # letters act in the list
        app.screen.query_one("#timeline", ListView).index = 0
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, ProfileScreen), "bob's profile")
        await until(lambda: "1 follower " in other_card(app), "counts")
        assert "Bob T." in other_card(app)
        await until(lambda: timeline_texts(app) == ["Smoker lit, going in"], "his posts")
        await pilot.press("enter")  # his post, with its replies
        await until(lambda: isinstance(app.screen, ThreadScreen), "the thread")
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, ProfileScreen), "back on his profile")
        button = app.screen.query_one("#follow", FollowButton)
        assert str(button.label) == "Unfollow"

        await pilot.press("f")
        await until(lambda: str(button.label) == "Follow", "unfollowed")
        assert "0 followers" in other_card(app)
        assert await followers_of_bob() == []

        await pilot.press("f")
        await until(lambda: str(button.label) == "Unfollow", "followed again")
        assert "1 follower " in other_card(app)
        assert await followers_of_bob() == ["alice"]
        cached = await app.client.cache.get("user.profile", "bob")
        assert cached is not None  # what an offline visit will show: followed
        assert msgspec.json.decode(cached.value, type=UserProfile).you_follow

        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, HomeScreen), "back home")


async def test_an_offline_follow_is_pending_until_the_server_returns(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=0, shutdown_grace=1.0)
    )
    await server.start()
    port = server.port
    url = f"ws://127.0.0.1:{port}"
    home = await registered_home(tmp_path, url, "dora", name="dora")
    await registered_home(tmp_path, url, "eddie", name="eddie")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f4")
        lookup = app.screen.query_one("#lookup", Input)
        lookup.value = "@eddie"
        await lookup.action_submit()
        await until(lambda: getattr(app.screen, "username", None) == "eddie", "his profile")
        await until(lambda: "0 followers" in other_card(app), "his profile")
        note = app.screen.query_one("#user-posts-note", Static)
        await until(lambda: str(note.render()) == "No posts yet.", "an empty state that says so")
        await server.stop()
        await until(lambda: app.link_state != "connected", "offline")

        await pilot.press("f")
        button = app.screen.query_one("#follow", FollowButton)
        await until(lambda: str(button.label) == "Unfollow (pending)", "pending follow")
        assert "1 follower " in other_card(app)
        await until(lambda: app.outbox_count == 1, "queued")

        server = RoostServer(
            ServerConfig(
                registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0
            )
        )
        await server.start()
        await until(lambda: str(button.label) == "Unfollow", "sent")
        await until(lambda: app.outbox_count == 0, "outbox drained")
    async with RoostClient(home) as dora:
        following = (await Social(dora).following()).result
    assert [u.username for u in following.users] == ["eddie"]
    await server.stop()
