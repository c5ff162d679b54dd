"""The Files screen against a real server: conflicts, history and restore, sharing."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, DataTable, Input, RadioButton, Static

from client.core import RoostClient
from client.files import RemoteFiles
from client.home import ClientHome
from protocol import files as wire
from server.app import RoostServer
from server.config import ServerConfig
from tests.conftest import LiveServer
from tests.files.helpers import Device, Watcher, device
from tests.helpers import Home
from tests.tui.test_app import FAST, until
from tui.app import RoostApp
from tui.screens.file_history import FileHistoryScreen
from tui.screens.files import FilesScreen
from tui.screens.share import ShareScreen
from tui.widgets.files import FileRow


async def files_screen(app: RoostApp, pilot: object) -> FilesScreen:
    await until(lambda: app.link_state == "connected", "connected")
    await app.run_action("switch_mode('files')")
    await until(
        lambda: isinstance(app.screen, FilesScreen) and bool(app.screen.query("#files-tree")),
        "files screen",
    )
    screen = app.screen
    assert isinstance(screen, FilesScreen)
    return screen


def row(screen: FilesScreen, path: str) -> FileRow | None:
    return screen.files_tree.rows.get(path)


async def closed(d: Device) -> ClientHome:
    await d.client.close()  # the app opens the same home itself
    return d.client.home


async def test_a_conflict_shows_the_conflicted_copy_highlighted(
    live: LiveServer, tmp_path: Path
) -> None:
    laptop = await device(live, tmp_path, "alice", "laptop", register=True)
    desk = await device(live, tmp_path, "alice", "desktop")
    laptop.write("doc.txt", "base")
    await laptop.sync()
    await desk.sync()
    laptop.write("doc.txt", "from laptop")
    await laptop.sync()
    await laptop.client.close()
    desk.write("doc.txt", "from desktop")

    app = RoostApp(await closed(desk), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: getattr(row(screen, "doc.txt"), "state", "") == "conflict", "ahead")
        await pilot.press("s")
        copies = lambda: [r for r in screen.files_tree.rows.values() if r.conflicted_copy]  # noqa: E731
        await until(lambda: len(copies()) == 1, "the conflicted copy in the tree")
        copy = copies()[0].path
        assert copy.startswith("doc (conflicted copy from desktop ")
        label = screen.files_tree.node_of(copy).label
        assert "conflicted copy" in label.plain
        assert any("on yellow" in str(span.style) for span in label.spans)  # highlighted
        hint = str(screen.query_one("#files-hint", Static).render())
        assert "1 conflicted copy" in hint and "press k" in hint
        await until(lambda: getattr(row(screen, "doc.txt"), "state", "") == "synced", "synced")
    assert (desk.root / "doc.txt").read_text() == "from laptop"
    assert (desk.root / copy).read_text() == "from desktop"


async def test_restore_a_version_from_the_history_dialog(live: LiveServer, tmp_path: Path) -> None:
    laptop = await device(live, tmp_path, "bea", "laptop", register=True)
    laptop.write("notes/plan.txt", "first draft")
    await laptop.sync()
    laptop.write("notes/plan.txt", "second thoughts")
    await laptop.sync()
    root = laptop.root

    app = RoostApp(await closed(laptop), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: row(screen, "notes/plan.txt") is not None, "the file listed")
        await pilot.press("s")
        await until(lambda: screen.syncing, "syncing")
        assert screen.files_tree.select_path("notes/plan.txt")
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") == "notes/plan.txt",
                    "selected")  # fmt: skip
        await pilot.press("h")
        await until(lambda: isinstance(app.screen, FileHistoryScreen), "history dialog")
        dialog = app.screen
        assert isinstance(dialog, FileHistoryScreen)
        table = dialog.query_one("#versions", DataTable)
        await until(lambda: table.row_count == 2, "two versions")
        assert table.cursor_row == 1  # the older one is offered
        dialog.query_one("#restore", Button).press()
        await until(lambda: isinstance(app.screen, FilesScreen), "dialog closed")
        await until(lambda: (root / "notes/plan.txt").read_text() == "first draft", "restored")
    async with RoostClient(laptop.client.home) as client:
        versions = await RemoteFiles(client).history("notes/plan.txt")
    assert len(versions) == 3 and versions[0].size == len("first draft")


async def test_a_share_made_in_the_dialog_reaches_the_other_user(
    live: LiveServer, tmp_path: Path
) -> None:
    owner = await device(live, tmp_path, "cleo", "laptop", register=True)
    owner.write("Garden/hives.txt", "three hives")
    owner.write("readme.txt", "hello")
    await owner.sync()
    dev = await live.register("dev")

    app = RoostApp(await closed(owner), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: row(screen, "Garden") is not None, "the folder listed")
        screen.files_tree.select_path("Garden/hives.txt")  # any path inside: its top folder
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") != "", "selected")
        await pilot.press("m")
        await until(lambda: isinstance(app.screen, ShareScreen), "share dialog")
        dialog = app.screen
        dialog.query_one("#share-user", Input).value = "dev"
        dialog.query_one("#role-editor", RadioButton).value = True
        dialog.query_one("#share", Button).press()
        members = dialog.query_one("#members", DataTable)
        await until(lambda: members.row_count == 2, "owner and new member listed")
        assert [str(c) for c in members.get_row("dev")] == ["@dev", "editor (invited)"]
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, FilesScreen), "back")
        await until(lambda: getattr(row(screen, "Garden"), "kind", "") == "share", "marked shared")
        assert "shared by you" in screen.files_tree.node_of("Garden").label.plain

    conn = await live.connect(dev.token)
    offered: wire.ShareList = await conn.call("files.shares")
    [invitation] = offered.invitations
    await conn.call("files.share.accept", wire.AnswerInvitation(invitation.id))
    listed: wire.NamespaceList = await conn.call("files.namespaces")
    await conn.close()
    shared = [ns for ns in listed.namespaces if ns.kind == "shared"]
    assert [(ns.name, ns.role, ns.owner) for ns in shared] == [("Garden", "editor", "cleo")]


async def test_an_invitation_shows_above_the_files_and_is_accepted_with_a(
    live: LiveServer, tmp_path: Path
) -> None:
    owner = await device(live, tmp_path, "cleo", "laptop", register=True)
    owner.write("Garden/hives.txt", "three hives")
    owner.write("Recipes/soup.txt", "soup")
    await owner.sync()
    guest = await device(live, tmp_path, "dev", "laptop", register=True)
    guest.write("Garden/mine.txt", "dev's own garden")
    await guest.sync()  # binds the workspace
    await RemoteFiles(owner.client).share("Garden", "dev", "editor")
    await RemoteFiles(owner.client).share("Recipes", "dev", "viewer")
    await owner.client.close()
    root = guest.root

    app = RoostApp(await closed(guest), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        table = screen.invitation_table
        await until(lambda: table.row_count == 2 and table.display, "both invitations shown")
        assert [str(c) for c in table.get_row_at(0)] == ["Garden/", "@cleo", "editor"]
        assert screen.check_action("accept_invitation", ()) is True
        await pilot.press("s")
        await until(lambda: screen.syncing, "syncing")
        table.move_cursor(row=1)
        await pilot.press("x")  # Recipes: declined
        await until(lambda: table.row_count == 1, "one invitation left")
        await pilot.press("a")  # Garden: accepted, mounted beside dev's own folder
        await until(lambda: not table.display, "no invitation left")
        assert screen.check_action("accept_invitation", ()) is False
        aside = "Garden (from cleo)"
        await until(lambda: (root / aside / "hives.txt").exists(), "the share synced")
        await until(lambda: getattr(row(screen, aside), "kind", "") == "share", "shown as a share")
        assert "shared by @cleo · you are editor" in screen.files_tree.node_of(aside).label.plain
    assert (root / "Garden/mine.txt").read_text() == "dev's own garden"
    assert not (root / "Recipes").exists()
    async with RoostClient(guest.client.home) as client:
        shares = await RemoteFiles(client).share_list()
    assert [s.folder for s in shares.shares] == ["Garden (from cleo)"] and not shares.invitations


async def test_a_deleted_file_shows_with_d_and_comes_back_from_its_history(
    live: LiveServer, tmp_path: Path
) -> None:
    d = await device(live, tmp_path, "dora", "laptop", register=True)
    d.write("recipe.txt", "honey cake")
    d.write("keep.txt", "stays")
    await d.sync()
    (d.root / "recipe.txt").unlink()
    await d.sync()

    app = RoostApp(await closed(d), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: row(screen, "keep.txt") is not None, "listed")
        assert row(screen, "recipe.txt") is None  # deleted files hide by default
        await pilot.press("d")
        await until(lambda: getattr(row(screen, "recipe.txt"), "state", "") == "deleted", "shown")
        screen.files_tree.select_path("recipe.txt")
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") == "recipe.txt",
                    "selected")  # fmt: skip
        await pilot.press("enter")  # Enter on a file opens its history
        await until(lambda: isinstance(app.screen, FileHistoryScreen), "history dialog")
        table = app.screen.query_one("#versions", DataTable)
        await until(lambda: table.row_count == 2, "the deletion and the version before it")
        assert table.cursor_row == 1
        await pilot.press("r")
        await until(lambda: isinstance(app.screen, FilesScreen), "dialog closed")
        await until(lambda: getattr(row(screen, "recipe.txt"), "state", "") == "pending",
                    "to download")  # fmt: skip
        detail = screen.query_one("#file-detail", Static)
        await until(lambda: str(detail.render()).startswith("recipe.txt: pending"),
                    "the line under the tree says so too")  # fmt: skip
        await pilot.press("s")
        await until(lambda: (d.root / "recipe.txt").exists(), "back on disk")
    assert (d.root / "recipe.txt").read_text() == "honey cake"


async def test_a_restore_made_offline_is_pending_until_the_server_returns(tmp_path: Path) -> None:
    server = RoostServer(
        ServerConfig(registration="open", data_dir=tmp_path / "s", port=0, shutdown_grace=1.0)
    )
    await server.start()
    port = server.port
    d = await device(LiveServer(server), tmp_path, "eli", "laptop", register=True)
    d.write("plan.txt", "first")
    await d.sync()
    d.write("plan.txt", "second")
    await d.sync()

    app = RoostApp(await closed(d), backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        await until(lambda: row(screen, "plan.txt") is not None, "listed")
        screen.files_tree.select_path("plan.txt")
        await until(lambda: getattr(screen.files_tree.selected_row, "path", "") == "plan.txt",
                    "selected")  # fmt: skip
        await pilot.press("h")  # read once online: the history is cached
        await until(lambda: isinstance(app.screen, FileHistoryScreen), "history dialog")
        await until(lambda: app.screen.query_one("#versions", DataTable).row_count == 2, "read")
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, FilesScreen), "closed")

        await server.stop()
        await until(lambda: app.link_state != "connected", "offline")
        await pilot.press("h")
        await until(lambda: isinstance(app.screen, FileHistoryScreen), "history dialog offline")
        note = app.screen.query_one("#history-note", Static)
        await until(lambda: "offline" in str(note.render()), "from the cache")
        await pilot.press("r")
        await until(lambda: isinstance(app.screen, FilesScreen), "closed after queueing")
        await until(lambda: "restore queued" in getattr(row(screen, "plan.txt"), "detail", ""),
                    "pending in the tree")  # fmt: skip
        await until(lambda: app.outbox_count == 1, "counted in the status bar")

        server = RoostServer(
            ServerConfig(
                registration="open", data_dir=tmp_path / "s", port=port, shutdown_grace=1.0
            )
        )
        await server.start()
        await until(lambda: app.link_state == "connected", "back online")
        await until(lambda: "restore queued" not in getattr(row(screen, "plan.txt"), "detail", "x"),
                    "acked")  # fmt: skip
        await pilot.press("s")
        await until(lambda: (d.root / "plan.txt").read_text() == "first", "restored on disk")
    await server.stop()


async def test_sync_is_refused_while_roost_sync_runs_in_another_terminal(
    live: LiveServer, tmp_path: Path
) -> None:
    laptop = await device(live, tmp_path, "cleo", "laptop", register=True)
    laptop.write("a.txt", "bound")
    await laptop.sync()
    home = await closed(laptop)
    other = await Watcher.start(Home(home.path, live.url), laptop.root)
    refusal = (
        f"{laptop.root.resolve()} is already being synced by another roost process"
        f" (pid {other.pid}); stop it first"
    )
    try:
        app = RoostApp(home, backoff=FAST)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await files_screen(app, pilot)
            hint = lambda: str(screen.query_one("#files-hint", Static).render())  # noqa: E731
            await until(lambda: row(screen, "a.txt") is not None, "the workspace tree")
            await pilot.press("s")
            await until(lambda: refusal in hint(), "the refusal in place of the hint")
            assert not screen.syncing
            title = str(screen.query_one("#files-title", Static).render())
            assert "sync off" in title

            await other.kill()  # the lock dies with it: s now syncs here
            await pilot.press("s")
            await until(lambda: screen.syncing, "syncing")
            laptop.write("b.txt", "synced by the app")
            await until(lambda: getattr(row(screen, "b.txt"), "state", "") == "synced", "synced")
            assert refusal not in hint()
    finally:
        await other.kill()


async def test_f7_chooses_and_makes_the_workspace_folder_and_says_when_all_is_in_sync(
    live: LiveServer, tmp_path: Path
) -> None:
    from tests.tui.test_app import registered_home
    from tui.screens.workspace import WorkspaceScreen

    home = await registered_home(tmp_path, live.url, "zoe")
    (tmp_path / "a-file").write_text("not a folder")
    folder = tmp_path / "work" / "Roost"
    app = RoostApp(home, backoff=FAST)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await files_screen(app, pilot)
        hint = screen.query_one("#files-hint", Static)
        await until(lambda: "Press w to choose" in str(hint.render()), "how to bind, here")
        await pilot.press("w")
        await until(lambda: isinstance(app.screen, WorkspaceScreen), "the folder dialog")
        box = app.screen.query_one("#workspace-folder", Input)
        box.value = str(tmp_path / "a-file")
        await pilot.press("enter")
        note = app.screen.query_one("#workspace-note", Static)
        await until(lambda: "is a file, not a folder" in str(note.render()), "refused")
        assert isinstance(app.screen, WorkspaceScreen) and box.value.endswith("a-file")

        box.value = str(folder)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, FilesScreen), "dialog closed")
        await until(lambda: folder.is_dir(), "the folder made")
        (folder / "notes.txt").write_text("from the tui")
        await until(lambda: getattr(row(screen, "notes.txt"), "state", "") == "synced", "synced")
        await until(lambda: "everything in sync" in str(hint.render()), "in sync, said")
        assert "last pass " in str(hint.render())
    async with RoostClient(home) as client:
        assert await client.workspace() == folder.resolve()
        listing = await RemoteFiles(client).listing()
    assert "notes.txt" in [path for path, _ in listing.entries]
