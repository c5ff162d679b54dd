"""roost demo: a throwaway server in a temporary folder with two people (alice and bob), a few
posts, a conversation and a shared folder; then the terminal app as alice.

Everything runs through the real `roost` commands (the server is `roost serve`, the people are
set up with `roost register`, `post`, `chat send`, `share`...), so the demo shows what a group
gets. Ctrl-C, quitting the app or SIGTERM stop the server and remove the folder (--keep keeps
it); a second terminal joins as bob with the command printed first.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from cli import output

PEOPLE = ("alice", "bob")
PASSWORD = "roost-demo-password"  # a throwaway server on 127.0.0.1 only
LISTENING = re.compile(r"Roost listening on (ws://\S+)")
START_TIMEOUT = 30.0  # seconds for the server to say where it listens


class DemoFailed(Exception):
    """A step of setting up the demo failed; the message says which, and why."""


@dataclass(frozen=True)
class Demo:
    folder: Path
    url: str

    def home(self, person: str) -> Path:
        return self.folder / person

    def join_command(self, person: str) -> str:
        return f"ROOST_HOME={shlex.quote(str(self.home(person)))} roost tui"


def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the folder (server data and both homes) after.")
    ] = False,
    no_tui: Annotated[
        bool,
        typer.Option(
            "--no-tui",
            help="Set up and print how to join, then wait for Ctrl-C instead of opening the"
            " terminal app here.",
        ),
    ] = False,
) -> None:
    """A throwaway server on this machine with two people (alice and bob), posts, a chat and a
    shared folder, opened in the terminal app as alice; a second terminal joins as bob.
    Quitting removes everything (unless --keep)."""
    folder = Path(tempfile.mkdtemp(prefix="roost-demo-"))
    failed = None
    try:
        with _stopped_on_sigterm(), _server(folder) as url:
            setup = Demo(folder, url)
            output.note(f"Roost demo: a server on {url} (data in {folder / 'server'})")
            _seed(setup)
            _tell(setup)
            if no_tui:
                output.note("Waiting; Ctrl-C stops the server and ends the demo.")
                _wait_for_interrupt()
            else:
                _open_app(setup)
    except KeyboardInterrupt:
        pass
    except DemoFailed as exc:
        failed = str(exc)
    finally:  # whatever happened, the server has stopped: the folder goes (or is kept)
        _finish(folder, keep)
    if failed is not None:
        raise typer.Exit(_fail(failed))


def _fail(message: str) -> int:
    output.note(f"error: {message}")
    return 1


def _finish(folder: Path, keep: bool) -> None:
    if keep:
        output.note(
            f"Kept {folder}: start its server again with"
            f" roost serve --data {shlex.quote(str(folder / 'server'))}"
        )
        return
    shutil.rmtree(folder, ignore_errors=True)
    output.note(f"Demo over: removed {folder}")


@contextmanager
def _stopped_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the demo as Ctrl-C does: the server stops and the folder goes."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    # Ctrl-C too, even when started from a script that ignores it (a shell's background job
    # inherits SIGINT ignored, and the demo would then wait forever).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def _roost(*args: str) -> list[str]:
    """This very `roost`, whichever way it was started (script or python -m cli)."""
    return [sys.executable, "-m", "cli", *args]


@contextmanager
def _server(folder: Path) -> Iterator[str]:
    """`roost serve` on a free loopback port, data in folder/server; its URL. Its log goes to
    folder/server.log; it is stopped on the way out, whatever happens."""
    log_path = folder / "server.log"
    data = str(folder / "server")
    serve = _roost("serve", "--port", "0", "--data", data, "--registration", "open")
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            serve,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=_env(folder / "operator"),
            start_new_session=True,  # Ctrl-C in this terminal is ours to handle, not its
        )
    try:
        yield _listening(server, log_path)
    finally:
        _stop(server)


def _listening(server: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if found := LISTENING.search(text):
            return found.group(1)
        if server.poll() is not None:
            last = text.strip().splitlines()[-1:] or ["(nothing logged)"]
            raise DemoFailed(f"the demo server did not start: {last[0]}")
        time.sleep(0.05)
    raise DemoFailed(f"the demo server did not start within {START_TIMEOUT:.0f} s (see {log})")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _env(home: Path) -> Mapping[str, str]:
    env = dict(os.environ)
    env["ROOST_HOME"] = str(home)
    env.pop("ROOST_SERVER", None)
    return env


def _as(setup: Demo, person: str, *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        _roost(*args),
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(setup.home(person)),
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise DemoFailed(f"{person}: roost {shlex.join(args)}: {why}")


def _seed(setup: Demo) -> None:
    """Two people who follow each other, a few posts, a conversation and a shared folder."""
    alice, bob = PEOPLE
    for person in PEOPLE:
        _as(setup, person, "register", person, "--server", setup.url, "--password-stdin",
            "--device", "demo", stdin=PASSWORD + "\n")  # fmt: skip
    _as(setup, alice, "follow", bob)
    _as(setup, bob, "follow", alice)
    _as(setup, alice, "post", "Welcome to our Roost! Posts, chat and files, all here. #roost")
    _as(setup, bob, "post", "Hi alice! Trying the terminal app. #roost")
    _as(setup, alice, "post", "Tip: press ? in the app to see every key.")
    _as(setup, alice, "chat", "send", f"@{bob}", "Hi bob, lunch on Friday?")
    _as(setup, bob, "chat", "send", f"@{alice}", "Yes! Noon at the usual place?")
    notes = setup.folder / "notes.txt"
    notes.write_text("Shopping list\n- bread\n- coffee\n")
    _as(setup, alice, "files", "put", str(notes), "Shared/notes.txt")
    notes.unlink()
    _as(setup, alice, "share", "Shared", bob, "--role", "editor")
    _as(setup, bob, "share", "accept", "Shared")


def _tell(setup: Demo) -> None:
    alice, bob = PEOPLE
    output.note(
        f"{alice} and {bob} are set up (password {PASSWORD}): two posts of {alice}'s, one of"
        f" {bob}'s, a chat between them and a folder Shared they both edit."
    )
    output.note(f"Join as {bob} from another terminal:\n\n    {setup.join_command(bob)}\n")
    home = shlex.quote(str(setup.home(bob)))
    output.note(f"Or run any command as {bob}, e.g.:  ROOST_HOME={home} roost timeline")


def _open_app(setup: Demo) -> None:
    """The terminal app as alice, in a process of its own; this one waits, then cleans up."""
    if sys.stdin.isatty():
        output.note("Press Enter to open the terminal app as alice (Ctrl-C ends the demo).")
        sys.stdin.readline()
    app = subprocess.Popen(_roost("tui"), env=_env(setup.home(PEOPLE[0])))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app handles its own keys
    try:
        app.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if app.poll() is None:
            app.terminate()
            app.wait()


def _wait_for_interrupt() -> None:
    while True:
        time.sleep(3600)
