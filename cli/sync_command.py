"""roost sync: keep a folder in sync (continuously or --once), show what a pass would do
(--dry-run), `roost sync status`, and `roost sync install-service DIR` (a systemd user unit).
Thin over client.sync."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cli import output
from cli.options import AsJson, Force
from cli.session import with_client
from client.core import RoostClient
from client.errors import ClientError
from client.home import ClientHome

T = TypeVar("T")

STATUS, INSTALL_SERVICE = "status", "install-service"
EXCLUDE, INCLUDE = "exclude", "include"
STOPPED = "stopped; what was fetched is kept, and the next roost sync goes on from there"
EXIT_INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal, as shells say


def sync(
    directory: Annotated[
        str,
        typer.Argument(
            help="The folder to sync (it becomes this device's workspace); or status; or"
            " install-service DIR; or exclude / include PATH. (A folder called status: write"
            " ./status.)"
        ),
    ],
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="After install-service: the folder to sync; after exclude or include: the"
            " folder of the synced one to keep off or bring back to this device."
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One sync, then exit.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print what a sync would upload, download, delete and keep as conflicted"
            " copies; change nothing.",
        ),
    ] = False,
    force: Force = False,
    as_json: AsJson = False,
) -> None:
    """Sync a folder with your Roost files (and folders shared with you).

    One sync at a time per Roost home and per folder (roost tui's too); another is refused.

    A file still being written is synced once it has rested for a moment; editors' and
    browsers' temporary files (*.tmp, *.part, ...) are not synced (docs/OPERATIONS.md).
    Ctrl-C stops at once (exit 130); an interrupted download resumes where it stopped.

    A .roost-workspace file marks the folder: without it, a sync starts afresh, deleting nothing.

    roost sync status shows the last pass, what is pending and any error; roost sync
    install-service DIR writes a systemd user unit that keeps DIR in sync in the background.

    roost sync exclude PATH removes a folder from this device only (never from the server or
    other devices) and stops fetching it, once all of it is on the server; roost sync include
    PATH brings it back. Stop a running roost sync first (one sync at a time).
    """
    if directory == STATUS:
        _refuse_extra(folder, STATUS)
        show_status(as_json)
        return
    if directory == INSTALL_SERVICE:
        if folder is None:
            raise ClientError("roost sync install-service DIR: name the folder to keep in sync")
        install_service(folder, force=force)
        return
    if directory in (EXCLUDE, INCLUDE):
        if folder is None:
            raise ClientError(f"roost sync {directory} PATH: name the folder")
        if once or dry_run or as_json or force:
            raise ClientError(f"roost sync {directory} takes only the folder")
        selective(directory, str(folder))
        return
    _refuse_extra(folder, directory)
    root = Path(directory).expanduser()
    if root.exists() and not root.is_dir():
        raise ClientError(f"{root} is not a folder")
    if dry_run:
        if once:
            raise ClientError("--dry-run changes nothing; it goes without --once")
        with_client(lambda c: interruptible(_dry_run(c, root, as_json)))
        return
    if as_json:
        raise ClientError("--json goes with --dry-run or status")
    with_client(lambda c: interruptible(_sync(c, root, once), said=STOPPED))


def _refuse_extra(extra: Path | None, what: str) -> None:
    if extra is not None:
        raise ClientError(f"roost sync {what} takes no second folder (got {extra})")


async def interruptible(work: Awaitable[T], said: str = "") -> T:
    """Run `work`; Ctrl-C (or SIGTERM) cancels it at any moment and exits 130 (143) once its
    cleanup has run: partial downloads kept for the next pass, the sync lock let go. `said`:
    the line printed then."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    got: list[int] = []

    def stop(sig: int) -> None:
        got.append(sig)
        task.cancel()

    for sig in EXIT_INTERRUPTED:
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await task
    except asyncio.CancelledError:
        if not got:
            raise
        if said:
            output.note(said)
        raise typer.Exit(EXIT_INTERRUPTED[signal.Signals(got[0])]) from None
    finally:
        for sig in EXIT_INTERRUPTED:
            loop.remove_signal_handler(sig)


# ---------------------------------------------------------------------------- a sync
class Progress:
    """What a running sync shows on a terminal: a bar per pass whose total is what that pass
    moves (known before it starts), "in sync" when idle. Elsewhere (a service's journal) only
    the lines after each pass."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None

    @contextmanager
    def shown(self) -> Iterator[Progress]:
        if not output.stderr.is_terminal:
            yield self
            return
        from cli.progress_rate import bytes_bar

        self.bar = bytes_bar(output.stderr)
        with self.bar:
            self.task = self.bar.add_task("syncing", total=None, visible=False)
            yield self

    def on_plan(self, states: list[Any]) -> None:
        from client.sync.decide import Action

        moving = (Action.UPLOAD, Action.DOWNLOAD, Action.CONFLICT)
        total = sum(s.size for s in states if s.action in moving and s.kind == "file")
        if self.bar is not None:  # nothing to move (or only deletions): no bar to show
            self.bar.reset(self.task, total=total, description="syncing", visible=total > 0)

    def on_block(self, _hash: str, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def idle(self) -> None:
        if self.bar is not None:  # the "in sync" line says it; an empty bar would say 0/0
            self.bar.reset(self.task, total=None, visible=False)


def pass_summary(report: Any) -> str:
    """`uploaded 2 files; sent 3 blocks, 1.5 MiB; fetched 0 blocks in 0.4 s (3.7 MiB/s)`."""
    from client.sync.status import rate, totals_line

    moved = report.moved
    said = totals_line(moved)
    said += f" in {report.seconds:.1f} s"
    if speed := rate(moved.content_sent + moved.content_fetched, report.seconds):
        said += f" ({speed})"
    return said


async def _sync(client: RoostClient, root: Path, once: bool) -> None:
    from cli.files import report_lines
    from client.sync.watch import run_forever

    progress = Progress()
    with progress.shown():
        engine = client.sync(root, on_block=progress.on_block, on_plan=progress.on_plan)
        if once:
            report = await engine.run_once()
            _print_lines(report_lines(report) + _settling_lines(report))
            output.note(pass_summary(report))
            if not report.settling:
                output.note(f"{engine.root} is in sync")
            return
        await engine.bind(watching=True)  # refused here, before saying it syncs
        output.note(f"syncing {engine.root}; Ctrl-C to stop")
        said_in_sync = [False]

        def on_report(report: Any) -> None:
            _print_lines(report_lines(report) + _settling_lines(report))
            if report.acted:
                output.note(pass_summary(report))
            progress.idle()
            if report.acted or not said_in_sync[0]:
                output.note(f"in sync ({datetime.now().astimezone():%H:%M:%S})")
                said_in_sync[0] = True

        await run_forever(
            engine,
            asyncio.Event(),  # Ctrl-C cancels the whole run (`interruptible`)
            on_report=on_report,
            on_offline=lambda why, d: output.note(f"offline ({why}); retrying in {d:.0f}s"),
        )


def _settling_lines(report: Any) -> list[str]:
    return [f"not synced yet: {output.line(p)}: still being written" for p in report.settling]


def _print_lines(lines: list[str]) -> None:
    if lines:
        output.note("\n".join(lines))


# ---------------------------------------------------------------------------- exclude / include
def selective(what: str, text: str) -> None:
    from cli.files import report_lines
    from client.sync import selective as chosen

    async def run(client: RoostClient) -> tuple[str, Any]:
        bound = await client.workspace()
        if bound is None:
            raise ClientError("no folder is synced on this device yet: roost sync DIR first")
        engine = client.sync(bound)
        folder = chosen.workspace_path(text, engine.root)
        act = chosen.exclude if what == EXCLUDE else chosen.include
        return folder, await act(engine, folder)

    folder, report = with_client(lambda c: interruptible(run(c)))
    _print_lines(report_lines(report))
    if what == EXCLUDE:
        output.note(
            f"excluded {output.line(folder)}: removed from this device only, kept on the server"
            f" and your other devices (roost sync include {output.line(folder)} brings it back)"
        )
    else:
        output.note(f"included {output.line(folder)}: synced on this device again")


# ---------------------------------------------------------------------------- --dry-run
DRY_RUN_LABELS = {
    "upload": "would upload",
    "download": "would download",
    "delete_local": "would delete here",
    "delete_remote": "would delete on the server",
    "conflict": "would keep a conflicted copy of",
    "keep_local": "would keep on this device only (read-only share)",
}


async def planned_changes(client: RoostClient, root: Path) -> tuple[list[Any], bool]:
    """What a pass of `root` would do now (paths that change), and whether the server's side
    is the last one seen (offline)."""
    preview = await client.sync(root).preview()
    return [s for s in preview.paths if s.action.value in DRY_RUN_LABELS], preview.offline


def planned_summary(planned: list[Any]) -> str:
    """`1 to upload (2.9 KiB); 2 to download (4.0 MiB)`, or "" when nothing would change."""
    return "; ".join(
        f"{len(of)} to {label.removeprefix('would ')} ({output.size(sum(s.size for s in of))})"
        for action, label in DRY_RUN_LABELS.items()
        if (of := [s for s in planned if s.action.value == action])
    )


def _planned_json(planned: list[Any]) -> list[dict[str, Any]]:
    return [
        {"path": s.path, "action": s.action.value, "kind": s.kind, "size": s.size} for s in planned
    ]


async def _dry_run(client: RoostClient, root: Path, as_json: bool) -> None:
    if not root.is_dir():
        raise ClientError(f"{root} does not exist: a sync would make it and download into it")
    planned, offline = await planned_changes(client, root)
    if as_json:
        output.print_json({"changes": _planned_json(planned)})
        return
    for s in planned:
        what = "folder" if s.kind == "dir" else output.size(s.size)
        output.stdout.print(
            f"{DRY_RUN_LABELS[s.action.value]}: {output.line(s.path)} ({what})", markup=False
        )
    said = planned_summary(planned)
    from_cache = " (offline: from the last view of the server)" if offline else ""
    output.note(f"dry run, nothing changed{from_cache}: {said or 'already in sync'}")


# ---------------------------------------------------------------------------- status
def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _ago(ms: int) -> str:
    seconds = max(0, int(time.time() - ms / 1000))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _excluded() -> set[str]:
    from client.sync.selective import excluded_folders

    return with_client(excluded_folders)


def show_status(as_json: bool) -> None:
    from client.sync import status
    from client.sync.lock import home_holder

    client_home = ClientHome.from_env()
    home = client_home.path
    holder = home_holder(home)
    last = status.read(home)
    # Not running: what is waiting is what a pass would do now (a running sync acts on it).
    waiting: tuple[list[Any], bool] | None = None
    unknown: str | None = None  # why what is waiting cannot be told
    if holder is None and last is not None and client_home.account() is not None:
        root = Path(last.root)
        if root.is_dir():
            try:
                waiting = with_client(lambda c: planned_changes(c, root))
            except ClientError as exc:  # offline with nothing cached yet, say
                unknown = str(exc)
    excluded = sorted(_excluded()) if client_home.account() is not None else []
    if as_json:
        output.print_json(
            {
                "excluded": excluded,
                "running": holder is not None,
                "pid": holder.pid if holder else None,
                "folder": holder.root if holder and holder.root else last.root if last else None,
                "last_pass": last,
                "next_pass": _planned_json(waiting[0]) if waiting else None,
            }
        )
        return
    if holder is not None:
        where = output.line(holder.root or "a folder")
        kind = "keeps" if holder.watching else "is syncing"
        output.stdout.print(f"running: pid {holder.pid} {kind} {where} in sync", markup=False)
    else:
        output.stdout.print("running: no (roost sync DIR starts one)", markup=False)
    if last is None:
        output.stdout.print("last pass: none yet from this Roost home", markup=False)
        return
    state = "ok" if last.ok else f"failed: {output.line(last.error or 'unknown error')}"
    if last.error == status.STOPPED:
        state = status.STOPPED
    output.stdout.print(f"folder: {output.line(last.root)}", markup=False)
    output.stdout.print(
        f"last pass: {_when(last.finished_at_ms)} ({_ago(last.finished_at_ms)}), {state}",
        markup=False,
    )
    if last.changed_at_ms is None:
        output.stdout.print("last change: none since this folder was last synced", markup=False)
    else:
        output.stdout.print(
            f"last change: {_when(last.changed_at_ms)}: uploaded {last.uploaded}, downloaded"
            f" {last.downloaded}, deleted {last.deleted}, conflicted copies {last.conflicts};"
            f" {last.totals}",
            markup=False,
        )
    if unknown is not None:
        output.stdout.print(f"waiting: unknown ({output.line(unknown)})", markup=False)
    if waiting is not None:
        said = planned_summary(waiting[0])
        from_cache = " (offline: from the last view of the server)" if waiting[1] else ""
        said = f"{said}: roost sync {last.root} does it" if said else "nothing to sync"
        output.stdout.print(f"waiting{from_cache}: {output.line(said)}", markup=False)
    for folder in excluded:
        output.stdout.print(
            f"excluded: {output.line(folder)} (not on this device; roost sync include brings it"
            " back)",
            markup=False,
        )
    if not last.pending:
        output.stdout.print("pending: nothing", markup=False)
    for item in last.pending:
        output.stdout.print(f"pending: {output.line(item)}", markup=False)


# ---------------------------------------------------------------------------- service
def roost_command() -> list[str]:
    """How a service starts this same Roost: its `roost` script beside this Python, else
    `python -m cli`."""
    script = Path(sys.executable).with_name("roost")
    if script.is_file():
        return [str(script)]
    found = shutil.which("roost")
    return [found] if found else [sys.executable, "-m", "cli"]


def install_service(folder: Path, *, force: bool) -> None:
    from client.sync.service import UNIT_NAME, install, user_unit_dir

    home = ClientHome.from_env()
    if home.account() is None:
        raise ClientError("log in first (roost login): the service syncs as this account")
    root = folder.expanduser().resolve()
    path = install(roost_command(), root, home.path.resolve(), user_unit_dir(), force=force)
    output.note(f"wrote {path}")
    output.note(
        "start it now and at every login with:\n"
        f"  systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}\n"
        "then roost sync status shows how it goes (journalctl --user -u roost-sync: its log)"
    )
