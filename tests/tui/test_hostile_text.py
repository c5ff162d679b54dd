"""What someone else wrote cannot drive the reader's terminal through the TUI: rows an older
server stored with escape sequences, BEL, C1 and bidi controls and Textual markup in them
are drawn by every screen with each control made visible and the markup shown as written; the
direct-message alert puts no control character inside its OSC 9 sequence; and a real
terminal (tmux) running `roost tui` keeps its title and its screen."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from client.chat import ChatClient
from client.core import RoostClient
from client.files import RemoteFiles
from client.home import ClientHome
from client.social import Social
from protocol import chat, files
from protocol.envelope import encode_event
from protocol.profiles import SetProfile
from protocol.social import (
    FileHit,
    MessageHit,
    Notification,
    Post,
    PostAttachment,
    Suggestion,
    Tag,
    UserCard,
)
from server.app import RoostServer
from server.config import ServerConfig
from tests.helpers import PASSWORD, roost_command
from tests.hostile import HOSTILE, MARKUP, SEQUENCES, plant, unsafe_in
from tests.tmux import INITIAL_TITLE, Terminal
from tests.tui.test_app import FAST, until
from tui.app import RoostApp
from tui.screens.explore import ExploreScreen
from tui.screens.files import FilesScreen
from tui.screens.messages import MessagesScreen
from tui.screens.notifications import NotificationsScreen, render_notification
from tui.screens.profile import ProfileScreen
from tui.widgets.chat import (
    ConversationItem,
    MessageRow,
    render_conversation,
    render_message,
    typing_line,
)
from tui.widgets.explore import (
    render_file_hit,
    render_message_hit,
    render_suggestion,
    render_tag,
    render_user,
)
from tui.widgets.files import FileRow, render_row
from tui.widgets.posts import render_post
from tui.widgets.profile import ProfileCard


@dataclass
class World:
    server: RoostServer
    alice: ClientHome
    group_id: str
    dm_id: str

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}"


async def signed_up(tmp_path: Path, url: str, name: str, device: str) -> ClientHome:
    home = ClientHome(tmp_path / name)
    async with RoostClient(home) as client:
        await client.register(url, name, PASSWORD, device)
    return home


async def hostile_world(tmp_path: Path) -> World:
    """alice follows mallory; mallory posts (mentioning her, with an attachment), DMs her,
    starts a group with her and sets a profile; alice has a file. The server stops, every
    placeholder becomes what an older server stored, and it starts again on its port."""
    data = tmp_path / "server"
    server = RoostServer(
        ServerConfig(registration="open", data_dir=data, port=0, shutdown_grace=2.0)
    )
    await server.start()
    url = f"ws://127.0.0.1:{server.port}"
    alice = await signed_up(tmp_path, url, "alice", "alice-laptop")
    mallory = await signed_up(tmp_path, url, "mallory", "phone")
    attachment = tmp_path / "ATTACH-NAME.txt"
    attachment.write_text("hello")
    own = tmp_path / "FILE-NAME.txt"
    own.write_text("mine")
    async with RoostClient(alice) as client:
        await Social(client).follow("mallory")
        await RemoteFiles(client).put(own, None)
    async with RoostClient(mallory) as client:
        await Social(client).post_files("@alice FINDME-POST", [attachment])
        dm = (await ChatClient(client).send("@alice", "DM-TEXT")).result
        group = (await ChatClient(client).create_group("GROUP-NAME", ["alice"])).result
        await client.write("profile.set", SetProfile(display_name="DISPLAY-NAME", bio="BIO-TEXT"))
    assert dm is not None and group is not None
    port = server.port
    await server.stop()
    plant(data / "roost.db")
    server = RoostServer(
        ServerConfig(registration="open", data_dir=data, port=port, shutdown_grace=2.0)
    )
    await server.start()
    return World(server, alice, group.id, dm.conversation)


@pytest.fixture
async def world(tmp_path: Path) -> World:
    w = await hostile_world(tmp_path)
    try:
        yield w  # type: ignore[misc]
    finally:
        await w.server.stop()


def drawn(app: RoostApp) -> str:
    """Every character the screen draws right now (toasts included), line by line."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def plain(widget: Static) -> str:
    return str(widget.render())


async def settled(app: RoostApp, pilot: Pilot[None], what: str) -> str:
    """The screen once it draws `what`; it must draw nothing unsafe."""
    await until(lambda: what in drawn(app), f"{what!r} drawn")
    await pilot.pause()
    text = drawn(app)
    assert not unsafe_in(text), (unsafe_in(text), text)
    return text


