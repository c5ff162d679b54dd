"""Keys that do what a person expects (issue #24, "Keys and focus"), against a real server:
letters typed on arrival become a post, single-letter commands act only in a list, Tab is
not lost when typed fast, j/k and Alt+N, `/` on Explore, the 280 counter, and failed sends
that keep their text."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual._xterm_parser import XTermParser
from textual.binding import Binding
from textual.widgets import Input, ListView, Static

from client.core import RoostClient
from client.errors import ClientError
from client.home import ClientHome
from client.social import Social, check_post_text
from protocol.social import GetThread
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, roost_command
from tests.tmux import Terminal
from tests.tui.test_app import FAST, registered_home, until
from tests.tui.test_home import timeline_texts
from tui.app import RoostApp
from tui.keys import read_alt_digits_as_keys
from tui.screens.base import letter_actions
from tui.screens.confirm import ConfirmScreen
from tui.screens.explore import ExploreScreen
from tui.screens.help import HelpScreen
from tui.screens.home import HomeScreen
from tui.screens.login import LoginScreen
from tui.screens.messages import MessagesScreen
from tui.screens.new_chat import NewChatScreen
from tui.widgets.posts import PostItem


def keys_of(text: str) -> list[str]:
    """Pilot key names for typing `text` ("\t" is Tab)."""
    return ["tab" if c == "\t" else c for c in text]


def type_in_one_burst(app: RoostApp, text: str) -> None:
    """Hand the app every key at once, as a terminal does with what was typed (or pasted by
    tmux) in one read: no key waits for the one before it to be handled."""
    assert app._driver is not None
    for c in text:
        key = events.Key("tab", None) if c == "\t" else events.Key(c, c)
        key.set_sender(app)
        app._driver.send_message(key)


async def follower_of_alice(live: LiveServer, tmp_path: Path) -> tuple[ClientHome, ClientHome]:
    alice_home = await registered_home(tmp_path, live.url, "alice", name="alice")
    bob_home = await registered_home(tmp_path, live.url, "bob", name="bob")
    async with RoostClient(bob_home) as bob:
        await Social(bob).follow("alice")
    async with RoostClient(alice_home) as alice:
        await Social(alice).post("the first honey of the year")
    return alice_home, bob_home


async def alices_post(alice_home: ClientHome) -> tuple[int, int, int]:
    """(likes, reposts, replies) of alice's post, as the server has them."""
    async with RoostClient(alice_home) as alice:
        page = await Social(alice).user_timeline("alice", 5)
        post = next(p for p in page.result.posts if p.text == "the first honey of the year")
        thread = await alice.call("post.thread", GetThread(post_id=post.id))
    return thread.post.like_count, thread.post.repost_count, thread.post.reply_count


async def test_typing_on_arrival_becomes_a_post_and_likes_nothing(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: "the first honey of the year" in timeline_texts(app), "timeline")
        await pilot.press(*keys_of("Hello everyone #bees"))
        assert not isinstance(app.screen, ConfirmScreen)  # `t` asked nothing
        assert app.screen.query_one("#compose-note", Static).render().plain == ""  # no `r`
        assert app.screen.query_one("#compose-count", Static).render().plain == "20/280"
        await pilot.press("enter")
        await until(lambda: "Hello everyone #bees" in timeline_texts(app), "the post shown")
        assert app.screen.query_one("#compose", Input).value == ""
        assert app.screen.query_one("#compose", Input).has_focus  # ready for the next one
    assert await alices_post(alice_home) == (0, 0, 0)
    async with RoostClient(bob_home) as bob:
        mine = await Social(bob).user_timeline("bob", 5)
    assert [p.text for p in mine.result.posts] == ["Hello everyone #bees"]


async def test_letters_are_commands_in_the_list_and_a_repost_asks_first(
    live: LiveServer, tmp_path: Path
) -> None:
    alice_home, bob_home = await follower_of_alice(live, tmp_path)
    async with RoostClient(alice_home) as alice:
        await Social(alice).post("a second post, on top")
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: len(timeline_texts(app)) == 2, "two posts")
        timeline = app.screen.query_one("#timeline", ListView)
        await pilot.press("escape")  # out of the post box, into the list
        assert timeline.has_focus
        await pilot.press("j")
        assert timeline.index == 1
        await pilot.press("k", "down")
        assert timeline.index == 1
        await pilot.press("l")
        await until(lambda: app.screen.query(PostItem)[1].post.liked, "liked")
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, ConfirmScreen), "asked before reposting")
        await pilot.press("n")  # no
        assert isinstance(app.screen, HomeScreen)
        assert await alices_post(alice_home) == (1, 0, 0)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, ConfirmScreen), "asked again")
        await pilot.press("y")
        await until(lambda: any(i.post.repost_of for i in app.screen.query(PostItem)), "shown")
        assert await alices_post(alice_home) == (1, 1, 0)
        await pilot.press("r")  # reply: the box takes the focus and says to whom
        assert app.screen.query_one("#compose", Input).has_focus
        note = app.screen.query_one("#compose-note", Static).render().plain
        assert note == "replying to @alice"


