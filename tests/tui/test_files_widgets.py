"""The Files tree's plain logic: sync states from the engine's preview, per-file progress."""

from __future__ import annotations

from client.sync.decide import Action
from client.sync.engine import PathState, Preview
from protocol import files as wire
from tui.widgets.files import (
    FileRow,
    TransferProgress,
    is_conflicted_copy,
    render_row,
    rows_from_preview,
)

HOME = wire.Namespace("1", "", "home", "owner", "ann", 4)
SHARED = wire.Namespace("2", "Garden", "shared", "viewer", "bob", 2)
MINE = wire.Namespace("3", "Bees", "shared", "owner", "ann", 1)


def state(
    path: str, action: Action, *, deleted: bool = False, blocks: tuple[str, ...] = ()
) -> PathState:
    return PathState(path, "file", 100, action, deleted, blocks)


def test_each_action_becomes_a_state_a_user_reads() -> None:
    preview = Preview(
        [HOME, SHARED, MINE],
        [
            state("a.txt", Action.NOTHING),
            state("b.txt", Action.UPLOAD),
            state("c.txt", Action.DOWNLOAD),
            state("d.txt", Action.CONFLICT),
            state("Garden/e.txt", Action.KEEP_LOCAL),
            state("f.txt", Action.NOTHING, deleted=True),
            state("g.txt", Action.DELETE_LOCAL),
        ],
        offline=False,
    )
    rows = {r.path: r for r in rows_from_preview(preview)}
    assert {p: r.state for p, r in rows.items() if r.kind == "file"} == {
        "a.txt": "synced",
        "b.txt": "pending",
        "c.txt": "pending",
        "d.txt": "conflict",
        "Garden/e.txt": "local only",
        "f.txt": "deleted",
        "g.txt": "pending",
    }
    assert "upload" in rows["b.txt"].detail and "download" in rows["c.txt"].detail
    assert (
        rows["Garden"].kind == "share"
        and rows["Garden"].detail == "shared by @bob · you are viewer"
    )
    assert rows["Bees"].detail == "shared by you"


def test_conflicted_copies_are_recognised_and_highlighted() -> None:
    copy = "notes/doc (conflicted copy from phone 2026-11-20 120000).txt"
    assert is_conflicted_copy(copy)
    assert not is_conflicted_copy("notes (conflicted copy from phone)/doc.txt")  # only the name
    label = render_row(FileRow(copy, "file", 10, "synced"))
    assert "conflicted copy" in label.plain
    assert any("on yellow" in str(span.style) for span in label.spans)
    plain = render_row(FileRow("notes/doc.txt", "file", 10, "synced"))
    assert not any("on yellow" in str(span.style) for span in plain.spans)


def test_progress_follows_the_blocks_of_each_moving_file() -> None:
    progress = TransferProgress()
    progress.plan(
        [
            PathState("up.bin", "file", 300, Action.UPLOAD, False, ("h1", "h2", "h3")),
            PathState("down.bin", "file", 200, Action.DOWNLOAD, False, ("h3", "h4")),
            PathState("gone.txt", "file", 50, Action.DELETE_LOCAL, False, ("h5",)),
            PathState("folder", "dir", 0, Action.UPLOAD, False, ()),
        ]
    )
    assert set(progress.total) == {"up.bin", "down.bin"}
    assert progress.direction == {"up.bin": "uploading", "down.bin": "downloading"}
    progress.block("h1", 100)
    assert progress.percent("up.bin") == 33 and progress.percent("down.bin") == 0
    progress.block("h3", 100)  # a block both files hold counts for both
    assert progress.percent("up.bin") == 66 and progress.percent("down.bin") == 50
    progress.block("h4", 500)  # never past the whole file
    assert progress.percent("down.bin") == 100
    assert progress.percent("gone.txt") is None
    assert progress.bytes == (400, 500)
    label = render_row(FileRow("up.bin", "file", 300, "pending"), progress)
    assert "uploading 66%" in label.plain
    progress.clear()
    assert progress.bytes == (0, 0)
