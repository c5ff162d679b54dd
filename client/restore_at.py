"""`roost files restore DIR --at TIME`: bring a whole folder (or one file) back to how it was
at a moment.

A client-side plan over existing ops (no new server op): each path the journal knows under
DIR (tombstones included) gets its history (`files.history`); the version current at TIME is
the newest committed at or before it. A path that differs now is restored to it
(`files.restore`: a new version) or, if it did not exist then, deleted (a tombstone). Nothing
is lost: every version stays in the history, so a restore can itself be undone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from client.errors import ClientError
from client.files import Located, RemoteFiles
from protocol import files as wire

TIME_HELP = "2026-12-05 14:30 (local time), 14:30 (today), or 2h / 90m / 3d (that long ago)"
_AGO = re.compile(r"^(\d+)\s*(s|m|min|h|d)(?:\s+ago)?$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: datetime) -> datetime:
    """A moment a person types, as an aware datetime; ClientError when it is not one or is in
    the future. `now` is aware (local)."""
    said = text.strip().lower()
    if m := _AGO.match(said):
        try:
            return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
        except OverflowError:  # before the year 1
            raise ClientError(f"--at {text!r} is too long ago: nothing is older") from None
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(said.upper())
    except ValueError:
        for form in ("%H:%M", "%H:%M:%S"):
            try:
                t = datetime.strptime(said, form).time()
            except ValueError:
                continue
            when = datetime.combine(now.date(), t)
            break
    if when is None:
        raise ClientError(f"--at {text!r} is not a time: write {TIME_HELP}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=now.tzinfo).astimezone(now.tzinfo)
    if when > now:
        raise ClientError(f"--at {text!r} is in the future: restore goes back to a past moment")
    return when


def as_of(versions: list[wire.Entry], path: str, at_ms: int) -> wire.Entry | None:
    """The version of `path` current at `at_ms` (`versions` newest first, as files.history
    gives them; versions from before a move to `path` belong to the old path)."""
    for v in versions:
        if v.path == path and v.created_at_ms <= at_ms:
            return v
    return None


Kind = Literal["restore", "delete"]


@dataclass(frozen=True)
class Step:
    path: str  # in the namespace
    kind: Kind
    current: wire.Entry
    then: wire.Entry | None  # the version brought back (restore)


def step_for(current: wire.Entry, then: wire.Entry | None) -> Step | None:
    """What makes `current` what `then` was: nothing, a restore of `then`, or a deletion."""
    if then is None or then.deleted:
        return None if current.deleted else Step(current.path, "delete", current, None)
    same = not current.deleted and (current.kind, current.blocks) == (then.kind, then.blocks)
    return None if same else Step(current.path, "restore", current, then)


def order(steps: list[Step]) -> list[Step]:
    """Restores parents first (path order), then deletions children first."""
    restores = sorted((s for s in steps if s.kind == "restore"), key=lambda s: s.path)
    deletes = sorted((s for s in steps if s.kind == "delete"), key=lambda s: s.path, reverse=True)
    return restores + deletes


@dataclass(frozen=True)
class Plan:
    where: Located
    at: datetime
    steps: list[Step]

    def shown(self, step: Step) -> str:
        return self.where.shown(step.path)


class FolderRestore:
    def __init__(self, files: RemoteFiles) -> None:
        self.files = files

    async def plan(self, folder: str, at: datetime) -> Plan:
        where = await self.files.locate(folder)
        if where.namespace.role == wire.Role.VIEWER:
            raise ClientError(f"you are a viewer of {where.namespace.name!r}; it is read-only")
        prefix = where.path + "/" if where.path else ""
        shares: set[str] = set()
        if where.namespace.kind == "home":
            shares = {ns.name for ns in await self.files.namespaces() if ns.kind == "shared"}
        entries = [
            e
            for e in await self.files.entries(where.namespace)
            if (e.path == where.path or e.path.startswith(prefix))
            and e.path.partition("/")[0] not in shares
        ]
        if not entries:
            raise ClientError(f"no file or folder {folder!r} (now or before) in your files")
        at_ms = int(at.timestamp() * 1000)
        steps: list[Step] = []
        for e in entries:
            if e.created_at_ms <= at_ms:  # unchanged since then: nothing to look up
                continue
            versions = await self.files.history(where.shown(e.path))
            if (step := step_for(e, as_of(versions, e.path, at_ms))) is not None:
                steps.append(step)
        return Plan(where, at, order(steps))

    async def apply(self, plan: Plan) -> list[wire.Entry]:
        """Each step as a new version; a step refused (someone changed the path since the
        plan) stops here with a line naming it, the steps before it done."""
        ns = plan.where.namespace
        transfer = await self.files.transfer()
        done: list[wire.Entry] = []
        for step in plan.steps:
            if step.kind == "restore":
                assert step.then is not None
                written = await self.files.client.write(
                    "files.restore", wire.Restore(ns.id, step.path, step.then.version_id)
                )
                if written.result is None:
                    raise ClientError("the server is unreachable; the rest of the restore waits")
                done.append(written.result)
                continue
            item = wire.CommitItem(
                step.path, step.current.version_id, wire.Kind(step.current.kind), deleted=True
            )
            [outcome] = await transfer.commit(ns.id, [item])
            if outcome.entry is None:
                why = outcome.message or outcome.code or "refused"
                raise ClientError(f"{plan.shown(step)}: {why} (run the restore again)")
            done.append(outcome.entry)
        return done