async def test_tab_typed_in_one_burst_moves_to_the_next_field(
    live: LiveServer, tmp_path: Path
) -> None:
    await registered_home(tmp_path, live.url, "alice", name="alice")
    app = RoostApp(ClientHome(tmp_path / "new"), backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        app.screen.query_one("#server", Input).value = live.url
        type_in_one_burst(app, "alice\twrongpassword\t")
        password = app.screen.query_one("#password", Input)
        await until(lambda: password.value == "wrongpassword", "the password in its own field")
        assert app.screen.query_one("#username", Input).value == "alice"
        assert app.screen.query_one("#device", Input).has_focus
        await pilot.press("shift+tab", "enter")
        error = app.screen.query_one("#login-error", Static)
        await until(lambda: "password" in error.render().plain, "wrong password said")


async def test_a_long_login_error_wraps_and_stays_in_sight_at_80x24(tmp_path: Path) -> None:
    far = "ws://127.0.0.1:9/" + "a-long-path/" * 6
    app = RoostApp(ClientHome(tmp_path / "new"), backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#server", Input).value = far
        app.screen.query_one("#username", Input).value = "newbie"
        app.screen.query_one("#password", Input).value = "long enough password"
        await pilot.press("enter")
        error = app.screen.query_one("#login-error", Static)
        await until(lambda: "cannot reach" in error.render().plain, "the error")
        await pilot.pause()
        await until(lambda: error.region.bottom <= 23, "the error inside the screen")
        assert error.region.height >= 2  # wrapped, not cut at the box's edge
        assert error.region.width <= 80


async def test_screens_switch_with_alt_digits_and_question_mark_opens_help(
    live: LiveServer, tmp_path: Path
) -> None:
    _, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("alt+6")
        await until(lambda: isinstance(app.screen, MessagesScreen), "messages")
        await pilot.press("alt+8")
        await until(lambda: isinstance(app.screen, ExploreScreen), "explore")
        await pilot.press("alt+2")
        await until(lambda: isinstance(app.screen, HomeScreen), "home")
        await pilot.press("?")  # in the post box: a question mark
        assert app.screen.query_one("#compose", Input).value == "?"
        await pilot.press("escape", "question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), "help from the list")
        await pilot.press("escape", "alt+1")
        await until(lambda: isinstance(app.screen, HelpScreen), "help with Alt+1")


def read_keys(data: str) -> list[tuple[str, str | None]]:
    parser = XTermParser()
    return [(k.key, k.character) for k in [*parser.feed(data), *parser.feed("")]]


def test_a_terminals_alt_digit_is_read_as_alt_digit_and_a_typed_pound_stays_text() -> None:
    read_alt_digits_as_keys()
    assert read_keys("\x1b2") == [("alt+2", None)]  # not "™", typed into the post box
    assert read_keys("\x1b8") == [("alt+8", None)]  # not "•"
    assert read_keys("\x1b\x1b6") == [("escape", "\x1b"), ("alt+6", None)]
    assert read_keys("£") == [("pound_sign", "£")]  # a UK keyboard's Shift+3
    assert read_keys("\x1bj") == [("alt+j", "j")]


async def test_slash_on_explore_goes_to_the_search_box(live: LiveServer, tmp_path: Path) -> None:
    _, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f8")
        await until(lambda: isinstance(app.screen, ExploreScreen), "explore")
        search = app.screen.query_one("#explore-search", Input)
        await pilot.press("/")  # the box has the focus: no literal "/"
        assert search.value == ""
        await pilot.press(*keys_of("honey"), "enter")
        results = app.screen.query_one("#results", ListView)
        await until(lambda: results.has_focus and len(results) > 0, "results")
        await pilot.press("/", "b", "e", "e")  # back to the box; the old query replaced
        assert search.has_focus
        assert search.value == "bee"
        await pilot.press("/")  # inside a query being typed, "/" is a character
        assert search.value == "bee/"


async def test_a_post_over_280_is_counted_and_refused_with_the_clis_words(
    live: LiveServer, tmp_path: Path
) -> None:
    _, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    text = "b" * 279
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: timeline_texts(app) != [], "timeline")
        compose = app.screen.query_one("#compose", Input)
        compose.value = text
        await pilot.press("z", "z")  # nothing is cut: 281 characters
        count = app.screen.query_one("#compose-count", Static)
        assert count.render().plain == "281/280: 1 too many"
        assert count.has_class("over")
        await pilot.press("enter")
        try:
            check_post_text(text + "zz")
        except ClientError as exc:
            cli_words = str(exc)
        assert app.screen.query_one("#compose-note", Static).render().plain == cli_words
        assert compose.value == text + "zz"  # kept, to shorten
        await pilot.press("backspace")
        assert count.render().plain == "280/280"
        assert not count.has_class("over")
        await pilot.press("enter")
        await until(lambda: text + "z" in timeline_texts(app), "sent at 280")


async def test_a_failed_send_keeps_the_typed_text(live: LiveServer, tmp_path: Path) -> None:
    _, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await pilot.press("f6")
        await until(lambda: isinstance(app.screen, MessagesScreen), "messages")
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewChatScreen), "new chat dialog")
        await pilot.press(*keys_of("@nobody"), "enter")
        await until(lambda: isinstance(app.screen, MessagesScreen), "dialog closed")
        compose = app.screen.query_one("#chat-compose", Input)
        await until(lambda: compose.has_focus, "the message box has the focus")
        await pilot.press(*keys_of("need anything from the shop"), "enter")
        await until(lambda: compose.value == "need anything from the shop", "text given back")
        assert isinstance(app.screen, MessagesScreen)  # `n` opened no second dialog


