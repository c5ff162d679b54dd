"""Files hold no paths and folders hold no content, whoever commits: through the real server,
with the file commands and the sync engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.errors import ServerError
from client.files import RemoteFiles, put_target
from protocol import files as wire
from storage.server.files import NewVersion
from tests.conftest import LiveServer
from tests.files.helpers import Device


def test_put_goes_into_a_folder_named_with_a_slash_or_a_dot() -> None:
    assert put_target(None, "f.txt") == "f.txt"
    assert put_target(".", "f.txt") == "f.txt"
    assert put_target("/", "f.txt") == "f.txt"
    assert put_target("docs/", "f.txt") == "docs/f.txt"
    assert put_target("docs/new.txt", "f.txt") == "docs/new.txt"


async def test_nothing_goes_inside_a_file_and_a_folder_with_files_stays_one(
    pair: tuple[Device, Device], tmp_path: Path
) -> None:
    a, b = pair
    a.write("readme.txt", "hello")
    a.write("docs/plan.txt", "the plan")
    await a.sync()
    files = RemoteFiles(a.client)
    local = tmp_path / "f.txt"
    local.write_text("data")

    with pytest.raises(ServerError, match=r"'readme\.txt' is a file; nothing can go inside it"):
        await files.put(local, "readme.txt/f.txt")
    home = (await files.locate("")).namespace.id
    current = {r.shown: r.entry for r in await files.ls(recursive=True)}

    async def commit(*items: wire.CommitItem) -> list[wire.Outcome]:
        done: wire.CommitResult = await a.client.call("files.commit", wire.Commit(home, [*items]))
        return done.outcomes

    docs = current["docs"]
    assert docs is not None
    [over] = await commit(wire.CommitItem("docs", docs.version_id, wire.Kind.FILE))
    assert over.message == "'docs' is a folder with files in it"
    [gone] = await commit(wire.CommitItem("docs", docs.version_id, wire.Kind.DIR, deleted=True))
    assert gone.message == "'docs' is a folder with files in it"

    # In one batch, in any order: the folder emptied and made a file is fine.
    plan = current["docs/plan.txt"]
    assert plan is not None
    outcomes = await commit(
        wire.CommitItem("docs", docs.version_id, wire.Kind.FILE),
        wire.CommitItem("docs/plan.txt", plan.version_id, deleted=True),
    )
    assert all(o.entry is not None for o in outcomes)
    await b.sync()
    assert (b.root / "docs").is_file()

    # A file put deep makes the folders it needs, so every device can hold it.
    await files.put(local, "reports/2026/q4.txt")
    shown = {r.shown: r.kind for r in await files.ls("reports", recursive=True)}
    assert shown == {"reports": "dir", "reports/2026": "dir", "reports/2026/q4.txt": "file"}
    assert all(r.entry for r in await files.ls("reports", recursive=True))  # real entries
    await b.sync()
    assert (b.root / "reports/2026/q4.txt").read_text() == "data"


async def test_a_restore_into_what_is_now_a_file_is_refused(pair: tuple[Device, Device]) -> None:
    a, _ = pair
    a.write("notes/today.txt", "v1")
    await a.sync()
    files = RemoteFiles(a.client)
    [old] = await files.history("notes/today.txt")
    (a.root / "notes/today.txt").unlink()
    (a.root / "notes").rmdir()
    a.write("notes", "notes is a file now")
    async with a.engine.running():
        report = await a.engine.sync_pass()  # one pass: the folder empties, then is a file
    assert not report.refused and report.uploaded == ["notes"]
    with pytest.raises(ServerError, match="'notes' is a file; nothing can go inside it"):
        await files.restore("notes/today.txt", old.version_id)


async def test_a_file_where_a_download_needs_a_folder_is_kept_as_a_conflicted_copy(
    pair: tuple[Device, Device], live: LiveServer
) -> None:
    """A server that ran an older Roost may hold a file whose folder has no entry of its own;
    a device with a file of that folder's name keeps it, and gets the download too."""
    a, b = pair
    a.write("first.txt", "so the home exists")
    await a.sync()
    home = int((await RemoteFiles(a.client).locate("")).namespace.id)
    services = live.server._services
    assert services is not None
    async with services.db.write() as tx:  # as the older server wrote it: no "notes" entry
        orphan = NewVersion("notes/a.txt", "notes/a.txt", "file", 0, 0, False, None, ())
        alice = int(a.client.home.require_account().user_id)
        await services.files.add_versions(tx, home, [(services.ids.next(), orphan)], alice, "x", 0)
    b.write("notes", "b's own notes, a file")

    report = await b.sync()
    [copy] = report.conflicts
    assert b.read(copy) == b"b's own notes, a file"
    assert (b.root / "notes/a.txt").is_file()
    await a.sync()
    assert a.read(copy) == b"b's own notes, a file"  # the copy reached the server