async def test_every_screen_draws_hostile_text_made_visible_and_markup_as_written(
    world: World,
) -> None:
    app = RoostApp(world.alice, backoff=FAST)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        # Home: the post, its attachment, the author.
        text = await settled(app, pilot, "findme post")
        assert "findme post ␛]0;pwned␇␛]52;c;cHduZWQ=␇␛[2J" in text
        assert "\ufffd2J\ufffdgnp.exe" in text and "attach␛]0;pwned␇" in text

        await pilot.press("f3")  # Notifications: the mention, with the post's text
        await until(lambda: isinstance(app.screen, NotificationsScreen), "notifications")
        text = await settled(app, pilot, "mentioned you")
        assert "findme post ␛]0;pwned␇" in text

        await pilot.press("p")  # the author of the one she is on: mallory's profile
        await until(lambda: isinstance(app.screen, ProfileScreen), "mallory's profile")
        card = app.screen.query_one("#other-card", ProfileCard)
        await until(lambda: "Mallory" in plain(card.query_one("#name", Static)), "her name")
        name = plain(card.query_one("#name", Static))
        assert (
            name
            == "Mallory "
            + MARKUP
            + " ␛]0;pwned␇␛]52;c;cHduZWQ=␇␛[2J␇␛]0;pwned␇\ufffd2J\ufffdgnp.exe␊"
        )
        assert "bio ␛]0;pwned␇" in plain(card.query_one("#bio", Static))
        await settled(app, pilot, "[@click=app.quit]click")
        await pilot.press("escape")

        await pilot.press("f6")  # Messages: the list, a group's title, a DM starting with BEL
        await until(lambda: isinstance(app.screen, MessagesScreen), "messages")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        await until(lambda: len(screen.query(ConversationItem)) == 2, "two conversations")
        await settled(app, pilot, "@mallory")
        rows = [plain(item.query_one(Static)) for item in screen.query(ConversationItem)]
        assert any(row.startswith("# group " + MARKUP + " ␛]0;pwned␇") for row in rows), rows
        screen.open(world.group_id, world.group_id)
        title = screen.query_one("#conversation-title", Static)
        await until(lambda: "second line" in plain(title), "the group's title")
        assert plain(title).startswith("# group " + MARKUP + " ␛]0;pwned␇")
        assert "␊second line — alice, mallory" in plain(title)
        screen.open("@mallory", world.dm_id)
        await until(
            lambda: any("starting with BEL" in plain(r) for r in screen.query(MessageRow)), "DM"
        )
        text = await settled(app, pilot, "starting with BEL")
        assert "mallory ␇␛]0;pwned␇ a message starting with BEL ␛]0;pwned␇" in text

        await pilot.press("f8")  # Explore: people and posts found
        await until(lambda: isinstance(app.screen, ExploreScreen), "explore")
        box = app.screen.query_one("#explore-search", Input)
        box.value = "mallory"
        await box.action_submit()
        await settled(app, pilot, "[@click=app.quit]click")
        box.value = "findme"
        await box.action_submit()
        await settled(app, pilot, "findme post ␛]0;pwned␇")
        box.value = "starting"  # a message of hers found: mallory's DM
        await box.action_submit()
        await settled(app, pilot, "␇␛]0;pwned␇ a message starting with BEL")
        box.value = "file"  # a file of hers found by name
        await box.action_submit()
        await settled(app, pilot, "file\ufffd\ufffdname.txt")

        await pilot.press("f5")  # Devices: a device name with markup in a table cell
        text = await settled(app, pilot, "laptop [@click=app.quit]click")

        await pilot.press("f7")  # Files: a file name with C1 and RTL override
        await until(lambda: isinstance(app.screen, FilesScreen), "files")
        await settled(app, pilot, "file\ufffd\ufffdname.txt")

        app.notify(f"{MARKUP} {SEQUENCES['osc-title']}", title=SEQUENCES["osc52-clipboard"])
        text = await settled(app, pilot, "[@click=app.quit]click me[/]")  # a toast, as written
        assert "␛]0;pwned␇" in text and "␛]52;c;cHduZWQ=␇" in text
        assert app.is_running  # no markup ran an action


