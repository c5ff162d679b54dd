"""Text for a post or a message from where people write it: the argument, stdin (`-`), or
$VISUAL / $EDITOR on a temporary file when no text is given."""

from __future__ import annotations

import os
import sys

from client.errors import ClientError


def composed(given: str | None, *, nothing: str) -> str:
    """The text to send. `nothing` is what to say when it comes out empty (then nothing is
    sent or queued, and the command exits 1)."""
    if given == "-":
        text = sys.stdin.read().rstrip("\n")
    elif given is None:
        text = _edited()
    else:
        text = given
    if not text.strip():
        raise ClientError(nothing)
    return text


def _edited() -> str:
    import shlex  # only when an editor opens: start-up stays light
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if editor is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):  # a script: no editor to show
            raise ClientError("no text given: pass it as an argument, or - to read stdin")
        editor = "vi"
    fd, path = tempfile.mkstemp(prefix="roost-", suffix=".txt")
    os.close(fd)
    try:
        try:
            done = subprocess.run([*shlex.split(editor), path], check=False)
        except (OSError, ValueError) as exc:
            why = f"cannot start the editor {editor!r} ($VISUAL/$EDITOR): {exc}"
            raise ClientError(why) from None
        if done.returncode != 0:
            raise ClientError(f"the editor {editor!r} exited with {done.returncode}; nothing sent")
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().rstrip()
    finally:
        os.unlink(path)
