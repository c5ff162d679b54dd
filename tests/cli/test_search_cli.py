"""`roost search` through the real CLI and a server subprocess: a section per kind, `--json`
as one object with a list per kind, one-line refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.helpers import Home, ServerProcess


async def test_search_shows_each_kind(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    await alice.register("alice")
    await bob.register("bob")
    await alice.ok("profile", "set", "--bio", "beekeeper of the north")
    await alice.ok("post", "Our hives woke up #beekeeping")
    await bob.ok("chat", "send", "@alice", "how are the hives?")
    local = tmp_path / "hive-log.txt"
    local.write_text("spring inspection")
    await alice.ok("files", "put", str(local), "Hive log.txt")

    found = json.loads((await alice.ok("search", "hive", "--json")).stdout)
    assert set(found) == {"posts", "users", "tags", "messages", "files"}
    assert [p["text"] for p in found["posts"]] == ["Our hives woke up #beekeeping"]
    assert [m["text"] for m in found["messages"]] == ["how are the hives?"]
    assert [(f["namespace"], f["path"]) for f in found["files"]] == [("", "Hive log.txt")]

    shown = (await alice.ok("search", "hive")).stdout
    for section in ("Posts", "Messages", "Files"):
        assert section in shown
    assert "how are the hives?" in shown and "Hive log.txt" in shown
    assert "People" not in shown  # no section for a kind that found nothing
    tags = (await bob.ok("search", "#beekeep")).stdout
    assert "Tags" in tags and "#beekeeping  1 person, 1 post" in tags
    assert "Files" not in tags and "Messages" not in (await bob.ok("search", "woke")).stdout

    people = json.loads((await bob.ok("search", "beekeeper", "--json")).stdout)
    assert [u["username"] for u in people["users"]] == ["alice"]
    assert people["files"] == [] and people["messages"] == []  # alice's are hers alone


async def test_nothing_found_and_bad_queries(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    empty = await alice.ok("search", "zebra")
    assert empty.stdout == "" and "nothing matches 'zebra'" in empty.stderr
    assert json.loads((await alice.ok("search", "!!!", "--json")).stdout)["posts"] == []
    for bad in ("", "bees\x1b]0;pwned\x07", "x" * 201):
        refused = await alice.run("search", bad)
        assert refused.code == 1, refused
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr
