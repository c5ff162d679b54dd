"""files.move: a file or folder (with everything in it) renamed or moved inside a namespace,
as one commit (new versions at the new paths with the same blocks, deletions at the old ones)
plus a record of where each new path came from, so its history goes on through the old one.
No block is sent again; the new versions count toward the owner's storage as any version."""

from __future__ import annotations

from protocol import files as wire
from protocol.errors import ErrorCode, RoostError
from server.context import OpContext
from server.files.handlers import commit, namespace_of
from server.router import Handler
from storage.server.file_moves import record_moves


def move_problem(src: str, dst: str) -> str | None:
    """Why `src` cannot become `dst` (both valid NFC paths), or None."""
    if wire.path_key(src) == wire.path_key(dst) and src == dst:
        return "the old and new paths are the same"
    if dst.startswith(src + "/"):
        return f"{src!r} cannot be moved inside itself"
    return None


def new_path(path: str, src: str, dst: str) -> str:
    """Where a path at or under `src` lands when `src` becomes `dst`."""
    return dst + path[len(src) :]


async def move(ctx: OpContext, args: wire.Move) -> wire.Moved:
    src, dst = wire.validate_path(args.src), wire.validate_path(args.dst)
    if problem := move_problem(src, dst):
        raise RoostError(ErrorCode.INVALID_ARGS, problem)
    ns = await namespace_of(ctx, args.namespace_id, write=True)
    files, tx = ctx.services.files, ctx.write_tx
    moving = await files.live_under(tx, ns.id, src)
    top = next((v for v in moving if v.path == src), None)
    if not moving:
        raise RoostError(ErrorCode.NOT_FOUND, f"no file or folder {src!r}")
    if args.parent_id is not None and (top is None or str(top.id) != args.parent_id):
        raise RoostError(ErrorCode.CONFLICT, f"{src!r} changed since you looked; look again")
    targets = [new_path(v.path, src, dst) for v in moving]
    before = await files.currents(tx, ns.id, targets)
    if taken := sorted(p for p, (_, deleted) in before.items() if not deleted):
        raise RoostError(ErrorCode.CONFLICT, f"{taken[0]!r} exists; move or remove it first")
    made = [
        wire.CommitItem(
            path=target,
            parent_id=str(before[target][0]) if target in before else None,
            kind=wire.Kind(v.kind),
            size=v.size,
            mtime_ms=v.mtime_ms,
            blocks=list(v.blocks) if v.kind == wire.Kind.FILE else None,
        )
        for v, target in zip(moving, targets, strict=True)
    ]
    gone = [
        wire.CommitItem(path=v.path, parent_id=str(v.id), kind=wire.Kind(v.kind), deleted=True)
        for v in sorted(moving, key=lambda v: v.path, reverse=True)  # a folder once emptied
    ]
    result = await commit(ctx, wire.Commit(args.namespace_id, made + gone))
    for outcome in result.outcomes:
        if outcome.entry is None:  # the whole move is one transaction: none of it stays
            code = ErrorCode(outcome.code or ErrorCode.CONFLICT.value)
            raise RoostError(code, outcome.message or "refused")
    entries = [o.entry for o in result.outcomes[: len(made)] if o.entry is not None]
    await record_moves(
        tx, ns.id, [(int(e.version_id), v.path, v.id) for e, v in zip(entries, moving, strict=True)]
    )
    entries.sort(key=lambda e: (e.path != dst, e.path))
    return wire.Moved(entries)


HANDLERS: dict[str, Handler] = {"files.move": move}
