"""How the Files screen and its dialogs look, at 120x40 and 80x24, painted offline from a fixed
client cache and sync index (a workspace with every sync state), or from a cached server listing
when no workspace is bound."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.pilot import Pilot

from client.core import RoostClient
from client.home import ClientHome
from client.sync.ignore import MARKER
from client.sync.scan import hash_file
from protocol import files as wire
from storage.client.sync_index import RemoteRow, SyncedRow, SyncIndex
from tests.tui.test_snapshots import SIZES, cached_home, settle
from tui.app import RoostApp
from tui.screens.files import FilesScreen

WHEN_MS = int(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp() * 1000)
HOME_NS, GARDEN_NS, RECIPES_NS, BEES_NS = "10", "11", "12", "13"
NAMESPACES = wire.NamespaceList(
    [
        wire.Namespace(HOME_NS, "", "home", "owner", "alice", 9),
        wire.Namespace(GARDEN_NS, "Garden", "shared", "editor", "bob", 3),
        wire.Namespace(RECIPES_NS, "Recipes", "shared", "viewer", "carol", 2),
        wire.Namespace(BEES_NS, "Bees", "shared", "owner", "alice", 1),
    ]
)
COPY = "doc (conflicted copy from phone 2026-11-20 120000).txt"


def entry(ns: str, path: str, n: int, size: int = 5, kind: str = "file", **kw: Any) -> wire.Entry:
    return wire.Entry(
        f"90{n:02d}", ns, path, n, kind, size, WHEN_MS, kw.get("deleted", False),
        kw.get("blocks", []), None, kw.get("device", "laptop"), WHEN_MS + n * 60_000,
    )  # fmt: skip


def workspace_home(path: Path) -> tuple[ClientHome, Path]:
    """A home whose workspace holds one path in each state: synced, to upload, to download, a
    conflicted copy, a viewer's local-only file, shares with their roles, a deleted file."""
    home = cached_home(path / "h")
    root = path / "Roost"
    files = {
        "readme.md": "Welcome to the hive.\n",
        "doc.txt": "from the laptop\n",
        COPY: "from the phone\n",
        "notes/plan.txt": "edited here, not sent yet\n",
        "Garden/hives.txt": "three hives\n",
        "Recipes/soup.txt": "my own soup\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "photos").mkdir()
    (root / "Bees").mkdir()
    (root / MARKER).write_text("")  # synced here before, as the index says

    def blocks(rel: str) -> tuple[str, ...]:
        return tuple(h for h, _ in hash_file(root / rel))

    synced: list[tuple[str, str, str, tuple[str, ...]]] = [  # namespace, path, kind, blocks
        (HOME_NS, "readme.md", "file", blocks("readme.md")),
        (HOME_NS, "doc.txt", "file", blocks("doc.txt")),
        (HOME_NS, COPY, "file", blocks(COPY)),
        (HOME_NS, "notes", "dir", ()),
        (HOME_NS, "notes/plan.txt", "file", ("0" * 64,)),
        (HOME_NS, "photos", "dir", ()),
        (GARDEN_NS, "hives.txt", "file", blocks("Garden/hives.txt")),
    ]

    async def fill() -> None:
        async with RoostClient(home) as client:
            await client.cache.put("files.namespaces", "mine", msgspec.json.encode(NAMESPACES))
            index = SyncIndex(client.database)
            await index.bind(str(root.resolve()))
            rows = [
                SyncedRow(ns, p, f"80{i}", k, False, b) for i, (ns, p, k, b) in enumerate(synced)
            ]
            await index.put_synced(rows)
            # mounted by an earlier pass, as every share in a workspace synced before is
            await index.put_mounts({GARDEN_NS: "Garden", RECIPES_NS: "Recipes", BEES_NS: "Bees"})
            remote = [RemoteRow(r.namespace_id, r.path, r.version_id, r.kind, 12, WHEN_MS,
                                False, r.blocks) for r in rows]  # fmt: skip
            remote.append(RemoteRow(HOME_NS, "photos/hive.jpg", "8100", "file", 245_760,
                                    WHEN_MS, False, ("1" * 64,)))  # fmt: skip
            remote.append(RemoteRow(HOME_NS, "old.txt", "8101", "file", 0, WHEN_MS, True, ()))
            await index.put_remote(remote, None)
            await index.put_synced([SyncedRow(HOME_NS, "old.txt", "8101", "file", True, ())])
            history = wire.Versions(
                [
                    entry(HOME_NS, "readme.md", 3, 21),
                    entry(HOME_NS, "readme.md", 2, 0, deleted=True, device="phone"),
                    entry(HOME_NS, "readme.md", 1, 14),
                ]
            )
            await client.cache.put("files.history", f"{HOME_NS}:readme.md",
                                   msgspec.json.encode(history))  # fmt: skip
            shares = wire.ShareList(
                [wire.ShareInfo(GARDEN_NS, "Garden", "bob", "editor",
                                [wire.Member("bob", "owner"), wire.Member("alice", "editor"),
                                 wire.Member("carol", "viewer")]),
                 wire.ShareInfo(BEES_NS, "Bees", "alice", "owner",
                                [wire.Member("alice", "owner"), wire.Member("bob", "editor")])]
            )  # fmt: skip
            await client.cache.put("files.shares", "mine", msgspec.json.encode(shares))

    asyncio.run(fill())
    return home, root


def server_only_home(path: Path) -> ClientHome:
    """No workspace bound: the cached server listing."""
    home = cached_home(path / "h")
    pages = {
        HOME_NS: [
            entry(HOME_NS, "notes", 1, 0, kind="dir"),
            entry(HOME_NS, "notes/plan.txt", 2, 1_300),
            entry(HOME_NS, "readme.md", 3, 21, device="phone"),
            entry(HOME_NS, "old.txt", 4, 0, deleted=True),
        ],
        GARDEN_NS: [entry(GARDEN_NS, "hives.txt", 5, 12, device="bob-laptop")],
        RECIPES_NS: [],
    }

    async def fill() -> None:
        async with RoostClient(home) as client:
            await client.cache.put("files.namespaces", "mine", msgspec.json.encode(NAMESPACES))
            for ns, entries in pages.items():
                page = wire.Changes(entries, len(entries), False)
                await client.cache.put("files.changes", f"{ns}:0", msgspec.json.encode(page))

    asyncio.run(fill())
    return home


def in_files(*keys: str, select: str | None = None) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, FilesScreen)
        if select:
            screen.files_tree.select_path(select)
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.fixture
def pinned_home_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # the workspace shows as ~/Roost
    return tmp_path