def test_the_direct_message_alert_puts_no_control_character_inside_its_sequence() -> None:
    written: list[str] = []
    fake = SimpleNamespace(
        bell=lambda: None,
        is_headless=False,
        _driver=SimpleNamespace(write=written.append),
    )
    text = HOSTILE["DM-TEXT"] + " and a long tail " * 20
    RoostApp.alert(fake, f"Roost: @mallory: {text}")  # type: ignore[arg-type]
    [sequence] = written
    assert sequence.startswith("\x1b]9;Roost: @mallory: ") and sequence.endswith("\x07")
    inside = sequence[len("\x1b]9;") : -1]
    assert not unsafe_in(inside) and "\n" not in inside
    assert len(inside) <= 100 and inside.endswith("…")
    assert inside.startswith("Roost: @mallory: ␇␛]0;pwned␇ a message starting with BEL")


async def test_a_real_terminal_keeps_its_title_and_screen_under_the_tui(world: World) -> None:
    """`roost tui` in tmux: Home draws the hostile post; then a direct message starting with
    BEL arrives live (as an older or another server would push it) and its alert is written
    to the terminal. The pane's title never changes and nothing clears the screen."""
    terminal = Terminal(width=140, height=45)
    env = {"ROOST_HOME": str(world.alice.path), "ROOST_SERVER": world.url}
    try:
        terminal.start([*roost_command(), "tui"], env)
        screen = await terminal.wait_for("findme post", timeout=60)
        assert "␛]0;pwned␇␛]52;c;cHduZWQ=␇␛[2J" in screen
        assert terminal.title == INITIAL_TITLE

        alice_id = int(world.alice.require_account().user_id)
        now = datetime.now(UTC)
        dm = chat.Message(world.dm_id, 99, "mallory", HOSTILE["DM-TEXT"], now)
        world.server.hub.publish([alice_id], encode_event("chat.message", dm))
        # Events are handled in order: once the next one shows, the alert has been written.
        after = Post(id="99", author="mallory", text="after the alert", created_at=now)
        world.server.hub.publish([alice_id], encode_event("post.created", after))
        screen = await terminal.wait_for("after the alert")
        await asyncio.sleep(0.2)
        assert terminal.title == INITIAL_TITLE  # the BEL-first message would set it to pwned
        assert "findme post" in terminal.screen()  # not cleared
    finally:
        terminal.close()


def test_each_renderer_makes_hostile_text_visible() -> None:
    """The widgets' renderers, one by one, with hostile text in every field they show."""
    bad = HOSTILE["DISPLAY-NAME"] + HOSTILE["DM-TEXT"]
    now = datetime.now(UTC)
    post = Post(
        id="1",
        author=bad,
        text=bad,
        created_at=now,
        attachments=[PostAttachment("2", bad, 3)],
    )
    repost = Post(id="3", author=bad, text="", created_at=now, repost_of="1", original=post)
    share = files.Namespace("4", bad, "shared", "viewer", bad, 0)
    rendered = [
        render_post(post),
        render_post(repost),
        render_notification(Notification("5", bad, bad, now, post)),
        render_conversation(chat.Conversation("6", "group", bad, [bad], 1, 0, 1), None),
        render_conversation(chat.Conversation("7", "direct", bad, [bad], 1, 0, 1), True),
        render_message(chat.Message("6", 1, bad, bad, now), "alice", ""),
        render_message(chat.Message("6", 2, bad, bad, now, kind="added", member=bad), "a", ""),
        render_user(UserCard(bad, bad, 1, 1)),
        render_tag(Tag(bad, 1, 1)),
        render_suggestion(Suggestion(bad, bad, 1, 1, [bad])),
        render_message_hit(MessageHit("6", "group", bad, 1, bad, bad, now)),
        render_message_hit(MessageHit("7", "direct", bad, 1, "alice", bad, now)),
        render_file_hit(FileHit("4", "shared", bad, bad, "file", "8", 1, 0)),
        render_file_hit(FileHit("4", "home", "", bad, "dir", "9", 0, 0)),
        render_row(FileRow(bad, "share", 0, "synced", bad, share)),
        render_row(FileRow(f"{bad}/{bad}", "file", 1, "pending", bad)),
    ]
    for text in rendered:
        assert not unsafe_in(text.plain), (unsafe_in(text.plain), text.plain)
        assert "␛]0;pwned␇" in text.plain
    assert MARKUP in render_user(UserCard("mallory", bad, 1, 1)).plain  # as written
    assert not unsafe_in(typing_line([bad, bad])) and "\n" not in typing_line([bad])
