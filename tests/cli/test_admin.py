"""Backup while the server runs and writes; restore into a new data folder; serve from it;
a garbage collection waits for a backup running beside it."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from client.connection import Connection
from protocol.profiles import SetProfile
from storage.server import backup as backups
from tests.helpers import SECOND, Home, ServerProcess


async def test_backup_during_writes_then_restore_and_serve(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    await alice.ok("profile", "set", "--bio", "before the backup")

    token = (alice.path / "token").read_text()
    conn = Connection(server_process.url, token)
    await conn.open()
    writing = True

    async def keep_writing() -> int:
        n = 0
        while writing:
            await conn.call("profile.set", SetProfile(display_name=f"write {n}"))
            n += 1
            await asyncio.sleep(0.02)  # stay under the per-connection rate limit
        return n

    writer = asyncio.create_task(keep_writing())
    operator = Home(tmp_path / "operator", server_process.url)
    result = await operator.ok(
        "admin", "backup", str(tmp_path / "backup"), "--data", str(server_process.data_dir)
    )
    writing = False
    assert await writer > 0
    await conn.close()
    assert "backed up to" in result.stderr
    assert json.loads((tmp_path / "backup" / "backup.json").read_text())["schema_version"] >= 1

    again = await operator.run("admin", "backup", str(tmp_path / "backup"),
                               "--data", str(server_process.data_dir))  # fmt: skip
    assert again.code == 1 and "not empty" in again.stderr

    await server_process.kill()
    restored = tmp_path / "restored"
    await operator.ok("admin", "restore", str(tmp_path / "backup"), "--data", str(restored))
    refused = await operator.run("admin", "restore", str(tmp_path / "backup"),
                                 "--data", str(restored))  # fmt: skip
    assert refused.code == 1 and "--force" in refused.stderr

    server = ServerProcess(restored)
    await server.start()
    try:
        moved = make_home("alice-again", server.url)
        await moved.login("alice")  # accounts came back with the data
        profile = json.loads((await moved.ok("profile", "show", "--json")).stdout)
        assert profile["bio"] == "before the backup"
        assert profile["display_name"].startswith("write ")
    finally:
        await server.kill()


async def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path: Path) -> None:
    operator = Home(tmp_path / "operator", "ws://unused")
    (tmp_path / "junk").mkdir()
    result = await operator.run("admin", "restore", str(tmp_path / "junk"),
                                "--data", str(tmp_path / "d"))  # fmt: skip
    assert result.code == 1 and "is not a Roost backup" in result.stderr


async def test_gc_waits_for_a_running_backup_so_the_backup_keeps_every_block_it_names(
    server_process: ServerProcess, make_home: Callable[[str, str], Home], tmp_path: Path
) -> None:
    data = server_process.data_dir
    operator = Home(tmp_path / "operator", server_process.url)
    with backups.maintenance(data, exclusive=False):  # as a backup holds it while it copies
        gc = asyncio.create_task(operator.run("admin", "gc", "--data", str(data)))
        await asyncio.sleep(2 * SECOND)
        assert not gc.done()  # it waits: deleting blocks now could take one the backup names
    result = await asyncio.wait_for(gc, 60 * SECOND)
    assert result.code == 0
    assert result.stderr.splitlines() == [
        f"waiting for a backup of {data} to end",
        "freed 0 block(s), 0 B on disk",
    ]


async def test_a_backup_without_write_access_to_the_data_still_holds_off_gc(
    server_process: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = server_process.data_dir
    assert (data / backups.MAINTENANCE_LOCK).exists()  # roost serve made it at start
    real_open = os.open

    def read_only(path: str | Path, flags: int, *args: int) -> int:  # as a read-only operator
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with backups.maintenance(data, exclusive=False):
        fd = real_open(data / backups.MAINTENANCE_LOCK, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):  # what a gc meets meanwhile
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
