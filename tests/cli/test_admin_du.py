"""roost admin du: where a running server's disk goes, by owner, with what awaits a commit or
a garbage collection, from the server's own tables."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.helpers import Home, ServerProcess

KIB = 1024


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))  # incompressible: stored size close to raw size
    return path


async def du(operator: Home, data: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(
        (await operator.ok("admin", "du", "--data", str(data), "--json")).stdout
    )
    return report


def owner(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in report["owners"] if o["username"] == name)


async def test_disk_report_of_a_running_server(
    alice_and_bob_cli: tuple[Home, Home], server_process: ServerProcess, tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    data = server_process.data_dir
    operator = Home(tmp_path / "operator", "ws://unused")
    local = tmp_path / "local"
    local.mkdir()
    # alice keeps a file and replaces it (its first version stays restorable)
    await alice.ok("files", "put", str(random_file(local / "a1", 300 * KIB)), "report.bin")
    await alice.ok("files", "put", str(random_file(local / "a2", 200 * KIB)), "report.bin")
    # bob keeps a file and attaches a picture to a post
    await bob.ok("files", "put", str(random_file(local / "b1", 100 * KIB)), "notes.bin")
    await bob.ok("post", "look", "--attach", str(random_file(local / "pic.bin", 50 * KIB)))

    report = await du(operator, data)  # the server is running
    a, b = owner(report, "alice"), owner(report, "bob")
    assert (a["files_bytes"], a["old_versions"], a["old_versions_bytes"]) == (
        200 * KIB,
        1,
        300 * KIB,
    )
    assert (a["attachments"], a["attachments_bytes"]) == (0, 0)
    assert (b["files_bytes"], b["old_versions"], b["old_versions_bytes"]) == (100 * KIB, 0, 0)
    assert (b["attachments"], b["attachments_bytes"]) == (1, 50 * KIB)
    # on disk: compressed blocks, which for random bytes are the raw size and a few bytes more
    assert 500 * KIB <= a["stored_bytes"] < 500 * KIB + 4 * KIB
    assert 150 * KIB <= b["stored_bytes"] < 150 * KIB + 4 * KIB
    assert report["owners"][0]["username"] == "alice"  # the largest first
    assert report["referenced_bytes"] == a["stored_bytes"] + b["stored_bytes"]
    assert report["blocks_on_disk_bytes"] >= report["referenced_bytes"]
    assert report["awaiting_gc_blocks"] == 0 and report["unrecorded_bytes"] == 0
    assert report["database_bytes"] > 0
    assert 0 < report["filesystem_free_bytes"] < report["filesystem_total_bytes"]

    # the old version purged: its bytes now await the garbage collection
    await alice.ok("files", "purge", "report.bin", "--yes")
    report = await du(operator, data)
    a = owner(report, "alice")
    assert (a["old_versions"], a["old_versions_bytes"]) == (0, 0)
    assert a["stored_bytes"] < 200 * KIB + 4 * KIB
    assert report["awaiting_gc_blocks"] >= 1
    assert 300 * KIB <= report["awaiting_gc_bytes"] < 300 * KIB + 4 * KIB

    human = (await operator.ok("admin", "du", "--data", str(data))).stdout
    assert f"Roost data in {data}" in human
    assert "awaiting gc" in human and "300." in human  # 300.x KiB of it
    assert "alice" in human and "bob" in human

    await operator.ok("admin", "gc", "--data", str(data), "--grace", "0s")
    before = report["blocks_on_disk_bytes"]
    report = await du(operator, data)
    assert report["awaiting_gc_blocks"] == 0 and report["awaiting_gc_bytes"] == 0
    assert report["blocks_on_disk_bytes"] <= before - 300 * KIB  # freed for real


async def test_du_of_a_folder_without_a_server_is_one_line(tmp_path: Path) -> None:
    result = await Home(tmp_path / "h", "ws://unused").run(
        "admin", "du", "--data", str(tmp_path / "nothing")
    )
    assert result.code == 1
    assert result.stderr == f"error: no Roost database in {tmp_path / 'nothing'}\n"