@pytest.mark.parametrize("size", SIZES)
def test_files_workspace(snap_compare: Any, pinned_home_dir: Path, size: tuple[int, int]) -> None:
    home, _ = workspace_home(pinned_home_dir)
    app = RoostApp(home, connect=False)
    assert snap_compare(app, terminal_size=size, run_before=in_files(select=COPY))


@pytest.mark.parametrize("size", SIZES)
def test_files_without_workspace(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(server_only_home(tmp_path), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=in_files("d"))


@pytest.mark.parametrize("size", SIZES)
def test_file_history_dialog(
    snap_compare: Any, pinned_home_dir: Path, size: tuple[int, int]
) -> None:
    home, _ = workspace_home(pinned_home_dir)
    app = RoostApp(home, connect=False)
    assert snap_compare(app, terminal_size=size, run_before=in_files("h", select="readme.md"))


@pytest.mark.parametrize("size", SIZES)
def test_share_dialog(snap_compare: Any, pinned_home_dir: Path, size: tuple[int, int]) -> None:
    home, _ = workspace_home(pinned_home_dir)
    app = RoostApp(home, connect=False)
    assert snap_compare(app, terminal_size=size, run_before=in_files("m", select="Bees"))


@pytest.mark.parametrize("size", SIZES)
def test_share_members_of_someone_elses_share(
    snap_compare: Any, pinned_home_dir: Path, size: tuple[int, int]
) -> None:
    home, _ = workspace_home(pinned_home_dir)
    app = RoostApp(home, connect=False)
    assert snap_compare(app, terminal_size=size, run_before=in_files("m", select="Garden"))
