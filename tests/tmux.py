"""A real terminal for tests: a command run in a detached tmux pane, whose screen and title
can be read back. tmux is a test dependency (.ci/run installs it), so these tests never skip.

Each `Terminal` runs its own tmux server on its own socket (`-L`), stopped when it closes.
"""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import uuid
from collections.abc import Mapping

from tests.helpers import SECOND

INITIAL_TITLE = "roost-test-pane"


class Terminal:
    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.socket = f"roost-test-{uuid.uuid4().hex[:12]}"
        self.width = width
        self.height = height

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(self, command: list[str], env: Mapping[str, str]) -> None:
        """Run `command` (with `env` on top of tmux's) in a fresh pane; the pane stays after
        it ends. The pane's title is set to INITIAL_TITLE first, so a change shows."""
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        script = (
            f"printf '\\033]2;{INITIAL_TITLE}\\033\\\\'; export {exports}; "
            f"{shlex.join(command)}; echo; echo END-OF-COMMAND; sleep 600"
        )
        self.tmux(
            "-f", "/dev/null", "new-session", "-d", "-s", "t",
            "-x", str(self.width), "-y", str(self.height), "sh", "-c", script,
        )  # fmt: skip

    @property
    def title(self) -> str:
        return self.tmux("display-message", "-p", "-t", "t", "#{pane_title}").rstrip("\n")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def send_keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    async def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """The screen once it shows `text` (AssertionError with the screen if it never does)."""
        screen = ""
        try:
            async with asyncio.timeout(timeout * SECOND):
                while text not in (screen := self.screen()):
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"{text!r} never showed; the screen:\n{screen}") from None
        return screen

    async def wait_for_title(self, title: str, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout * SECOND):
            while self.title != title:
                await asyncio.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
