"""The files commands as a user types them, against a server subprocess."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.helpers import Home, ServerProcess


async def test_sync_ls_put_get_history_restore_share_media(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    ws = tmp_path / "alice-ws"
    (ws / "team").mkdir(parents=True)
    (ws / "team" / "plan.txt").write_text("v1")
    (ws / "empty").mkdir()
    synced = await alice.ok("sync", str(ws), "--once")
    assert "uploaded: team/plan.txt" in synced.stderr

    async def ls(*args: str) -> dict[str, str]:
        listed = json.loads((await alice.ok("files", "ls", *args, "--json")).stdout)["entries"]
        return {r["path"]: r["kind"] for r in listed}

    assert await ls() == {"empty": "dir", "team": "dir"}  # one level, as ls does
    assert await ls("team") == {"team/plan.txt": "file"}
    assert await ls("-r") == {"empty": "dir", "team": "dir", "team/plan.txt": "file"}
    local = tmp_path / "report.txt"
    local.write_text("quarterly")
    put = json.loads(
        (await alice.ok("files", "put", str(local), "team/report.txt", "--json")).stdout
    )
    assert put["size"] == 9 and put["deleted"] is False
    await alice.ok("files", "get", "team/report.txt", "-o", str(tmp_path / "back.txt"))
    await alice.ok("files", "put", str(local), "drafts/2026/q4.txt")
    assert "drafts" in await ls()  # a folder that only a put made still lists
    assert await ls("drafts") == {"drafts/2026": "dir"}
    assert (tmp_path / "back.txt").read_text() == "quarterly"

    (ws / "team" / "plan.txt").write_text("v2")
    await alice.ok("sync", str(ws), "--once")
    history = json.loads((await alice.ok("files", "history", "team/plan.txt", "--json")).stdout)[
        "versions"
    ]
    assert [h["size"] for h in history] == [2, 2] and set(history[0]) >= {
        "version", "size", "modified_at", "deleted"
    }  # fmt: skip
    await alice.ok("files", "restore", "team/plan.txt", "--version", history[-1]["version"])
    await alice.ok("sync", str(ws), "--once")
    assert (ws / "team" / "plan.txt").read_text() == "v1"
    assert (ws / "team" / "report.txt").read_text() == "quarterly"  # put arrives by sync too

    none_yet = await bob.ok("share")
    assert none_yet.stdout == "" and none_yet.stderr.startswith("no shared folders")
    await alice.ok("share", "team", "bob", "--role", "viewer")
    await bob.ok("share", "accept", "team")
    shares = json.loads((await bob.ok("share", "--json")).stdout)["shares"]
    assert [(s["folder"], s["role"]) for s in shares] == [("team", "viewer")]
    bob_ws = tmp_path / "bob-ws"
    await bob.ok("sync", str(bob_ws), "--once")
    assert (bob_ws / "team" / "plan.txt").read_text() == "v1"
    assert not (bob_ws / "empty").exists()  # alice's unshared folder stays hers
    bobs = await bob.ok("files", "ls")
    assert bobs.stdout.splitlines() == ["size\tmodified\tpath", "share\t\tteam/"]
    bobs_team = json.loads((await bob.ok("files", "ls", "team", "--json")).stdout)["entries"]
    assert [r["path"] for r in bobs_team] == ["team/plan.txt", "team/report.txt"]
    whole = await bob.run("files", "get", "team")
    assert whole.stderr == "error: 'team' is a whole shared folder: name a file or folder in it\n"
    nowhere = await bob.run("files", "ls", "empty")
    assert nowhere.code == 1 and nowhere.stderr == "error: no file or folder 'empty'\n"

    attached = (await alice.ok("media", "put", str(local))).stdout.strip()
    unposted = await bob.run("media", "get", attached, "-o", str(tmp_path / "media.txt"))
    assert unposted.code == 1 and "[not_found]" in unposted.stderr  # alice's until posted
    await alice.ok("media", "get", attached, "-o", str(tmp_path / "media.txt"))
    assert (tmp_path / "media.txt").read_text() == "quarterly"

    refused = await bob.run("files", "put", str(local), "team/x.txt")
    assert refused.code == 1 and "viewer" in refused.stderr and "Traceback" not in refused.stderr
    missing = await alice.run("files", "get", "nope.txt")
    assert missing.code == 1 and missing.stderr.startswith("error: no file 'nope.txt'")
    bad = await alice.run("files", "history", "../etc/passwd")
    assert bad.code == 1 and "bad path" in bad.stderr
    unknown = await alice.run("files", "history", "team/nope.txt")  # in the shared folder
    assert unknown.code == 1 and unknown.stderr == "error: no file 'team/nope.txt'\n"


async def test_a_deleted_file_comes_back_without_naming_a_version(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "plan.txt").write_text("v1")
    await alice.ok("sync", str(ws), "--once")
    (ws / "plan.txt").write_text("v2")
    await alice.ok("sync", str(ws), "--once")
    refused = await alice.run("files", "restore", "plan.txt")
    assert refused.code == 1
    assert refused.stderr == (
        "error: plan.txt is not deleted; name the version to restore with --version"
        " (roost files history plan.txt)\n"
    )
    (ws / "plan.txt").unlink()
    await alice.ok("sync", str(ws), "--once")
    restored = await alice.ok("files", "restore", "plan.txt")
    assert restored.stderr.startswith("restored plan.txt (now version ")
    await alice.ok("sync", str(ws), "--once")
    assert (ws / "plan.txt").read_text() == "v2"  # as it was when it was deleted

    shutil.rmtree(ws)  # the whole workspace gone is not "delete every file"
    afresh = await alice.ok("sync", str(ws), "--once")
    assert "synced afresh, nothing deleted anywhere: this folder had no .roost-workspace" in (
        afresh.stderr
    )
    assert "downloaded: plan.txt" in afresh.stderr and (ws / "plan.txt").read_text() == "v2"


async def test_share_invitations_accept_decline_and_leave(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    """`roost share` offers a folder; the invitee sees who asked, what and as what, and
    answers; a member leaves; the owner sees who has not answered yet."""
    alice = make_home("alice", server_process.url)
    bob = make_home("bob", server_process.url)
    carol = make_home("carol", server_process.url)
    for home, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        await home.register(name)
    ws = tmp_path / "alice-ws"
    (ws / "team").mkdir(parents=True)
    (ws / "team" / "plan.txt").write_text("the plan")
    await alice.ok("sync", str(ws), "--once")

    invited = await alice.ok("share", "team", "bob", "--role", "editor")
    assert invited.stderr == (
        "invited bob to team as editor: it is shared once they accept (roost share accept team)\n"
    )
    owner_view = await alice.ok("share")
    assert (
        owner_view.stdout
        == "team/  owner alice, you are owner: alice (owner), bob (editor, invited)\n"
    )
    waiting = await bob.ok("share")
    [line] = waiting.stdout.splitlines()
    assert line.startswith("team/  invited by alice, as editor (invitation ")
    assert "roost share accept NAME" in waiting.stderr
    listed = json.loads((await bob.ok("share", "--json")).stdout)
    assert listed["shares"] == [] and [
        (i["folder"], i["owner"], i["role"]) for i in listed["invitations"]
    ] == [("team", "alice", "editor")]

    bob_ws = tmp_path / "bob-ws"
    await bob.ok("sync", str(bob_ws), "--once")
    assert not (bob_ws / "team").exists()  # not a member yet: nothing mounted
    stranger = await carol.run("share", "accept", listed["invitations"][0]["id"])
    assert stranger.code == 1 and stranger.stderr.startswith("error: no invitation ")

    accepted = await bob.ok("share", "accept", "team")
    assert accepted.stderr.startswith(
        "accepted: alice's folder is in your files as team/ (you are editor)"
    )
    await bob.ok("sync", str(bob_ws), "--once")
    assert (bob_ws / "team" / "plan.txt").read_text() == "the plan"

    owner_leaves = await alice.run("share", "leave", "team")
    assert owner_leaves.code == 1
    assert owner_leaves.stderr.startswith("error: 'team' is yours; remove its members instead")
    left = await bob.ok("share", "leave", "team")
    assert "keeps its copy as 'team (unshared)'" in left.stderr
    synced = await bob.ok("sync", str(bob_ws), "--once")
    assert "kept on this device only: team (unshared)" in synced.stderr
    assert (bob_ws / "team (unshared)" / "plan.txt").read_text() == "the plan"

    await alice.ok("share", "team", "carol")
    declined = await carol.ok("share", "decline", "team")
    assert declined.stderr == "declined team from alice\n"
    assert json.loads((await carol.ok("share", "--json")).stdout) == {
        "shares": [],
        "invitations": [],
    }
    unknown = await carol.run("share", "accept")
    assert unknown.code == 1 and "roost share accept NAME" in unknown.stderr


async def test_sync_says_where_a_share_went_when_the_folder_is_taken(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    ws = tmp_path / "alice-ws"
    (ws / "team").mkdir(parents=True)
    (ws / "team" / "plan.txt").write_text("the plan")
    await alice.ok("sync", str(ws), "--once")
    bob_ws = tmp_path / "bob-ws"
    (bob_ws / "team").mkdir(parents=True)
    (bob_ws / "team" / "mine.txt").write_text("bob's own")  # never synced
    await alice.ok("share", "team", "bob", "--role", "editor")
    await bob.ok("share", "accept", "team")

    synced = await bob.ok("sync", str(bob_ws), "--once")
    assert (
        "shared folder 'team' from alice is at 'team (from alice)': this device already has"
        " something called 'team', which stays yours, as it was"
    ) in synced.stderr
    assert (bob_ws / "team (from alice)" / "plan.txt").read_text() == "the plan"
    await alice.ok("sync", str(ws), "--once")
    assert not (ws / "team" / "mine.txt").exists()
