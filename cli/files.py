"""roost files ..., roost share, roost media ...: thin over client.files (roost sync is
cli/sync_command.py; the report lines of a pass are here)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from cli import file_commands, output, typed_ids
from cli.options import AsJson, Force
from cli.session import with_client
from client.core import RoostClient
from client.errors import ClientError
from client.files import local_name
from client.sync.engine import PassReport, mounted_aside_note, restored_note
from protocol import files as wire

files_app = typer.Typer(
    help="Your files from any device, without a workspace.", no_args_is_help=True
)
media_app = typer.Typer(help="Post attachments.", no_args_is_help=True)


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def version_json(e: wire.Entry, shown: str | None = None) -> dict[str, Any]:
    return {
        "version": e.version_id,
        "path": shown or e.path,
        "kind": e.kind,
        "size": e.size,
        "modified_at": _when(e.mtime_ms),
        "committed_at": _when(e.created_at_ms),
        "deleted": e.deleted,
        "device": e.device,
        "blocks": len(e.blocks),
    }


@contextmanager
def progress_bar() -> Iterator[Any]:
    """A rich progress bar on a terminal; nothing otherwise."""
    if not output.stderr.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=output.stderr,
        transient=True,
    )
    with bar:
        task = bar.add_task("syncing", total=None)
        yield lambda h, n: bar.advance(task, n)


LIST_PER_KIND = 20  # routine changes listed one per line before the rest is counted


def report_lines(report: PassReport) -> list[str]:
    """What a pass did, one line per path; routine changes past `LIST_PER_KIND` of a kind
    are counted, not listed (10,000 new files would flood the terminal and take a second to
    print), while everything that needs the person's attention is always listed."""
    lines: list[str] = []
    for label, items in (
        ("uploaded", report.uploaded),
        ("downloaded", report.downloaded),
        ("deleted here", report.deleted_local),
        ("deleted on server", report.deleted_remote),
    ):
        lines += [f"{label}: {item}" for item in items[:LIST_PER_KIND]]
        if len(items) > LIST_PER_KIND:
            lines.append(f"{label}: {len(items) - LIST_PER_KIND:,} more ({len(items):,} in all)")
    lines += [f"conflicted copy: {item}" for item in report.conflicts]
    lines += [f"kept local (read-only share): {item}" for item in report.kept_local]
    lines += [f"no longer shared with you, kept on this device only: {i}" for i in report.detached]
    lines += [restored_note(folder) for folder in report.restored]
    lines += [mounted_aside_note(aside) for aside in report.mounted_aside]
    lines += [f"warning: {w}" for w in report.warnings]
    lines += [f"not synced yet: {path}: {why}" for path, why in report.refused]
    lines += [f"skipped: {path}: {why}" for path, why in report.skipped]
    lines = [output.line(one) for one in lines]  # paths and device names: one line each
    return lines


