"""The three-way rule, as Dropbox's sync engine frames it, with no I/O: for each path compare
**local** (on disk), **synced** (the version both sides last agreed on: the merge base) and
**remote** (the server's current version).

local != synced -> upload (parent = remote); remote != synced -> download; both -> keep both
(conflicted copy), unless they agree. A local change is never overwritten.

The remote counts as changed when its content differs from the base's, not merely its
version id: sharing a folder copies its files' versions into the share under new ids, and
an edit made on top of the same bytes is no conflict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Action(enum.StrEnum):
    NOTHING = "nothing"
    RECORD = "record"  # both sides agree already: remember remote as the new base
    UPLOAD = "upload"
    DELETE_REMOTE = "delete_remote"
    DOWNLOAD = "download"
    DELETE_LOCAL = "delete_local"
    CONFLICT = "conflict"  # move local aside as a conflicted copy, then download remote
    KEEP_LOCAL = "keep_local"  # viewer: a local-only change stays local, never uploaded


@dataclass(frozen=True, slots=True)
class Content:
    """What a path holds, enough to compare: kind and ordered block hashes."""

    kind: str  # "file" | "dir"
    blocks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Version:
    """A server version (remote, or the synced base); `content` None for a tombstone."""

    version_id: str
    content: Content | None


def decide(local: Content | None, synced: Version | None, remote: Version | None) -> Action:
    base = synced.content if synced else None
    theirs = remote.content if remote else None
    local_changed = local != base
    new_id = (remote.version_id if remote else None) != (synced.version_id if synced else None)
    remote_changed = new_id and theirs != base
    if not local_changed and not remote_changed:
        return Action.RECORD if new_id else Action.NOTHING  # same bytes under a new id
    if local_changed and not remote_changed:
        if local is None:
            return Action.DELETE_REMOTE if theirs is not None else Action.NOTHING
        return Action.UPLOAD
    if not local_changed:  # only the remote moved
        if theirs is None:
            return Action.DELETE_LOCAL if local is not None else Action.RECORD
        return Action.DOWNLOAD
    # both moved
    if local == theirs:
        return Action.RECORD
    if local is None:
        return Action.DOWNLOAD  # deleted here, edited there: the edit wins
    if theirs is None:
        return Action.UPLOAD  # edited here, deleted there: the edit wins
    if local.kind == theirs.kind == "dir":
        return Action.RECORD
    return Action.CONFLICT


def for_viewer(action: Action, local: Content | None, remote: Version | None) -> Action:
    """A viewer's namespace is read-only: local changes are kept locally, never uploaded.
    A changed file that exists remotely becomes a conflicted copy beside the remote one."""
    theirs = remote.content if remote else None
    if action == Action.UPLOAD:
        return Action.CONFLICT if theirs is not None and local is not None else Action.KEEP_LOCAL
    if action == Action.DELETE_REMOTE:
        return Action.DOWNLOAD  # put the shared file back
    return action
