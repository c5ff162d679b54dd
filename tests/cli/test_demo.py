"""`roost demo`: a throwaway server with alice and bob, through the real `roost` commands.

The command it prints lets a second terminal join as bob; Ctrl-C, SIGTERM or quitting the app
stop the server and leave nothing behind (unless --keep); the app path runs in tmux.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers import SECOND, Home, roost_command
from tests.tmux import Terminal

JOIN = re.compile(r"^\s*(ROOST_HOME=\S+ roost tui)\s*$", re.MULTILINE)
URL = re.compile(r"a server on (ws://\S+)")


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TMPDIR=str(tmp_path), ROOST_HOME=str(tmp_path / "someone-else"))
    env.pop("ROOST_SERVER", None)
    env.pop("ROOST_DEBUG", None)
    return env


def _ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job starts


async def _started(
    tmp_path: Path, *flags: str, ctrl_c_ignored: bool = False
) -> tuple[asyncio.subprocess.Process, str]:
    """`roost demo --no-tui FLAGS` once it is set up and waiting; what it printed so far."""
    demo = await asyncio.create_subprocess_exec(
        *roost_command(), "demo", "--no-tui", *flags,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=_env(tmp_path),
        preexec_fn=_ignore_ctrl_c if ctrl_c_ignored else None,
    )  # fmt: skip
    assert demo.stderr is not None
    printed = ""
    async with asyncio.timeout(120 * SECOND):
        while "Ctrl-C stops the server" not in printed:
            line = await demo.stderr.readline()
            assert line, f"roost demo ended early:\n{printed}"
            printed += line.decode()
    return demo, printed


def _bob(printed: str) -> Home:
    """bob's home, from the command the demo printed (ROOST_HOME=... roost tui)."""
    join = JOIN.search(printed)
    assert join, printed
    assignment = shlex.split(join.group(1))[0]
    url = URL.search(printed)
    assert url, printed
    return Home(Path(assignment.removeprefix("ROOST_HOME=")), url.group(1))


def _refused(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as s:
        return s.connect_ex((parts.hostname or "", parts.port or 0)) != 0


async def _end(demo: asyncio.subprocess.Process) -> None:
    """A demo a failed test left running: SIGTERM lets it stop its server and clean up."""
    if demo.returncode is None:
        demo.terminate()
        try:
            await asyncio.wait_for(demo.wait(), 30 * SECOND)
        except TimeoutError:
            demo.kill()


async def test_demo_sets_up_two_people_and_its_command_joins_as_bob(tmp_path: Path) -> None:
    # Started as from a script that ignores Ctrl-C: the demo still ends on it.
    demo, printed = await _started(tmp_path, ctrl_c_ignored=True)
    try:
        await _joins_as_bob_then_ctrl_c_ends_it(demo, printed, tmp_path)
    finally:
        await _end(demo)


async def _joins_as_bob_then_ctrl_c_ends_it(
    demo: asyncio.subprocess.Process, printed: str, tmp_path: Path
) -> None:
    bob = _bob(printed)

    timeline = json.loads((await bob.ok("timeline", "--json")).stdout)
    posts = timeline["posts"] if isinstance(timeline, dict) else timeline
    assert {p["author"] for p in posts} == {"alice", "bob"}
    assert any("Welcome to our Roost" in p["text"] for p in posts)
    history = (await bob.ok("chat", "history", "@alice")).stdout
    assert "lunch on Friday?" in history and "Noon at the usual place?" in history
    assert "notes.txt" in (await bob.ok("files", "ls", "Shared")).stdout
    url = URL.search(printed)
    assert url

    demo.send_signal(signal.SIGINT)  # Ctrl-C
    assert await asyncio.wait_for(demo.wait(), 30 * SECOND) == 0
    assert list(tmp_path.glob("roost-demo-*")) == []  # server data and both homes: gone
    assert _refused(url.group(1))  # and the server stopped


async def test_demo_keep_leaves_the_folder_and_says_how_to_serve_it_again(
    tmp_path: Path,
) -> None:
    demo, printed = await _started(tmp_path, "--keep")
    try:
        await _keep_then_sigterm(demo, printed, tmp_path)
    finally:
        await _end(demo)


async def _keep_then_sigterm(
    demo: asyncio.subprocess.Process, printed: str, tmp_path: Path
) -> None:
    url = URL.search(printed)
    assert url
    demo.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(demo.wait(), 30 * SECOND) == 0
    assert demo.stderr is not None
    rest = (await demo.stderr.read()).decode()
    [folder] = tmp_path.glob("roost-demo-*")
    assert {"server", "alice", "bob"} <= {p.name for p in folder.iterdir()}
    assert f"Kept {folder}: start its server again with roost serve --data" in rest
    assert _refused(url.group(1))


async def test_demo_opens_the_app_as_alice_and_quitting_removes_everything(
    tmp_path: Path,
) -> None:
    terminal = Terminal()
    try:
        terminal.start([*roost_command(), "demo"], _env(tmp_path))
        await terminal.wait_for("Press Enter", timeout=120)
        screen = terminal.tmux("capture-pane", "-p", "-J", "-t", "t")  # a long path wraps
        assert JOIN.search(screen), screen  # the command for a second terminal is on screen
        terminal.send_keys("Enter")
        await terminal.wait_for("Welcome to our Roost", timeout=60)
        terminal.send_keys("C-q")
        screen = await terminal.wait_for("END-OF-COMMAND", timeout=60)
        assert "Demo over: removed" in screen
        assert list(tmp_path.glob("roost-demo-*")) == []
    finally:
        terminal.close()