@files_app.command("ls")
def ls(
    path: Annotated[str, typer.Argument(help="A folder or file; the top when left out.")] = "",
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Everything under it, not one level.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List a folder's files and folders (shared folders show at the top)."""
    rows = with_client(lambda c: c.files.ls(path, recursive=recursive))
    if as_json:
        output.print_json(
            {
                "entries": [
                    version_json(r.entry, r.shown) if r.entry else {"path": r.shown, "kind": r.kind}
                    for r in rows
                ]
            }
        )
        return
    if not output.stdout.is_terminal:  # piped: tab-separated, as every listing
        output.table(["size", "modified", "path"], [_ls_cells(r) for r in rows])
        return
    for r in rows:
        if r.entry is None or r.kind == "dir":
            label = "share" if r.kind == "share" else "folder"
            output.stdout.print(f"{label:>10}  {'':16}  {output.line(r.shown)}/", markup=False)
        else:
            when = _when(r.entry.mtime_ms).astimezone().strftime("%Y-%m-%d %H:%M")
            output.stdout.print(
                f"{output.size(r.entry.size):>10}  {when:16}  {output.line(r.shown)}", markup=False
            )


def _ls_cells(r: Any) -> list[str]:
    if r.entry is None or r.kind == "dir":
        return ["share" if r.kind == "share" else "folder", "", r.shown + "/"]
    when = _when(r.entry.mtime_ms).astimezone().strftime("%Y-%m-%d %H:%M")
    return [output.size(r.entry.size), when, r.shown]


@files_app.command("history")
def history(path: str, as_json: AsJson = False) -> None:
    """Every version of a file, newest first (deleted ones included)."""
    versions = with_client(lambda c: c.files.history(path))
    typed_ids.remember("version", [v.version_id for v in versions])
    if as_json:
        output.print_json({"versions": [version_json(v) for v in versions]})
        return
    rows = [
        [
            v.version_id,
            _when(v.created_at_ms).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "deleted" if v.deleted else output.size(v.size),
            v.device,
        ]
        for v in versions
    ]
    output.table(["#", "version", "committed", "size", "from"], output.numbered(rows))


@files_app.command("restore")
def restore(
    path: str,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="A version id from files history (its last 6+ digits, or #N); without it, a"
            " deleted file comes back as it was before its deletion.",
            callback=typed_ids.callback("version"),
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Bring the folder PATH back to how it was at this time (2026-12-05 14:30,"
            " 14:30, or 2h for two hours ago): changed files restored, newer ones deleted, all"
            " as new versions.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --at: print what would change; change nothing.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Make an old version current again (as a new version); works for deleted files.

    With --at TIME, a whole folder goes back to that moment (try --dry-run first)."""
    if at is not None:
        if version is not None:
            raise ClientError("--at and --version do not go together: --at restores a folder")
        restore_folder_at(path, at, dry_run=dry_run, as_json=as_json)
        return
    if dry_run:
        raise ClientError("--dry-run goes with --at (roost files restore DIR --at TIME --dry-run)")
    entry = with_client(lambda c: c.files.restore(path, version))
    if as_json:
        output.print_json(version_json(entry))
    elif version is None:
        output.note(f"restored {path} (now version {entry.version_id})")
    else:
        output.note(f"restored {path} to version {version} (now version {entry.version_id})")


def restore_folder_at(folder: str, at: str, *, dry_run: bool, as_json: bool) -> None:
    from client.restore_at import FolderRestore, parse_time

    when = parse_time(at, datetime.now().astimezone())

    async def run(c: RoostClient) -> tuple[Any, list[wire.Entry]]:
        restorer = FolderRestore(c.files)
        plan = await restorer.plan(folder, when)
        return plan, [] if dry_run else await restorer.apply(plan)

    plan, done = with_client(run)
    verb = {"restore": "would restore" if dry_run else "restored",
            "delete": "would delete" if dry_run else "deleted"}  # fmt: skip
    if as_json:
        output.print_json(
            {
                "at": when.isoformat(),
                "dry_run": dry_run,
                "changes": [
                    {
                        "path": plan.shown(s),
                        "action": s.kind,
                        "version": s.then.version_id if s.then else None,
                    }
                    for s in plan.steps
                ],
            }
        )
        return
    for s in plan.steps:
        then = f" (version {s.then.version_id})" if s.then else " (it did not exist then)"
        output.stdout.print(f"{verb[s.kind]}: {output.line(plan.shown(s))}{then}", markup=False)
    moment = f"{when:%Y-%m-%d %H:%M:%S}"
    if not plan.steps:
        output.note(f"{folder} is as it was at {moment}: nothing to restore")
    elif dry_run:
        output.note(f"dry run, nothing changed: {len(plan.steps)} to change back to {moment}")
    else:
        output.note(
            f"{folder} is as it was at {moment}: {output.count(len(done), 'new version')}"
            " (roost files history keeps the ones before)"
        )


@files_app.command("purge")
def purge(
    path: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: AsJson = False,
) -> None:
    """Forget every old version of a file (or of everything in a folder), keeping the current
    one: a deleted file keeps only its deletion. Frees their space for good."""
    if not yes and not typer.confirm(f"Purge the old versions of {path}? This cannot be undone"):
        output.note("nothing purged")
        raise typer.Exit(1)
    done = with_client(lambda c: c.files.purge(path))
    if as_json:
        output.print_json({"versions": done.versions, "bytes": done.bytes})
    else:
        versions = output.count(done.versions, "old version")
        output.note(f"purged {versions} of {path}: {output.size(done.bytes)}")


@files_app.command("get")
def get(
    path: str,
    out: Annotated[
        Path | None, typer.Option("-o", "--output", help="Where to write it (a file or folder).")
    ] = None,
    force: Force = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="A folder, with everything in it.")
    ] = False,
) -> None:
    """Download a file, or a folder with -r (never over an existing file without --force)."""
    if recursive:
        return file_commands.get_folder(path, out, force)
    name = local_name(path.rstrip("/").rpartition("/")[2])  # a share's .bashrc: as bashrc
    dest = out / name if out is not None and out.is_dir() else out or Path(name)

    async def body(client: RoostClient) -> wire.Entry:
        with progress_bar() as on_block:
            files = client.files
            transfer = await files.transfer()
            transfer.on_block = on_block
            return await files.get(path, dest, force=force)

    entry = with_client(body)
    output.note(f"{path} -> {dest} ({output.size(entry.size)})")


@files_app.command("put")
def put(
    file: Annotated[Path, typer.Argument(help="The local file (or folder) to upload.")],
    path: Annotated[
        str | None, typer.Argument(help="Where in Roost; its name at the top by default.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Upload a file as a new version; a folder, with everything in it."""
    if file.is_dir():
        return file_commands.put_folder(file, path, as_json)

    async def body(client: RoostClient) -> wire.Entry:
        with progress_bar() as on_block:
            files = client.files
            (await files.transfer()).on_block = on_block
            return await files.put(file, path)

    entry = with_client(body)
    if as_json:
        output.print_json(version_json(entry))
    else:
        output.note(f"{file} -> {entry.path} (version {entry.version_id})")


SHARE_ANSWERS = ("accept", "decline", "leave")


def share(
    folder: Annotated[
        str | None,
        typer.Argument(
            help="A top-level folder of yours; or accept, decline or leave, then NAME. (A"
            " folder of yours called accept, decline or leave: write it with a trailing /.)"
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Argument(help="Who to invite; after accept/decline/leave: NAME.")
    ] = None,
    role: Annotated[
        wire.Role, typer.Option(help="viewer (read-only) or editor.")
    ] = wire.Role.VIEWER,
    revoke: Annotated[
        bool,
        typer.Option("--revoke", help="Remove USER from FOLDER, or take back their invitation."),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Invite someone to a folder (FOLDER USER; it is shared once they accept), revoke
    (--revoke), or list your shares and the invitations waiting for you (no arguments).

    roost share accept NAME / decline NAME answers an invitation (NAME: its folder or id);
    roost share leave NAME leaves a share (your devices keep a copy, on the device only).
    """
    if folder in SHARE_ANSWERS:
        if revoke:
            raise ClientError(f"--revoke goes with FOLDER USER, not with {folder}")
        _answer(folder, user, as_json)
        return
    if folder is None:
        _list_shares(as_json)
        return
    if user is None:
        raise ClientError("give a USER to share with, or no arguments to list your shares")
    if role == wire.Role.OWNER:
        raise ClientError("--role must be viewer or editor")
    if revoke:
        info = with_client(lambda c: c.files.unshare(folder, user))
        verb = f"{user} no longer shares {info.folder} (nor is invited to)"
    else:
        info = with_client(lambda c: c.files.share(folder, user, role.value))
        invited = any(m.pending and m.username == user.lower() for m in info.members)
        verb = (
            f"invited {user} to {info.folder} as {role.value}: it is shared once they accept"
            f" (roost share accept {shlex.quote(info.folder)})"
            if invited
            else f"shared {info.folder} with {user} as {role.value}"
        )
    if as_json:
        output.print_json(info)
    else:
        output.note(verb)


def _answer(action: str, name: str | None, as_json: bool) -> None:
    if name is None:
        what = "shared folder" if action == "leave" else "invitation (its folder or id)"
        raise ClientError(f"roost share {action} NAME: name the {what}")
    if action == "accept":
        info = with_client(lambda c: c.files.accept(name))
        said = (
            f"accepted: {info.owner}'s folder is in your files as {info.folder}/ (you are"
            f" {info.role}); roost sync brings it to this device"
        )
        result: Any = info
    elif action == "decline":
        invitation = with_client(lambda c: c.files.decline(name))
        said, result = f"declined {invitation.folder} from {invitation.owner}", invitation
    else:
        left = with_client(lambda c: c.files.leave(name))
        said = (
            f"left {left.folder}; each of your devices keeps its copy as"
            f" {wire.kept_copy_name(left.folder)!r}, on that device only"
        )
        result = left
    if as_json:
        output.print_json(result)
    else:
        output.note(said)


def _list_shares(as_json: bool) -> None:
    found = with_client(lambda c: c.files.share_list())
    if as_json:
        output.print_json(found)
        return
    if not found.shares and not found.invitations:
        output.note("no shared folders: roost share FOLDER USER invites someone to one of yours")
    for s in found.shares:
        members = ", ".join(
            f"{m.username} ({m.role}{', invited' if m.pending else ''})" for m in s.members
        )
        output.stdout.print(
            output.line(f"{s.folder}/  owner {s.owner}, you are {s.role}: {members}"),
            markup=False,
        )
    for i in found.invitations:
        output.stdout.print(
            output.line(f"{i.folder}/  invited by {i.owner}, as {i.role} (invitation {i.id})"),
            markup=False,
        )
    if found.invitations:
        output.note("answer with roost share accept NAME, or roost share decline NAME")


@media_app.command("put")
def media_put(file: Path, as_json: AsJson = False) -> None:
    """Upload a file as an attachment; prints its id (what a post refers to)."""
    att = with_client(lambda c: c.files.attach(file))
    if as_json:
        output.print_json(att)
    else:
        output.stdout.print(att.id, markup=False)
        output.note(f"attached {output.line(att.name)} ({output.size(att.size)})")


@media_app.command("get")
def media_get(
    media_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A post id (all its attachments; its last 6+ digits or #N work too) or one"
            " attachment's id.",
            callback=typed_ids.callback("post"),
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="A directory, or a file name when there is one attachment."
        ),
    ] = None,
    force: Force = False,
) -> None:
    """Download a post's attachments, or one attachment. Names are made safe (no folders, no
    leading dot: `.bashrc` is saved as `bashrc`) and no file is replaced without --force."""
    got = with_client(lambda c: c.files.download_media(media_id, out, force=force))
    for att, dest in got:
        output.note(
            f"{output.line(att.name)} -> {output.line(str(dest))} ({output.size(att.size)})"
        )


file_commands.register(files_app)  # rm, mv, mkdir and cat: sub-commands of `roost files` too
