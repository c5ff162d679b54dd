"""roost files rm / mkdir / cat / mv and folders with get -r / put, as a user types them
against a server subprocess; a second device sees the result through sync."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from server.files.moves import move_problem, new_path
from tests.helpers import Home, ServerProcess, roost_command


def test_a_move_names_the_new_paths_and_refuses_into_itself() -> None:
    assert new_path("docs/a/b.txt", "docs", "archive/docs") == "archive/docs/a/b.txt"
    assert move_problem("docs", "docs/old") == "'docs' cannot be moved inside itself"
    assert move_problem("docs", "docs") == "the old and new paths are the same"
    assert move_problem("docs", "docs2") is None
    assert move_problem("Docs", "docs") is None  # a change of case is a rename


@pytest.fixture
async def alice(server_process: ServerProcess, make_home: Callable[[str, str], Home]) -> Home:
    home = make_home("alice", server_process.url)
    await home.register("alice")
    return home


async def stdout_bytes(home: Home, *args: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), *args, env=home.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out


async def ls(home: Home) -> dict[str, str]:
    listed = json.loads((await home.ok("files", "ls", "-r", "--json")).stdout)
    return {r["path"]: r["kind"] for r in listed["entries"]}


async def test_mkdir_rm_and_cat(alice: Home, tmp_path: Path) -> None:
    await alice.ok("files", "mkdir", "projects/2026")
    assert await ls(alice) == {"projects": "dir", "projects/2026": "dir"}
    again = await alice.run("files", "mkdir", "projects")
    assert again.code == 1 and again.stderr.strip() == "error: 'projects' exists (a folder)"

    text = tmp_path / "notes.txt"
    text.write_bytes(b"line one\nline two\n")
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB: several blocks, in order
    await alice.ok("files", "put", str(text), "projects/notes.txt")
    await alice.ok("files", "put", str(big), "projects/2026/big.bin")
    assert (await alice.ok("files", "cat", "projects/notes.txt")).stdout == "line one\nline two\n"
    cat_big = await stdout_bytes(alice, "files", "cat", "projects/2026/big.bin")
    assert cat_big == big.read_bytes()
    assert await _cat_read_by_head(alice, "projects/2026/big.bin") == (0, b"")
    folder = await alice.run("files", "cat", "projects")
    assert folder.code == 1 and "is a folder" in folder.stderr
    missing = await alice.run("files", "cat", "nothing.txt")
    assert missing.code == 1 and "no file 'nothing.txt'" in missing.stderr

    await alice.ok("files", "put", str(text), "projects/.bashrc")
    here = tmp_path / "here"
    here.mkdir()
    await alice.ok("files", "get", "projects/.bashrc", cwd=here)
    assert [p.name for p in here.iterdir()] == ["bashrc"]  # never a dotfile by itself
    await alice.ok("files", "rm", "projects/.bashrc")

    whole = await alice.run("files", "rm", "projects")
    assert whole.code == 1 and "add -r" in whole.stderr and "3 items" in whole.stderr
    await alice.ok("files", "rm", "projects/notes.txt")
    assert "projects/notes.txt" not in await ls(alice)
    await alice.ok("files", "restore", "projects/notes.txt")  # a deletion, as any other
    removed = json.loads((await alice.ok("files", "rm", "-r", "projects", "--json")).stdout)[
        "removed"
    ]
    assert removed == ["projects", "projects/2026", "projects/2026/big.bin", "projects/notes.txt"]
    assert await ls(alice) == {}
    gone = await alice.run("files", "rm", "projects")
    assert gone.code == 1 and "no file or folder 'projects'" in gone.stderr


async def test_mv_keeps_history_and_the_other_device_gets_the_rename(
    alice: Home, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    ws = tmp_path / "laptop"
    (ws / "docs").mkdir(parents=True)
    (ws / "docs" / "plan.txt").write_text("v1")
    await alice.ok("sync", str(ws), "--once")
    (ws / "docs" / "plan.txt").write_text("v2, longer")
    await alice.ok("sync", str(ws), "--once")

    await alice.ok("files", "mv", "docs/plan.txt", "docs/roadmap.txt")
    history = json.loads((await alice.ok("files", "history", "docs/roadmap.txt", "--json")).stdout)[
        "versions"
    ]
    assert [(h["path"], h["size"]) for h in history] == [
        ("docs/roadmap.txt", 10), ("docs/plan.txt", 10), ("docs/plan.txt", 2),
    ]  # fmt: skip
    await alice.ok("files", "restore", "docs/roadmap.txt", "--version", history[-1]["version"])
    assert (await alice.ok("files", "cat", "docs/roadmap.txt")).stdout == "v1"

    await alice.ok("files", "mkdir", "archive")
    await alice.ok("files", "mv", "docs", "archive")  # into a folder, as mv does
    assert await ls(alice) == {
        "archive": "dir", "archive/docs": "dir", "archive/docs/roadmap.txt": "file",
    }  # fmt: skip
    deep = json.loads(
        (await alice.ok("files", "history", "archive/docs/roadmap.txt", "--json")).stdout
    )["versions"]
    assert len(deep) == 5 and deep[-1]["path"] == "docs/plan.txt"

    await alice.ok("sync", str(ws), "--once")
    assert (ws / "archive" / "docs" / "roadmap.txt").read_text() == "v1"
    assert not (ws / "docs").exists()
    sent = await alice.ok("sync", str(ws), "--once")
    assert "sent 0 blocks" in sent.stderr

    onto = await alice.run("files", "mv", "archive/docs", "archive/docs/inner")
    assert onto.code == 1 and "cannot be moved inside itself" in onto.stderr
    (tmp_path / "x.txt").write_text("x")
    await alice.ok("files", "put", str(tmp_path / "x.txt"), "x.txt")
    taken = await alice.run("files", "mv", "x.txt", "archive/docs/roadmap.txt")
    assert taken.code == 1 and "'archive/docs/roadmap.txt' exists" in taken.stderr
    nothing = await alice.run("files", "mv", "nope.txt", "other.txt")
    assert nothing.code == 1 and "no file or folder 'nope.txt'" in nothing.stderr


async def test_get_and_put_a_whole_folder(alice: Home, tmp_path: Path) -> None:
    src = tmp_path / "photos"
    (src / "2025" / "summer").mkdir(parents=True)
    (src / "2025" / "summer" / "beach.jpg").write_bytes(b"\xff\xd8" + b"j" * 300_000)
    (src / "2025" / "index.md").write_text("# photos")
    (src / "empty").mkdir()
    (src / "download.part").write_text("half")  # a temp file: not sent
    put = await alice.ok("files", "put", str(src))
    assert "2 files" in put.stderr and "293.0 KiB" in put.stderr
    assert await ls(alice) == {
        "photos": "dir", "photos/2025": "dir", "photos/2025/index.md": "file",
        "photos/2025/summer": "dir", "photos/2025/summer/beach.jpg": "file",
        "photos/empty": "dir",
    }  # fmt: skip
    again = await alice.ok("files", "put", str(src), "backup/photos")  # a second copy
    assert "backup/photos" in again.stderr

    out = tmp_path / "restored"  # not there yet: becomes the folder, as cp -r does
    got = await alice.ok("files", "get", "-r", "photos", "-o", str(out))
    assert "2 files, 293.0 KiB" in got.stderr
    assert (out / "2025" / "summer" / "beach.jpg").read_bytes() == (
        src / "2025" / "summer" / "beach.jpg"
    ).read_bytes()
    assert not (out / "download.part").exists()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    await alice.ok("files", "get", "-r", "photos", "-o", str(downloads))  # there: inside it
    kept = downloads / "photos" / "2025" / "index.md"
    assert kept.read_text() == "# photos"
    kept.write_text("mine, edited here")
    twice = await alice.run("files", "get", "-r", "photos", "-o", str(downloads))
    assert twice.code == 1 and f"{kept} exists: add --force" in twice.stderr
    assert kept.read_text() == "mine, edited here"
    await alice.ok("files", "get", "-r", "photos", "-o", str(downloads), "--force")
    assert kept.read_text() == "# photos"
    file_as_folder = await alice.run("files", "get", "-r", "photos/2025/index.md")
    assert file_as_folder.code == 1 and "is a file" in file_as_folder.stderr


async def test_usage_shows_current_files_kept_versions_and_attachments_apart(
    alice: Home, tmp_path: Path
) -> None:
    same = tmp_path / "same.bin"
    same.write_bytes(os.urandom(100_000))
    await alice.ok("files", "put", str(same), "a.bin")
    await alice.ok("files", "put", str(same), "copy/a.bin")  # identical content: stored once
    edited = tmp_path / "edited.bin"
    edited.write_bytes(os.urandom(50_000))
    await alice.ok("files", "put", str(edited), "notes.bin")
    await alice.ok("files", "put", str(same), "notes.bin")  # its old version is kept
    await alice.ok("media", "put", str(edited))
    space = json.loads((await alice.ok("usage", "--json")).stdout)["space"]
    assert (space["current_files"], space["current_bytes"]) == (3, 300_000)
    assert space["current_stored"] == 100_000
    assert (space["old_bytes"], space["old_stored"]) == (50_000, 50_000)
    assert space["old_versions"] == 1  # notes.bin's first version
    assert (space["attachments"], space["attachment_bytes"]) == (1, 50_000)
    assert space["counted_bytes"] == 400_000
    shown = (await alice.ok("usage")).stdout
    assert "current files: 3 files, 293.0 KiB (97.7 KiB stored: identical content once)" in shown
    assert "attachments: 1, 48.8 KiB" in shown


async def test_a_folder_over_the_quota_is_refused_before_a_byte_is_sent(
    make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    server = await ServerProcess(tmp_path / "data", extra_args=("--quota", "1MiB")).start()
    try:
        alice = make_home("alice", server.url)
        await alice.register("alice")
        big = tmp_path / "videos"
        big.mkdir()
        for i in range(3):
            (big / f"clip{i}.bin").write_bytes(os.urandom(400_000))
        refused = await alice.run("files", "put", str(big))
        assert refused.code == 1 and "quota" in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1
        usage = json.loads((await alice.ok("usage", "--json")).stdout)
        assert usage["uncommitted_bytes"] == 0 and usage["space"]["current_files"] == 0
    finally:
        await server.kill()


async def _cat_read_by_head(home: Home, path: str) -> tuple[int, bytes]:
    """`roost files cat PATH | head -c 100`: the reader leaves after 100 bytes; cat's exit code
    and what it said on stderr."""
    read_end, write_end = os.pipe()
    cat = await asyncio.create_subprocess_exec(
        *roost_command(), "files", "cat", path, env=home.env(),
        stdout=write_end, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        await asyncio.to_thread(reader.read, 100)
    assert cat.stderr is not None
    said = await cat.stderr.read()
    return await asyncio.wait_for(cat.wait(), 60), said
