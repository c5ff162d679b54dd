"""`RoostClient`: one long-lived object per capability, and storage errors translated at its
boundary (the CLI shows them as one line, like every other error)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from client.chat import ChatClient
from client.core import RoostClient
from client.errors import ClientError, LocalDataError
from client.files import RemoteFiles
from client.home import ClientHome
from client.social import Social
from tests.conftest import LiveServer
from tests.helpers import PASSWORD, Home


def newer_schema(home: Path) -> None:
    """Leave the home's database as a later Roost would: one schema version ahead."""
    db = sqlite3.connect(ClientHome(home).database_path)
    with db:
        db.execute(
            "INSERT INTO schema_version (version, description, applied_at)"
            " SELECT MAX(version) + 1, 'from a later Roost', 0 FROM schema_version"
        )
    db.close()


async def test_each_capability_is_one_object_for_the_clients_life(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    async with client_home("alice") as client:
        assert isinstance(client.social, Social) and client.social is client.social
        assert isinstance(client.chat, ChatClient) and client.chat is client.chat
        assert isinstance(client.files, RemoteFiles) and client.files is client.files
        (tmp_path / "work").mkdir()
        (tmp_path / "other").mkdir()
        engine = client.sync(tmp_path / "work")
        assert client.sync(tmp_path / "work" / ".." / "work") is engine  # one per folder
        assert client.sync(tmp_path / "other") is not engine
        seen: list[tuple[str, int]] = []
        assert client.sync(tmp_path / "work", on_block=lambda h, n: seen.append((h, n))) is engine
        assert engine.on_block is not None  # the view running it now hears its progress


async def test_a_sync_binds_the_workspace_the_client_reports(
    tmp_path: Path, live: LiveServer, client_home: Callable[[str], RoostClient]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("hello")
    async with client_home("alice") as client:
        await client.register(live.url, "alice", PASSWORD, "laptop")
        assert await client.workspace() is None
        await client.sync(work).run_once()
        assert await client.workspace() == work.resolve()
        [entry] = await client.files.ls("")
        assert (entry.shown, entry.kind) == ("notes.txt", "file")


async def test_a_home_written_by_a_later_roost_is_a_client_error(
    tmp_path: Path, client_home: Callable[[str], RoostClient]
) -> None:
    async with client_home("alice"):
        pass  # the database exists, at this Roost's schema
    newer_schema(tmp_path / "homes" / "alice")
    with pytest.raises(LocalDataError, match="newer than this Roost"):
        async with client_home("alice"):
            pass
    assert issubclass(LocalDataError, ClientError)


async def test_a_storage_failure_inside_a_capability_is_a_client_error(
    client_home: Callable[[str], RoostClient],
) -> None:
    async with client_home("alice") as client:
        chat = client.chat
    # The database is closed now: its repositories refuse, and the client says so its own way.
    with pytest.raises(LocalDataError, match="this device's Roost data"):
        await chat.cached_conversations()
    with pytest.raises(LocalDataError):
        await client.outbox.count()


async def test_the_cli_says_a_local_data_failure_in_one_line(
    tmp_path: Path, make_home: Callable[[str, str], Home], live: LiveServer
) -> None:
    alice = make_home("alice", live.url)
    await alice.register("alice")
    newer_schema(alice.path)
    result = await alice.run("outbox")
    assert result.code == 1
    assert result.stderr.startswith("error: this device's Roost data: database schema is version")
    assert "internal error" not in result.stderr and len(result.stderr.splitlines()) == 1
