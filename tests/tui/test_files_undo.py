"""The Files screen's conflict dialog (k) and selective sync (e), against a real server: the
choice reaches the other device; an excluded folder leaves this disk only and comes back."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from client.core import RoostClient
from client.files import RemoteFiles
from tests.conftest import LiveServer
from tests.files.helpers import device
from tests.tui.test_app import FAST, until
from tests.tui.test_files import closed, files_screen, row
from tui.app import RoostApp
from tui.screens.conflict import ConflictScreen
from tui.screens.files import EXCLUDED, FilesScreen, with_excluded
from tui.widgets.files import FileRow


def test_an_excluded_share_keeps_its_row_and_a_folder_gets_one() -> None:
    rows = [
        FileRow("team", "share", 0, "synced", "shared by @ann"),
        FileRow("a.txt", "file", 1, "synced"),
    ]
    shown = {r.path: r for r in with_excluded(rows, {"team", "Videos"})}
    assert len(shown) == 3
    assert shown["team"].kind == "share" and shown["team"].state == EXCLUDED
    assert "shared by @ann" in shown["team"].detail and "e brings it back" in shown["team"].detail
    assert shown["Videos"].kind == "dir" and shown["Videos"].state == EXCLUDED
    assert shown["a.txt"].state == "synced"


async def test_a_conflict_is_diffed_and_resolved_with_theirs_from_the_dialog(
    live: LiveServer, tmp_path: Path
) -> None:
    laptop = await device(live, tmp_path, "alice", "laptop", register=True)
    desk = await device(live, tmp_path, "alice", "desktop")
    laptop.write("doc.txt", "base\n")
    await laptop.sync()
    await desk.sync()
    laptop.write("doc.txt", "from laptop\n")
    await laptop.sync()
    desk.write("doc.txt", "from desktop\n")
    [copy] = (await desk.sync()).conflicts
    await laptop.sync()
    assert (laptop.root / copy).read_text() == "from desktop\n"

    app = RoostApp(await closed(desk), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: row(screen, copy) is not None, "the copy listed")
        assert screen.files_tree.select_path(copy)
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") == copy, "picked")
        await pilot.press("k")
        await until(lambda: isinstance(app.screen, ConflictScreen), "conflict dialog")
        text = app.screen.query_one("#conflict-text", Static)
        await until(lambda: "+from desktop" in str(text.render()), "the diff")
        assert "-from laptop" in str(text.render())
        said = str(app.screen.query_one("#conflict-sides", Static).render())
        assert "mine: desktop, " in said and "theirs: laptop, " in said
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, FilesScreen), "dialog closed")
        await pilot.press("s")
        await until(lambda: not (desk.root / copy).exists(), "the copy gone here")
    await laptop.sync()
    assert not (laptop.root / copy).exists()  # and on the other device
    assert (laptop.root / "doc.txt").read_text() == "from laptop\n"


async def test_a_folder_is_excluded_and_included_with_e(live: LiveServer, tmp_path: Path) -> None:
    laptop = await device(live, tmp_path, "bea", "laptop", register=True)
    laptop.write("Videos/trip.mp4", "trip")
    laptop.write("notes.txt", "notes")
    await laptop.sync()
    root = laptop.root

    app = RoostApp(await closed(laptop), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: row(screen, "Videos") is not None, "the folder listed")
        assert screen.files_tree.select_path("Videos")
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") == "Videos", "on")
        await pilot.press("e")
        await until(lambda: getattr(row(screen, "Videos"), "state", "") == "excluded", "excluded")
        assert not (root / "Videos").exists()
        label = screen.files_tree.node_of("Videos").label
        assert "excluded" in label.plain and "e brings it back" in label.plain
        assert screen.files_tree.select_path("Videos")
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") == "Videos", "on")
        await pilot.press("e")
        await until(lambda: (root / "Videos/trip.mp4").exists(), "fetched back")
        await until(lambda: getattr(row(screen, "Videos"), "state", "") != "excluded", "included")
    async with RoostClient(laptop.client.home) as client:
        listing = await RemoteFiles(client).listing()
    assert {p for p, e in listing.entries if not e.deleted} >= {"Videos/trip.mp4", "notes.txt"}
