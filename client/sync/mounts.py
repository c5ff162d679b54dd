"""Where each shared folder shows in this workspace: plain logic, no I/O.

The server names a mount (`files.namespaces`), but it cannot see this device's disk: a folder
made here and not synced yet, an ignored one, one kept on this device only, a file. A share
never takes over any of them, or the next pass would upload what is in it into someone else's
share: it is mounted as "NAME (from OWNER)" instead, and stays there (the sync index keeps
each share's folder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from protocol import files as wire


@dataclass(frozen=True)
class MountAside:
    name: str  # the share as the server names it for this member
    owner: str
    folder: str  # where this device mounted it instead


def mount_points(
    namespaces: Iterable[wire.Namespace],
    before: dict[str, str],
    *,
    on_disk: set[str],
    synced_before: set[str],
) -> dict[str, str]:
    """Shared namespace id -> its top-level folder here.

    `before`: the folders shares were mounted under (kept as they are). `on_disk`: top-level
    names this device already has or uses (on disk, the home's on the server, kept here only).
    `synced_before`: shares this device synced before it kept their folders (an older client):
    their folder is their own copy. A share its owner made from their own folder takes that
    folder: it is theirs. Any other new share takes its name only when nothing has it (case
    folded: other disks see "Team" and "team" as one) and it is no name the client keeps for
    itself."""
    shares = sorted((ns for ns in namespaces if ns.kind == "shared"), key=lambda ns: ns.id)
    taken = {name.casefold() for name in on_disk}
    taken |= {folder.casefold() for folder in before.values()}
    out: dict[str, str] = {}
    for ns in shares:
        kept = before.get(ns.id)
        if kept is not None and not _collides(kept):
            out[ns.id] = kept
        elif (ns.role == wire.Role.OWNER or ns.id in synced_before) and not _collides(ns.name):
            out[ns.id] = ns.name
        else:
            refused = taken | ({ns.name.casefold()} if wire.share_name_problem(ns.name) else set())
            out[ns.id] = wire.mount_name(ns.name, ns.owner, refused)
        taken.add(out[ns.id].casefold())
    return out


def settled(namespaces: Iterable[wire.Namespace], before: dict[str, str]) -> bool:
    """Whether every share keeps the folder it has: then nothing needs looking at."""
    return all(
        ns.id in before and not _collides(before[ns.id]) for ns in namespaces if ns.kind == "shared"
    )


def _collides(folder: str) -> bool:
    """A top-level folder of this name would take the place of the client's own files."""
    return wire.reserved_problem(folder, wire.Kind.DIR) is not None
