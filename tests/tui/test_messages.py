"""The Messages screen against a real server: two users, each in their own terminal app."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, ListView, Static

from client.chat import ChatClient
from client.core import RoostClient
from client.home import ClientHome
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.tui.test_app import FAST, registered_home, until
from tui.app import RoostApp
from tui.screens.messages import MessagesScreen
from tui.screens.new_chat import NewChatScreen
from tui.widgets.chat import ConversationItem, MessageRow


def rows(app: RoostApp) -> list[MessageRow]:
    return list(app.get_screen_stack("messages")[-1].query(MessageRow)) if _has(app) else []


def _has(app: RoostApp) -> bool:
    return "messages" in app._screen_stacks and bool(app.get_screen_stack("messages"))


def shown(app: RoostApp) -> list[str]:
    """Each message row as the user reads it."""
    return [str(r.render()).replace("\u00a0", " ") for r in rows(app)]


def conversations(app: RoostApp) -> list[str]:
    screen = app.get_screen_stack("messages")[-1]
    # A row is in the DOM a moment before the text inside it is mounted.
    return [str(s.render()) for i in screen.query(ConversationItem) for s in i.query(Static)]


def typing_text(app: RoostApp) -> str:
    return str(app.screen.query_one("#typing", Static).render())


async def open_messages(app: RoostApp, pilot: Pilot[None]) -> MessagesScreen:
    await until(lambda: app.link_state == "connected", "connected")
    await pilot.press("f6")
    await until(lambda: isinstance(app.screen, MessagesScreen), "messages screen")
    assert isinstance(app.screen, MessagesScreen)
    return app.screen


async def write(app: RoostApp, pilot: Pilot[None], text: str) -> None:
    box = app.screen.query_one("#chat-compose", Input)
    await until(lambda: not box.disabled, "compose enabled")
    box.focus()
    await pilot.press(*text)
    await pilot.press("enter")


async def test_a_message_arrives_live_and_the_sender_sees_it_read(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    alice_app = RoostApp(alice_home, backoff=FAST)
    bob_app = RoostApp(bob_home, backoff=FAST)
    async with alice_app.run_test(size=(120, 40)) as alice, bob_app.run_test(size=(80, 24)) as bob:
        await open_messages(bob_app, bob)
        note = bob_app.screen.query_one("#conversations-note", Static)
        await until(lambda: "No conversations yet" in str(note.render()), "empty hint")
        await open_messages(alice_app, alice)
        await alice.press("n")
        await until(lambda: isinstance(alice_app.screen, NewChatScreen), "new chat dialog")
        alice_app.screen.query_one("#new-chat-people", Input).value = "@bob"
        await alice.press("enter")
        await until(lambda: isinstance(alice_app.screen, MessagesScreen), "dialog closed")
        await write(alice_app, alice, "hi bob")

        await until(lambda: bool(shown(alice_app)), "alice sees her message")
        await until(lambda: conversations(bob_app) == ["○ @alice (1)"]
                    or conversations(bob_app) == ["● @alice (1)"], "bob's list, live")  # fmt: skip
        # Bob's app stored it and told the server: alice sees it delivered, not yet read.
        await until(lambda: "✓✓ delivered" in shown(alice_app)[-1], "delivered mark")

        bob_app.screen.query_one("#conversations", ListView).focus()
        await bob.press("enter")
        await until(lambda: any("hi bob" in line for line in shown(bob_app)), "bob reads it")
        await until(lambda: "✓✓ read" in shown(alice_app)[-1], "read mark on alice's side")
        await until(lambda: "(1)" not in conversations(bob_app)[0], "unread cleared")

        # Bob answers; alice has the conversation open, so it appears in place.
        await write(bob_app, bob, "hello alice")
        await until(lambda: any("hello alice" in line for line in shown(alice_app)), "reply live")
        assert [line.split(" ", 1)[1] for line in shown(alice_app)] == [
            "alice hi bob  ✓✓ read",
            "bob hello alice",
        ]


async def test_typing_shows_on_the_other_side_and_ends_with_the_message(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(alice_home) as alice_client:
        await ChatClient(alice_client).send("@bob", "are you there?")
    alice_app = RoostApp(alice_home, backoff=FAST)
    bob_app = RoostApp(bob_home, backoff=FAST)
    async with alice_app.run_test(size=(120, 40)) as alice, bob_app.run_test(size=(120, 40)) as bob:
        for app, pilot in ((alice_app, alice), (bob_app, bob)):
            await open_messages(app, pilot)
            await until(lambda app=app: bool(conversations(app)), "a conversation")
            app.screen.query_one("#conversations", ListView).focus()
            await pilot.press("enter")
            await until(lambda app=app: bool(shown(app)), "history")
        box = alice_app.screen.query_one("#chat-compose", Input)
        box.focus()
        await alice.press(*"yes, writ")
        await until(lambda: typing_text(bob_app) == "alice is typing…", "typing indicator")
        await alice.press(*"ing back", "enter")
        await until(lambda: any("yes, writing back" in x for x in shown(bob_app)), "message")
        await until(lambda: typing_text(bob_app) == "", "indicator gone with the message")


async def test_an_offline_send_is_pending_until_the_server_returns(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=0, shutdown_grace=1.0)
    )
    await server.start()
    url = f"ws://127.0.0.1:{server.port}"
    port = server.port
    home = await registered_home(tmp_path, url, "carol", name="carol")
    dave = await registered_home(tmp_path, url, "dave", name="dave")
    async with RoostClient(home) as carol:
        await ChatClient(carol).send("@dave", "see you at the market")
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_messages(app, pilot)
        await until(lambda: bool(conversations(app)), "conversation listed")
        app.screen.query_one("#conversations", ListView).focus()
        await pilot.press("enter")
        await until(lambda: bool(shown(app)), "history")
        await server.stop()
        await until(lambda: app.link_state != "connected", "offline")

        await write(app, pilot, "running late")
        await until(lambda: any(r.pending_client_id for r in rows(app)), "pending row")
        assert "pending" in shown(app)[-1]
        await until(lambda: app.outbox_count == 1, "queued")

        server = RoostServer(
            ServerConfig(
                registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0
            )
        )
        await server.start()
        seqs = lambda: [(r.message.seq, r.message.text) for r in rows(app)]  # noqa: E731
        await until(lambda: seqs() == [(1, "see you at the market"), (2, "running late")], "sent")
        assert not any(r.pending_client_id for r in rows(app))
        assert "✓ sent" in shown(app)[-1] and "pending" not in shown(app)[-1]
        # The list caught up with the server again, and the conversation is live again.
        note = app.screen.query_one("#conversations-note", Static)
        await until(lambda: "offline" not in str(note.render()), "online list")
        async with RoostClient(dave) as client:
            await ChatClient(client).send("@carol", "no rush")
        await until(lambda: [r.message.seq for r in rows(app)] == [1, 2, 3], "live again")
    async with RoostClient(dave) as client:
        page = (await ChatClient(client).history("@carol", limit=10, before=None)).result
    assert [m.text for m in page.messages] == ["see you at the market", "running late", "no rush"]
    await server.stop()


async def test_a_direct_message_alerts_while_messages_are_not_showing(
    live: LiveServer, tmp_path: Path
) -> None:
    erin_home = await registered_home(tmp_path, live.url, "erin", name="erin")
    frank_home = await registered_home(tmp_path, live.url, "frank", name="frank")
    app = RoostApp(erin_home, backoff=FAST)
    alerts: list[str] = []
    app.alert = alerts.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await open_messages(app, pilot)
        await pilot.press("f2")
        async with RoostClient(frank_home) as frank:
            await ChatClient(frank).send("@erin", "lunch?")
        await until(lambda: alerts == ["Roost: @frank: lunch?"], "desktop notification")
        await pilot.press("f6")
        await until(lambda: conversations(app) and "(1)" in conversations(app)[0], "unread")


async def test_a_direct_message_alerts_before_messages_was_ever_opened(
    live: LiveServer, tmp_path: Path
) -> None:
    jo_home = await registered_home(tmp_path, live.url, "jody", name="jody")
    kim_home = await registered_home(tmp_path, live.url, "kim", name="kim")
    app = RoostApp(jo_home, backoff=FAST)
    alerts: list[str] = []
    app.alert = alerts.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)):
        await until(lambda: app.link_state == "connected", "connected")
        async with RoostClient(kim_home) as kim:
            await ChatClient(kim).send("@jody", "are the bees out?")
        await until(lambda: alerts == ["Roost: @kim: are the bees out?"], "desktop notification")


async def test_a_message_is_kept_and_delivered_before_messages_was_ever_opened(
    live: LiveServer, tmp_path: Path
) -> None:
    lee_home = await registered_home(tmp_path, live.url, "lee", name="lee")
    max_home = await registered_home(tmp_path, live.url, "max", name="max")
    app = RoostApp(lee_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        async with RoostClient(max_home) as max_:
            sent = (await max_.chat.send("@lee", "the smoker is lit")).result
            assert sent is not None

            async def delivered() -> bool:
                await max_.chat.catch_up()
                receipts = await max_.chat.receipts(sent.conversation)
                return any(r.user == "lee" and r.delivered_seq >= sent.seq for r in receipts)

            # Lee's client kept and acknowledged it while Lee was on Home: Max sees it delivered.
            for _ in range(100):
                if await delivered():
                    break
                await pilot.pause(0.05)
            assert await delivered()
        # Offline-ready at once: the message is in Lee's store before the screen asks the server.
        cached = await app.client.chat_store.page(sent.conversation, before=None, limit=5)
        assert len(cached[0]) == 1


async def test_start_a_group_from_the_dialog(live: LiveServer, tmp_path: Path) -> None:
    gina_home = await registered_home(tmp_path, live.url, "gina", name="gina")
    await live.register("hank")
    await live.register("ivan")
    app = RoostApp(gina_home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_messages(app, pilot)
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewChatScreen), "dialog")
        app.screen.query_one("#new-chat-people", Input).value = "hank ivan"
        await pilot.click("#start")
        error = app.screen.query_one("#new-chat-error", Static)
        await until(lambda: "a group needs a name" in str(error.render()), "one-line error")
        app.screen.query_one("#new-chat-name", Input).value = "Allotment"
        app.screen.query_one("#start", Button).press()  # a click now would be a double-click
        await until(
            lambda: conversations(app) == ["# Allotment"], f"group listed {conversations(app)}"
        )
        await until(lambda: any("created the group" in x for x in shown(app)), "created entry")
        await write(app, pilot, "seeds on Saturday")
        await until(lambda: "✓ sent" in shown(app)[-1], "sent to the group")
    async with RoostClient(ClientHome(tmp_path / "gina")) as client:
        listed = (await ChatClient(client).conversations()).result
    assert [(c.name, sorted(c.members)) for c in listed] == [
        ("Allotment", ["gina", "hank", "ivan"])
    ]
