"""What the CLI prints and accepts, through a real server: piped tables, ids as people type
them, server URL forms, posts and messages from stdin or $EDITOR, --json shapes, messages
without op names, offline reads, chat targets by name and the outbox in people's words."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from tests.helpers import PASSWORD, Home, ServerProcess


def rows(tsv: str) -> list[list[str]]:
    return [line.split("\t") for line in tsv.splitlines()]


async def test_piped_tables_are_tab_separated_with_whole_ids_that_revoke_accepts(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    laptop = make_home("laptop", server_process.url)
    phone = make_home("phone", server_process.url)
    await laptop.register("alice")
    await phone.login("alice", device="phone")

    header, *devices = rows((await laptop.ok("devices")).stdout)  # stdout is a pipe here
    assert header == ["#", "id", "name", "created", "last seen", "this"]
    assert {d[2] for d in devices} == {"phone", os.uname().nodename}
    phone_row = next(d for d in devices if d[2] == "phone")
    assert phone_row[1].isdigit() and "…" not in phone_row[1]  # never cut off
    full = json.loads((await laptop.ok("devices", "--json")).stdout)["devices"]
    assert phone_row[1] in {d["id"] for d in full}

    await laptop.ok("devices", "revoke", phone_row[1][-6:])  # a 6-digit suffix is enough
    assert (await phone.run("devices")).code == 1  # its token stopped working
    left = json.loads((await laptop.ok("devices", "--json")).stdout)["devices"]
    assert [d["name"] for d in left] == [os.uname().nodename]


async def test_posts_are_named_by_suffix_or_listing_number_and_bad_ids_say_so(
    alice_and_bob_cli: tuple[Home, Home],
) -> None:
    alice, bob = alice_and_bob_cli
    first = json.loads((await alice.ok("post", "first post", "--json")).stdout)["id"]
    second = json.loads((await alice.ok("post", "second post", "--json")).stdout)["id"]
    await bob.ok("follow", "alice")

    listing = (await bob.ok("timeline")).stdout
    assert "#1  @alice" in listing and f"id {second}" in listing
    await bob.ok("like", "#2")  # the second row: the first post
    await bob.ok("repost", first[-8:])
    await bob.ok("post", "a reply", "--reply-to", "#1")
    thread = json.loads((await bob.ok("thread", second, "--json")).stdout)
    assert [r["text"] for r in thread["replies"]] == ["a reply"]
    liked = json.loads((await bob.ok("timeline", "--user", "alice", "--json")).stdout)
    assert {p["id"]: p["like_count"] for p in liked["posts"]}[first] == 1

    for typed, says in (
        ("abc", "error: not a post id: abc"),
        ("#99", "error: no #99: the last post listing has"),
    ):
        refused = await bob.run("like", typed)
        assert refused.code == 1 and refused.stderr.startswith(says), refused.stderr
        assert "post.like" not in refused.stderr and len(refused.stderr.splitlines()) == 1

    # Two ids this device has seen end in the same digits: it says which.
    listed = json.loads((bob.path / "listed.json").read_text())
    twin = "9" + first[-6:]
    listed["post"]["seen"].append(twin)
    (bob.path / "listed.json").write_text(json.dumps(listed))
    ambiguous = await bob.run("like", first[-6:])
    assert ambiguous.code == 1
    assert ambiguous.stderr.strip() == (
        f"error: ambiguous id {first[-6:]}: matches {', '.join(sorted([first, twin]))}"
    )
    assert stat.S_IMODE((bob.path / "listed.json").stat().st_mode) == 0o600


async def test_invites_are_revoked_by_listing_number(alice_and_bob_cli: tuple[Home, Home]) -> None:
    alice, _ = alice_and_bob_cli  # the first account: the server's admin
    await alice.ok("admin", "invite")
    second = json.loads((await alice.ok("admin", "invite", "--json")).stdout)["invite"]["id"]
    header, *listed = rows((await alice.ok("admin", "invites")).stdout)
    assert header[:2] == ["#", "id"] and [r[0] for r in listed] == ["#1", "#2"]
    number = next(r[0] for r in listed if r[1] == second)
    await alice.ok("admin", "invite", "revoke", number)
    states = json.loads((await alice.ok("admin", "invites", "--json")).stdout)["invites"]
    assert {i["id"]: i["state"] for i in states}[second] == "revoked"


async def test_server_url_forms(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    port = server_process.port
    alice = make_home("alice", "")
    made = await alice.ok(
        "register", "alice", "--server", f"http://127.0.0.1:{port}", "--password-stdin",
        "--json", stdin=PASSWORD + "\n",
    )  # fmt: skip
    session = json.loads(made.stdout)
    assert session["server"] == f"ws://127.0.0.1:{port}" and "token" not in session
    assert session["username"] == "alice" and session["device_id"].isdigit()

    phone = make_home("phone", f"127.0.0.1:{port}")  # a bare host:port from ROOST_SERVER
    logged = await phone.ok("login", "alice", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert json.loads(logged.stdout)["server"] == f"ws://127.0.0.1:{port}"
    assert json.loads((await phone.ok("whoami", "--json")).stdout)["username"] == "alice"

    tls = make_home("tls", f"wss://127.0.0.1:{port}")  # TLS against a plain server
    refused = await tls.run("login", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert refused.code == 1
    assert refused.stderr == (
        f"error: cannot reach wss://127.0.0.1:{port}: it dropped the TLS handshake; for a"
        " server without TLS use ws:// (start a server with roost serve, or pick another"
        " with --server)\n"
    )

    for bad, says in (
        ("ftp://127.0.0.1:1", "ftp:// is not served"),
        ("127.0.0.1:99999", "the port must be 1-65535"),
    ):
        other = make_home("other", bad)
        refused = await other.run("login", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        assert refused.code == 1 and says in refused.stderr
        assert len(refused.stderr.splitlines()) == 1


async def test_posts_and_messages_from_stdin_or_the_editor(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "%s" "$ROOST_TEST_TEXT" > "$1"\n')
    editor.chmod(0o755)

    from_stdin = await alice.ok("post", "-", "--json", stdin="line one\nline two\n")
    assert json.loads(from_stdin.stdout)["text"] == "line one\nline two"

    async def with_editor(text: str, *args: str) -> tuple[int, str, str]:
        home = alice
        env = home.env() | {"EDITOR": str(editor), "ROOST_TEST_TEXT": text}
        env.pop("VISUAL", None)
        import asyncio
        import subprocess

        from tests.helpers import roost_command

        proc = await asyncio.create_subprocess_exec(
            *roost_command(), *args, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    code, out, _ = await with_editor("written in the editor", "post", "--json")
    assert code == 0 and json.loads(out)["text"] == "written in the editor"
    code, out, err = await with_editor("   \n", "post")
    assert (code, out) == (1, "") and err.strip() == "error: nothing posted: the text is empty"

    code, out, _ = await with_editor("hi from the editor", "chat", "send", "bob", "--json")
    assert code == 0 and json.loads(out)["text"] == "hi from the editor"
    await alice.ok("chat", "send", "@bob", "-", stdin="piped hello\n")
    code, _, err = await with_editor("", "chat", "send", "bob")
    assert code == 1 and "nothing sent" in err

    history = json.loads((await bob.ok("chat", "history", "alice", "--json")).stdout)
    assert [m["text"] for m in history["messages"]] == ["hi from the editor", "piped hello"]
    posts = json.loads((await alice.ok("timeline", "--user", "alice", "--json")).stdout)
    assert len(posts["posts"]) == 2  # the empty one sent nothing


async def test_every_listing_answers_an_object_with_a_named_list(
    alice_and_bob_cli: tuple[Home, Home],
) -> None:
    alice, bob = alice_and_bob_cli
    await alice.ok("post", "hello #roost")
    await bob.ok("follow", "alice")
    card = (await bob.ok("user", "alice")).stdout
    assert "1 post · 1 follower · 0 following" in card  # counts in English
    await bob.ok("chat", "send", "@alice", "hi")
    listings = {
        ("timeline",): "posts",
        ("timeline", "--user", "alice"): "posts",
        ("followers", "alice"): "users",
        ("following",): "users",
        ("search", "hello"): "posts",
        ("trending",): "tags",
        ("suggest",): "users",
        ("notifications",): "notifications",
        ("requests",): "requests",
        ("blocks",): "users",
        ("mutes",): "users",
        ("devices",): "devices",
        ("chat", "list"): "conversations",
        ("chat", "history", "@alice"): "messages",
        ("chat", "presence"): "users",
        ("outbox",): "entries",
        ("files", "ls"): "entries",
        ("share",): "shares",
        ("link", "ls"): "links",
        ("admin", "users"): "users",
        ("admin", "invites"): "invites",
    }
    for args, named in listings.items():
        home = alice if args[0] == "admin" else bob
        answer = json.loads((await home.ok(*args, "--json")).stdout)
        assert isinstance(answer, dict), args
        assert isinstance(answer[named], list), args


async def test_offline_reads_answer_from_the_cache(
    server_process: ServerProcess, alice_and_bob_cli: tuple[Home, Home]
) -> None:
    alice, bob = alice_and_bob_cli
    for text in ("one about cats", "two about dogs", "three about cats and dogs"):
        await alice.ok("post", text)
    await bob.ok("follow", "alice")
    await bob.ok("chat", "send", "@alice", "hello")
    await bob.ok("timeline", "--limit", "2")
    await bob.ok("chat", "list")
    await bob.ok("profile", "show")
    await server_process.terminate()

    home = await bob.ok("timeline", "--json")  # another --limit than was cached
    assert [p["text"] for p in json.loads(home.stdout)["posts"]] == [
        "three about cats and dogs",
        "two about dogs",
    ]
    assert home.stderr.startswith("offline: showing what was cached at ")
    theirs = await bob.ok("timeline", "--user", "alice", "--limit", "1", "--json")
    assert [p["text"] for p in json.loads(theirs.stdout)["posts"]] == ["three about cats and dogs"]
    assert theirs.stderr.startswith("offline:")
    found = await bob.ok("search", "cats", "--json")
    assert [p["text"] for p in json.loads(found.stdout)["posts"]] == ["three about cats and dogs"]
    assert found.stderr.startswith("offline:")
    chats = await bob.ok("chat", "list", "--json")
    assert [c["name"] for c in json.loads(chats.stdout)["conversations"]] == ["alice"]
    assert chats.stderr.startswith("offline:")
    nothing = await bob.run("timeline", "--user", "carol", "--json")
    assert nothing.code == 0 and json.loads(nothing.stdout)["posts"] == []

    await bob.ok("profile", "set", "--bio", "written on a train")  # queued
    mine = await bob.ok("profile", "show")
    assert "written on a train" in mine.stdout
    assert "pending: shown with your queued change" in mine.stderr


async def test_chat_targets_by_name_and_the_outbox_in_plain_words(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice, bob, carol = (make_home(n, server_process.url) for n in ("alice", "bob", "carol"))
    for home, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await home.register(name)
    group = (await alice.ok("chat", "group", "Garden Club", "bob", "carol")).stdout.strip()
    await alice.ok("chat", "list")  # what names are matched against

    sent = json.loads((await alice.ok("chat", "send", "garden club", "by name", "--json")).stdout)
    assert sent["conversation"] == group
    bobs = json.loads(
        (await bob.ok("chat", "send", "GARDEN CLUB", "never listed", "--json")).stdout
    )
    assert bobs["conversation"] == group  # bob's device fetched the list to find the name
    await alice.ok("chat", "send", "#1", "by number")
    await alice.ok("chat", "send", group[-6:], "by suffix")
    texts = json.loads((await carol.ok("chat", "history", group, "--json")).stdout)["messages"]
    assert [m["text"] for m in texts if m["kind"] == "text"] == [
        "by name", "never listed", "by number", "by suffix"
    ]  # fmt: skip
    direct = json.loads((await alice.ok("chat", "send", "bob", "no @", "--json")).stdout)
    assert direct["conversation"] != group
    missing = await alice.run("chat", "add", "no such group", "bob")
    assert missing.code == 1 and "no group called 'no such group'" in missing.stderr

    await server_process.terminate()
    queued = await alice.ok("post", "written offline")
    assert "queued" in queued.stderr and "post.create" not in queued.stderr
    await alice.ok("chat", "send", "garden club", "see you there")
    await alice.ok("like", "local:1")
    header, *entries = rows((await alice.ok("outbox")).stdout)
    assert header == ["#", "what", "queued at", "attempts", "state"]
    assert [e[1] for e in entries] == [
        'post "written offline"',
        f'message to {group}: "see you there"',
        "like post local:1",
    ]
    assert all("." not in e[1].split(" ")[0] for e in entries)  # no op names
    as_json = json.loads((await alice.ok("outbox", "--json")).stdout)
    assert [e["what"] for e in as_json["entries"]] == [e[1] for e in entries]


async def test_refusals_are_one_line_in_the_users_terms(
    alice_and_bob_cli: tuple[Home, Home], make_home: Callable[[str, str], Home]
) -> None:
    alice, _ = alice_and_bob_cli
    newcomer = make_home("newcomer", alice.server_url)
    cases = [
        (alice, ("devices", "revoke", "abc"), "not a device id: abc"),
        (alice, ("files", "restore", "a.txt", "--version", "v1"), "not a file version id: v1"),
        (alice, ("post", "hello", "--reply-to", "xyz"), "not a post id: xyz"),
        (alice, ("chat", "history", "#5"), "no #5: the last conversation listing"),
        (alice, ("profile", "set", "--name", "x" * 65), "the name is too long"),
        (newcomer, ("register", "x", "--password-stdin"), "the user name is too short"),
    ]
    for home, args, says in cases:
        refused = await home.run(*args, stdin=PASSWORD + "\n")
        assert refused.code == 1, (args, refused)
        [line] = refused.stderr.splitlines()
        assert line.startswith(f"error: {says}"), (args, line)
        assert not any(op in line for op in ("args:", "post.", "devices.", "auth.", "files.")), line