async def test_in_a_real_terminal_tab_alt_digits_and_letters_do_what_they_say(
    live: LiveServer, tmp_path: Path
) -> None:
    """`roost tui` in tmux at 80x24: "alice<Tab>secret" sent in one write fills two fields,
    Alt+6 (ESC 6 from the terminal) opens Messages, and letters typed on Home are a post."""
    await registered_home(tmp_path, live.url, "alice", name="alice")
    terminal = Terminal(width=80, height=24)
    env = {"ROOST_HOME": str(tmp_path / "fresh"), "ROOST_SERVER": live.url}
    try:
        terminal.start([*roost_command(), "tui"], env)
        await terminal.wait_for("Username", timeout=60)
        terminal.send_keys("-l", f"alice\t{PASSWORD}")  # one write, as fast typing arrives
        terminal.send_keys("Enter")
        await terminal.wait_for("What's happening?")
        terminal.send_keys("-l", "tally ho")
        terminal.send_keys("M-6")
        await terminal.wait_for("Conversations")
        terminal.send_keys("M-2")
        screen = await terminal.wait_for("tally ho")  # the draft waited in the post box
        assert "8/280" in screen
        terminal.send_keys("Enter")
        await terminal.wait_for("♡ 0")
    finally:
        terminal.close()
    home = ClientHome(tmp_path / "fresh")
    async with RoostClient(home) as alice:
        mine = await Social(alice).user_timeline("alice", 5)
    assert [p.text for p in mine.result.posts] == ["tally ho"]


async def test_j_and_k_move_in_the_notifications_list_too(live: LiveServer, tmp_path: Path) -> None:
    alice_home, bob_home = await follower_of_alice(live, tmp_path)
    async with RoostClient(bob_home) as bob:
        page = await Social(bob).user_timeline("alice", 5)
        await Social(bob).like(page.result.posts[0].id)
    app = RoostApp(alice_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        notes = app.screen.query_one("#notifications", ListView)
        await until(lambda: len(notes) == 2 and notes.index == 0, "follow and like")
        assert notes.has_focus
        await pilot.press("j")
        assert notes.index == 1
        await pilot.press("k")
        assert notes.index == 0


async def test_tab_typed_in_one_burst_in_the_new_chat_dialog(
    live: LiveServer, tmp_path: Path
) -> None:
    _, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await until(lambda: isinstance(app.screen, MessagesScreen), "messages")
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, NewChatScreen), "new chat dialog")
        type_in_one_burst(app, "alice\tHive keepers")
        name = app.screen.query_one("#new-chat-name", Input)
        await until(lambda: name.value == "Hive keepers", "the group name in its own field")
        assert app.screen.query_one("#new-chat-people", Input).value == "alice"


def test_letter_actions_are_those_on_a_printable_key() -> None:
    bindings = [
        Binding("l", "like", "Like"),
        Binding("slash", "search", "Search"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("escape,n", "answer(False)", "No"),
        Binding("enter", "open_thread", "Thread"),
        ("f", "follow", "Follow"),  # a tuple is not looked at: Roost writes Binding(...)
    ]
    assert letter_actions(bindings) == {"like", "search", "answer(False)"}
    assert letter_actions(HomeScreen.BINDINGS) == {
        "compose", "reply", "like", "repost", "open_author"
    }  # fmt: skip


async def test_a_reply_the_server_refuses_keeps_its_text(live: LiveServer, tmp_path: Path) -> None:
    alice_home, bob_home = await follower_of_alice(live, tmp_path)
    app = RoostApp(bob_home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.link_state == "connected", "connected")
        await until(lambda: timeline_texts(app) == ["the first honey of the year"], "the post")
        await pilot.press("escape", "r")  # reply to alice's post…
        async with RoostClient(alice_home) as alice:  # …which she deletes meanwhile
            await Social(alice).delete(app.screen.query(PostItem).first().post.id)
        await pilot.press(*keys_of("how many jars?"), "enter")
        note = app.screen.query_one("#compose-note", Static)
        await until(lambda: "replying to" not in note.render().plain, "the server's answer")
        assert app.screen.query_one("#compose", Input).value == "how many jars?"
        assert note.render().plain.startswith("no post ")  # the server's one line
    async with RoostClient(bob_home) as bob:
        mine = await Social(bob).user_timeline("bob", 5)
    assert mine.result.posts == []
