"""`roost export` through the real CLI and a server subprocess: the archive holds what its
user made and may read (profile, posts, messages, every file version, current bytes), and
nothing of anyone else's conversations."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import Home

ROOT = "roost-export"


async def _json(home: Home, *args: str) -> Any:
    return json.loads((await home.ok(*args, "--json")).stdout)


def _read(archive: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The archive's JSON documents by name, and its file members' bytes by path."""
    with zipfile.ZipFile(archive) as z:
        docs = {
            n.removeprefix(f"{ROOT}/"): json.loads(z.read(n))
            for n in z.namelist()
            if n.endswith(".json") and n.count("/") == 1
        }
        files = {
            n.removeprefix(f"{ROOT}/files/"): z.read(n)
            for n in z.namelist()
            if n.startswith(f"{ROOT}/files/")
        }
    return docs, files


async def test_export_holds_what_was_made_and_no_one_elses_messages(
    alice_and_bob_cli: tuple[Home, Home],
    make_home: Callable[[str, str], Home],
    tmp_path: Path,
) -> None:
    alice, bob = alice_and_bob_cli
    carol = make_home("carol", alice.server_url)
    await carol.register("carol")

    await alice.ok("profile", "set", "--name", "Alice A.", "--bio", "bees")
    await bob.ok("follow", "alice")
    await alice.ok("follow", "bob")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(os.urandom(5000))
    first = await _json(alice, "post", "hello #garden", "--attach", str(photo))
    theirs = await _json(bob, "post", "bob's own post")
    reply = await _json(alice, "post", "a reply", "--reply-to", theirs["id"])
    repost = await _json(alice, "repost", theirs["id"])
    await alice.ok("chat", "send", "@bob", "alice to bob")
    await bob.ok("chat", "send", "@alice", "bob to alice")
    await bob.ok("chat", "send", "@carol", "bob-carol-secret")
    group = await _json(carol, "chat", "group", "club", "alice", "bob")
    await carol.ok("chat", "send", group["id"], "club news")

    notes = tmp_path / "notes.txt"
    notes.write_text("first draft")
    await alice.ok("files", "put", str(notes), "docs/notes.txt")
    notes.write_text("second draft, longer")
    await alice.ok("files", "put", str(notes), "docs/notes.txt")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))  # several blocks
    await alice.ok("files", "put", str(big), "big.bin")
    plan = tmp_path / "plan.txt"
    plan.write_text("bob's plan")
    await bob.ok("files", "put", str(plan), "team/plan.txt")
    await bob.ok("files", "put", str(plan), "private/bob-only.txt")
    await bob.ok("share", "team", "alice", "--role", "editor")
    await alice.ok("share", "accept", "team")

    archive = tmp_path / "alice.zip"
    summary = await _json(alice, "export", "-o", str(archive))
    assert summary["path"] == str(archive)
    assert (summary["posts"], summary["files"], summary["bytes"]) == (3, 3, (3 << 20) + 30)
    docs, files = _read(archive)
    assert sorted(docs) == ["files.json", "messages.json", "posts.json", "profile.json"]

    profile = docs["profile.json"]
    assert (profile["profile"]["display_name"], profile["profile"]["bio"]) == ("Alice A.", "bees")
    assert (profile["following"], profile["followers"]) == (["bob"], ["bob"])
    posts = docs["posts.json"]
    assert [p["id"] for p in posts] == [first["id"], reply["id"], repost["id"]]
    assert posts[1]["reply_to"] == theirs["id"] and posts[2]["original"]["text"] == "bob's own post"

    conversations = {c["conversation"]["name"]: c for c in docs["messages.json"]}
    assert sorted(conversations) == ["bob", "club"]
    texts = {name: [m.get("text") for m in c["messages"]] for name, c in conversations.items()}
    assert texts["bob"] == ["alice to bob", "bob to alice"]
    assert "club news" in texts["club"]
    with zipfile.ZipFile(archive) as z:
        everything = b"".join(z.read(n) for n in z.namelist())
    assert b"bob-carol-secret" not in everything and b"bob-only" not in everything

    spaces = {s["namespace"]["kind"] + ":" + s["namespace"]["name"]: s for s in docs["files.json"]}
    assert sorted(spaces) == ["home:", "shared:team"]
    home = [(v["path"], v["size"]) for v in spaces["home:"]["versions"]]
    assert home.count(("docs/notes.txt", 11)) == 1 and ("docs/notes.txt", 20) in home
    assert [v["path"] for v in spaces["shared:team"]["versions"]] == ["plan.txt"]
    [attached] = first["attachments"]
    with zipfile.ZipFile(archive) as z:
        assert z.read(f"{ROOT}/attachments/{attached['id']}/photo.jpg") == photo.read_bytes()
    assert files == {
        "home/docs/notes.txt": b"second draft, longer",
        "home/big.bin": big.read_bytes(),
        "shared/team/plan.txt": b"bob's plan",
    }

    # carol's archive: the group, her talk with bob, and nothing of alice and bob's
    carols = tmp_path / "carol.zip"
    await carol.ok("export", "-o", str(carols))
    docs, files = _read(carols)
    names = sorted(c["conversation"]["name"] for c in docs["messages.json"])
    assert names == ["bob", "club"] and files == {}
    with zipfile.ZipFile(carols) as z:
        everything = b"".join(z.read(n) for n in z.namelist())
    assert b"alice to bob" not in everything and b"bob to alice" not in everything


async def test_export_refuses_to_overwrite_and_names_the_default(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, _ = alice_and_bob_cli
    taken = tmp_path / "taken.zip"
    taken.write_text("mine")
    result = await alice.run("export", "-o", str(taken))
    assert (result.code, result.stderr.strip()) == (
        1,
        f"error: {taken} already exists: choose another name with -o",
    )
    assert taken.read_text() == "mine"
    missing = tmp_path / "nowhere" / "x.zip"
    result = await alice.run("export", "-o", str(missing))
    assert (result.code, result.stderr.strip()) == (
        1,
        f"error: {missing.parent} is not a folder",
    )
    made = await alice.ok("export", cwd=tmp_path)
    written = Path(made.stdout.strip())
    assert written.parent == tmp_path and written.name.startswith("roost-export-alice-")
    assert "exported 0 posts" in made.stderr
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left
