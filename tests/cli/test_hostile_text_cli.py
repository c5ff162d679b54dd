"""What someone else wrote cannot drive the reader's terminal through the CLI: rows an older
server stored with escape sequences, BEL, C1 and bidi controls in them (put straight into the
server's SQLite, as a pre-fix server would have stored them) are printed by the real CLI with
every such character made visible, in plain and --json output, and a real terminal (tmux)
keeps its title and its screen."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.helpers import Home, ServerProcess, roost_command
from tests.hostile import HOSTILE, MARKUP, plant, unsafe_in
from tests.tmux import INITIAL_TITLE, Terminal


@dataclass
class Scene:
    server: ServerProcess
    alice: Home
    group_id: str
    post_id: str


async def hostile_scene(server: ServerProcess, make_home: Callable[[str, str], Home]) -> Scene:
    """alice follows mallory; mallory posts (mentioning alice, with an attachment), DMs her,
    starts a group with her and sets a profile; alice has a file. Then the server stops and
    every placeholder is replaced in its database by what an older server stored."""
    alice, mallory = make_home("alice", server.url), make_home("mallory", server.url)
    await alice.ok("register", "alice", "--password-stdin", "--device", "alice-laptop",
                   stdin="correct horse battery\n")  # fmt: skip
    await mallory.register("mallory")
    await alice.ok("follow", "mallory")
    attachment = mallory.path.parent / "ATTACH-NAME.txt"
    attachment.write_text("hello")
    posted = await mallory.ok("post", "@alice FINDME-POST", "--attach", str(attachment), "--json")
    post_id = json.loads(posted.stdout)["id"]
    await mallory.ok("chat", "send", "@alice", "DM-TEXT")
    group_id = (await mallory.ok("chat", "group", "GROUP-NAME", "alice")).stdout.strip()
    await mallory.ok("chat", "send", group_id, "hello group")
    await mallory.ok("profile", "set", "--name", "DISPLAY-NAME", "--bio", "BIO-TEXT")
    own = alice.path.parent / "FILE-NAME.txt"
    own.write_text("mine")
    await alice.ok("files", "put", str(own))

    await server.terminate()
    plant(server.data_dir / "roost.db")
    await server.start()
    return Scene(server, alice, group_id, post_id)


@pytest.fixture
async def scene(server_process: ServerProcess, make_home: Callable[[str, str], Home]) -> Scene:
    return await hostile_scene(server_process, make_home)


def commands(scene: Scene) -> list[tuple[str, ...]]:
    return [
        ("timeline",),
        ("timeline", "--user", "mallory"),
        ("thread", scene.post_id),
        ("user", "mallory"),
        ("profile", "show", "mallory"),
        ("search", "findme"),
        ("search", "starting"),  # mallory's DM, in a conversation named by him
        ("search", "file"),  # alice's file name with C1 and bidi controls
        ("search", "hello"),  # a message in the group whose name holds a newline
        ("notifications",),
        ("chat", "history", "@mallory"),
        ("chat", "history", scene.group_id),
        ("chat", "list"),
        ("files", "ls"),
        ("devices",),
        ("whoami",),
    ]


async def test_the_cli_shows_hostile_rows_with_every_control_made_visible(scene: Scene) -> None:
    shown = ""
    for args in commands(scene):
        result = await scene.alice.ok(*args)
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            assert not unsafe_in(text), (args, stream, unsafe_in(text), text)
        shown += result.stdout
    # What was written is there, visibly: ESC as ␛, BEL as ␇, C1 and bidi as U+FFFD.
    assert "␛]0;pwned␇" in shown and "␛]52;c;cHduZWQ=␇" in shown and "␛[2J" in shown
    assert "␇␛]0;pwned␇ a message starting with BEL" in shown
    assert "\ufffd2J" in shown and "\ufffdgnp.exe" in shown
    assert "file\ufffd\ufffdname.txt" in shown
    search = (await scene.alice.ok("search", "starting")).stdout
    assert "@mallory  " in search and "␇␛]0;pwned␇ a message starting with BEL" in search
    assert "file\ufffd\ufffdname.txt" in (await scene.alice.ok("search", "file")).stdout
    group = (await scene.alice.ok("search", "hello")).stdout
    assert "group " + MARKUP in group and "␊second line › @mallory" in group
    # Names stay on their line: the group's name and the display name bring no new line.
    assert "␊second line" in shown and "\nsecond line" not in shown
    assert MARKUP in shown  # shown as written, not obeyed


async def test_json_output_carries_the_same_text_escaped(scene: Scene) -> None:
    for args in commands(scene):
        if args[0] in ("thread",):
            continue
        result = await scene.alice.ok(*args, "--json") if args != ("whoami",) else None
        if result is None:
            continue
        assert not unsafe_in(result.stdout), (args, unsafe_in(result.stdout))
        json.loads(result.stdout)
    history = json.loads((await scene.alice.ok("chat", "history", "@mallory", "--json")).stdout)
    assert history["messages"][0]["text"] == HOSTILE["DM-TEXT"]  # the value itself is unchanged


async def test_a_real_terminal_keeps_its_title_and_screen(scene: Scene) -> None:
    terminal = Terminal()
    env = {k: v for k, v in scene.alice.env().items() if k in ("ROOST_HOME", "ROOST_SERVER")}
    try:
        terminal.start([*roost_command(), "timeline", "--user", "mallory"], env)
        screen = await terminal.wait_for("END-OF-COMMAND")
        assert terminal.title == INITIAL_TITLE  # OSC 0 would have set it to "pwned"
        assert "findme post ␛]0;pwned␇" in screen
        terminal.close()

        terminal = Terminal()
        terminal.start([*roost_command(), "chat", "history", "@mallory"], env)
        screen = await terminal.wait_for("END-OF-COMMAND")
        assert terminal.title == INITIAL_TITLE
        lines = screen.splitlines()
        # Nothing was cleared: the first message is still on screen above the end marker.
        assert any("a message starting with BEL" in line for line in lines), screen
        assert "␇␛]0;pwned␇" in screen
    finally:
        terminal.close()


async def test_a_name_typed_with_a_newline_is_refused_in_one_line(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    refused = await alice.run("register", "alice\n", "--password-stdin", stdin="correct horse\n")
    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr == (
        "error: the user name must be 3-32 letters, digits or underscores;"
        " compared case-insensitively [invalid_args]\n"
    )
    await alice.register("alice")
    refused = await alice.run("profile", "set", "--name", "Alice\x1b]0;pwned\x07")
    assert refused.code == 1 and refused.stderr.count("\n") == 1
    assert "the name must be at most 64 characters, no control characters" in refused.stderr
    assert json.loads((await alice.ok("outbox", "--json")).stdout) == {"entries": []}  # none
