"""Ops and binary frames for files: namespaces, the journal, block negotiation, commits,
versions, sharing and attachments.

Block bytes never travel inside JSON: they go in binary frames (see `BlockFrame`), zstd on the
wire when that helps, raw otherwise. Everything here is pure: no I/O.
"""

from __future__ import annotations

import enum
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import msgspec

from protocol.errors import ErrorCode, RoostError
from protocol.spec import OpSpec
from protocol.types import (
    NO_CONTROLS,
    UNSAFE,
    ClientId,
    Count,
    Empty,
    Id,
    Int64,
    SingleLine,
    Username,
)

MAX_BLOCK_BYTES = 4 << 20  # FastCDC's max chunk size: no block is larger, raw
MAX_HASHES_PER_REQUEST = 800  # 800 x 67 bytes stays under the 64 KiB request limit
MAX_PATH_CHARS = 1024
MAX_COMMIT_ITEMS = 200  # small files commit in batches: one transaction each
MAX_NAME_BYTES = 255

Hash = Annotated[
    str,
    msgspec.Meta(pattern=r"\A[0-9a-f]{64}\Z", description="a SHA-256 digest, 64 hex digits"),
]
Hashes = Annotated[list[Hash], msgspec.Meta(max_length=MAX_HASHES_PER_REQUEST)]
Path = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PATH_CHARS)]
UploadId = Annotated[str, msgspec.Meta(pattern=r"\A[A-Za-z0-9_-]{8,64}\Z")]
AttachmentName = Annotated[
    SingleLine,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_NAME_BYTES,
        description=f"a file name of 1-{MAX_NAME_BYTES} characters, {NO_CONTROLS}",
    ),
]


class Kind(enum.StrEnum):
    FILE = "file"
    DIR = "dir"


class Role(enum.StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


# ------------------------------------------------------------------------------- paths
def validate_path(path: str) -> str:
    """The path in NFC if it is a safe relative POSIX path, else RoostError(invalid_args).
    NFC on the wire: "café" typed on Linux and read from a macOS disk (NFD) is one path."""
    nfc = unicodedata.normalize("NFC", path)
    problem = _nfc_path_problem(nfc)
    if problem is not None:
        raise RoostError(ErrorCode.INVALID_ARGS, f"bad path {path[:80]!r}: {problem}")
    return nfc


def path_problem(path: str) -> str | None:
    """What is wrong with a path (judged in NFC, as it is stored), or None."""
    return _nfc_path_problem(unicodedata.normalize("NFC", path))


def _nfc_path_problem(path: str) -> str | None:
    if not path:
        return "empty"
    if len(path) > MAX_PATH_CHARS:
        return f"longer than {MAX_PATH_CHARS} characters"
    if UNSAFE.search(path):  # it could rewrite the terminal that lists it, or pose as another
        return "control and text-direction characters are not allowed"
    if "\\" in path:
        return "backslashes are not allowed; use /"
    if path.startswith("/"):
        return "must be relative, not absolute"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return "empty, '.' and '..' components are not allowed"
        if len(part.encode()) > MAX_NAME_BYTES:
            return f"a name is longer than {MAX_NAME_BYTES} bytes"
    return None


def folders_above(path: str) -> list[str]:
    """The folders a path needs: "a/b/c" -> ["a", "a/b"]."""
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


def path_key(path: str) -> str:
    """Two paths with equal keys collide on case- or normalization-insensitive file systems
    (NFC of the case-folded NFC: folding can undo a composition)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


# ------------------------------------------------------------------------------- structs
class Namespace(msgspec.Struct):
    id: str
    name: str  # "" for a home; the folder name for a shared folder
    kind: str  # "home" | "shared"
    role: str
    owner: str
    seq: int


class NamespaceList(msgspec.Struct):
    namespaces: list[Namespace]


class Entry(msgspec.Struct):
    """One version of one path, as the journal and history report it."""

    version_id: str
    namespace_id: str
    path: str
    seq: int
    kind: str
    size: int
    mtime_ms: int
    deleted: bool
    blocks: list[str]
    parent_id: str | None
    device: str
    created_at_ms: int


class GetChanges(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    since: Int64 = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=5000)] = 1000


class Changes(msgspec.Struct):
    entries: list[Entry]  # the current version of each path changed after `since`, by seq
    seq: int  # the cursor to ask with next
    more: bool


class FindMissing(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id | None
    hashes: Hashes


class Missing(msgspec.Struct):
    hashes: list[str]


class StageBlocks(msgspec.Struct, forbid_unknown_fields=True):
    """A page of a long block list, staged before the commit that names `upload_id`."""

    upload_id: UploadId
    offset: Annotated[int, msgspec.Meta(ge=0, le=1 << 20)]
    hashes: Hashes


class AnnounceUpload(msgspec.Struct, forbid_unknown_fields=True):
    """A file on its way: its staged blocks (`files.stage`, this `upload_id`) may be fetched
    by the namespace's members before the commit that names it makes the version current."""

    namespace_id: Id
    path: Path
    upload_id: UploadId


class WithdrawUpload(msgspec.Struct, forbid_unknown_fields=True):
    upload_id: UploadId


class IncomingState(enum.StrEnum):
    STARTED = "started"  # announced; no blocks yet
    BLOCKS = "blocks"  # these blocks are stored, at these places in the file's list
    WITHDRAWN = "withdrawn"  # no commit will name it: drop what was fetched


class FilesIncoming(msgspec.Struct):
    """Event: a member's file on its way into a namespace (see `files.announce`)."""

    namespace_id: str
    path: str
    upload_id: str
    state: IncomingState
    offset: int = 0
    hashes: list[str] = msgspec.field(default_factory=list)


class CommitItem(msgspec.Struct, forbid_unknown_fields=True):
    """One path's new version; `parent_id` must name the path's current version (None for a
    path never seen), else the item is refused with `conflict`."""

    path: Path
    parent_id: Id | None
    kind: Kind = Kind.FILE
    size: Count = 0
    mtime_ms: Int64 = 0
    deleted: bool = False
    blocks: Hashes | None = None  # inline, or
    upload_id: UploadId | None = None  # staged with files.stage
    block_count: Count = 0


class Commit(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    items: Annotated[list[CommitItem], msgspec.Meta(min_length=1, max_length=MAX_COMMIT_ITEMS)]
    client_id: ClientId | None = None


class Outcome(msgspec.Struct, omit_defaults=True):
    entry: Entry | None = None
    code: str | None = None  # set when this item was refused
    message: str | None = None


class CommitResult(msgspec.Struct):
    outcomes: list[Outcome]  # one per item, in order


class History(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    path: Path


class Versions(msgspec.Struct):
    versions: list[Entry]  # newest first


class Restore(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    path: Path
    version_id: Id
    client_id: ClientId | None = None


class Move(msgspec.Struct, forbid_unknown_fields=True):
    """Rename or move a file or folder (everything in it too) inside one namespace; the new
    path's history goes on through the old one's. `parent_id`: the version of `src` the caller
    saw (refused with `conflict` if it changed since); None: whatever is current."""

    namespace_id: Id
    src: Path
    dst: Path
    parent_id: Id | None = None
    client_id: ClientId | None = None


class Moved(msgspec.Struct):
    entries: list[Entry]  # the new versions at the new paths, the moved path's first


class SpaceUse(msgspec.Struct):
    """What the caller's storage holds (`files.usage`): sizes as the files are (`*_bytes`)
    and as the server keeps them, identical content once per namespace (`*_stored`)."""

    current_files: int
    current_bytes: int
    current_stored: int
    old_versions: int  # kept versions that are not current: edits, deletions, folders
    old_bytes: int
    old_stored: int  # content only old versions hold
    attachments: int
    attachment_bytes: int
    counted_bytes: int  # what the quota counts: every version and attachment at its size


class Purge(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    path: Path  # a file, or a folder: every path under it
    client_id: ClientId | None = None


class Purged(msgspec.Struct):
    versions: int  # old versions forgotten
    bytes: int  # their logical size, no longer counted against the owner's quota


class Share(msgspec.Struct, forbid_unknown_fields=True):
    folder: Path  # a top-level folder of the caller's home, or a share the caller owns
    username: Username
    role: Role = Role.VIEWER
    client_id: ClientId | None = None


class Unshare(msgspec.Struct, forbid_unknown_fields=True):
    folder: Path
    username: Username
    client_id: ClientId | None = None


class Member(msgspec.Struct, omit_defaults=True):
    username: str
    role: str  # for a pending member, the role they are invited to
    mounted_as: str | None = None  # set when the member's workspace shows it under another name
    pending: bool = False  # invited, not yet accepted (shown to the owner only)


class ShareInfo(msgspec.Struct):
    namespace_id: str
    folder: str
    owner: str
    role: str  # the caller's role
    members: list[Member]


class Invitation(msgspec.Struct):
    """A share offered to the caller, waiting for them to accept or decline it."""

    id: str
    folder: str  # the share's own name (accepted, it may be mounted under another)
    owner: str  # who invited them: only a share's owner invites
    role: str
    invited_at_ms: int


class ShareList(msgspec.Struct):
    shares: list[ShareInfo]
    invitations: list[Invitation] = msgspec.field(default_factory=list)


class AnswerInvitation(msgspec.Struct, forbid_unknown_fields=True):
    invitation_id: Id
    client_id: ClientId | None = None


class LeaveShare(msgspec.Struct, forbid_unknown_fields=True):
    folder: Path  # the share as the caller's workspace shows it
    client_id: ClientId | None = None


class Left(msgspec.Struct):
    namespace_id: str
    folder: str


class Attach(msgspec.Struct, forbid_unknown_fields=True):
    name: AttachmentName
    size: Count
    blocks: Hashes | None = None
    upload_id: UploadId | None = None
    block_count: Count = 0
    client_id: ClientId | None = None


class GetAttachment(msgspec.Struct, forbid_unknown_fields=True):
    attachment_id: Id


class GetPostMedia(msgspec.Struct, forbid_unknown_fields=True):
    post_id: Id


class Attachment(msgspec.Struct):
    id: str
    name: str
    size: int
    owner: str
    blocks: list[str]
    created_at_ms: int


class PostMedia(msgspec.Struct):
    post_id: str  # the post carrying them: a repost's original
    attachments: list[Attachment]


class Stored(msgspec.Struct):
    """Reply to a block upload frame."""

    hash: str
    size: int


class StoredBatch(msgspec.Struct):
    """Reply to a batch upload frame: every block, in the order sent."""

    blocks: list[Stored]


class FilesChanged(msgspec.Struct):
    namespace_id: str
    seq: int


class MembershipChanged(msgspec.Struct):
    namespace_id: str
    folder: str


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"  # made, or its role changed
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the owner took it back


class InvitationChanged(msgspec.Struct):
    invitation_id: str
    folder: str
    owner: str
    role: str
    status: str


# ------------------------------------------------------------------------------- reserved names
# Names the sync client keeps for itself. Server and client both read them from here: the
# server refuses them where they would collide with the client's own files, and the client
# never takes them as a mount point, whatever old data says.
IGNORE_FILE = ".roostignore"  # at the top of a workspace: gitignore rules, read as a file
MARKER = ".roost-workspace"  # at the top of a workspace: says it is the folder synced before
TEMP_PREFIX = ".roost-tmp-"  # the sync engine's download temp files, swept when it starts
CLIENT_FILES = (IGNORE_FILE, MARKER)
_KEPT_HERE = re.compile(r".* \(unshared(?: [0-9]+)?\)\Z", re.DOTALL)


def kept_copy_name(folder: str, n: int = 1) -> str:
    """What a device renames a share it left to: kept there only, never uploaded."""
    return f"{folder} (unshared)" if n == 1 else f"{folder} (unshared {n})"


def reserved_problem(path: str, kind: str = Kind.FILE) -> str | None:
    """Why a live entry at `path` (inside any namespace) would collide with the sync client's
    own files: a temp file's name anywhere, or `.roostignore` / `.roost-workspace` at the top
    as a folder (or anything inside one). Case-folded, as case-insensitive disks see it."""
    parts = path.split("/")
    for part in parts:
        if part.casefold().startswith(TEMP_PREFIX):
            return f"names starting with {TEMP_PREFIX!r} are Roost's temporary files"
    top = parts[0]
    if top.casefold() in CLIENT_FILES and (len(parts) > 1 or kind == Kind.DIR):
        return f"{top!r} at the top is a file Roost itself keeps; it cannot be a folder"
    return None


def share_name_problem(name: str) -> str | None:
    """Why a share may not be called (or mounted as) `name`: it is a top-level folder, so a
    client-reserved name would collide with the client's own files; and "NAME (unshared)" is
    what a device calls a copy it keeps to itself, which a share must never pass for."""
    if problem := reserved_problem(name, Kind.DIR):
        return problem
    if _KEPT_HERE.match(name):
        return "names ending in '(unshared)' are for copies kept on one device only"
    return None


def mount_name(name: str, owner: str, taken: set[str]) -> str:
    """Where a member's workspace shows a share: under its own name, unless that is taken
    (case-folded names in `taken`); then "NAME (from OWNER)", "NAME (from OWNER 2)", ... so
    nothing of theirs is merged into the share, nor the share into their things. The server
    picks it when a member accepts; a device picks again when its disk has the name taken."""
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f" (from {owner})" if n == 2 else f" (from {owner} {n - 1})"
        base = name
        while len((base + suffix).encode()) > MAX_NAME_BYTES:
            base = base[:-1]
        candidate = base + suffix
    return candidate


# ------------------------------------------------------------------------------- binary frames
PUT = b"RPUT"  # client -> server: a block to store
GET = b"RGET"  # client -> server: send me a block
BLOCK = b"RBLK"  # server -> client: the block asked for
_HEAD = struct.Struct(">4sQ32s")  # magic, request id, SHA-256 digest
HEADER_BYTES = _HEAD.size + 1  # + codec byte (PUT and BLOCK only)


class Codec(enum.IntEnum):
    RAW = 0
    ZSTD = 1


@dataclass(frozen=True, slots=True)
class BlockFrame:
    magic: bytes
    request_id: int
    digest: bytes
    codec: Codec | None
    payload: memoryview

    @property
    def hash(self) -> str:
        return self.digest.hex()


def encode_block_frame(
    magic: bytes, request_id: int, digest: bytes, codec: Codec | None = None, payload: bytes = b""
) -> bytes:
    head = _HEAD.pack(magic, request_id, digest)
    if codec is None:
        return head
    return b"".join((head, bytes((codec,)), payload))


def decode_block_frame(frame: bytes) -> BlockFrame:
    """Parse a binary frame; ProtocolError-free: RoostError(malformed) on anything odd."""
    if len(frame) < _HEAD.size:
        raise RoostError(ErrorCode.MALFORMED, "binary frame too short")
    magic, request_id, digest = _HEAD.unpack_from(frame)
    if magic == GET:
        return BlockFrame(magic, request_id, digest, None, memoryview(b""))
    if magic not in (PUT, BLOCK) or len(frame) < HEADER_BYTES:
        raise RoostError(ErrorCode.MALFORMED, "unknown binary frame")
    try:
        codec = Codec(frame[_HEAD.size])
    except ValueError:
        raise RoostError(ErrorCode.MALFORMED, "unknown block codec") from None
    return BlockFrame(magic, request_id, digest, codec, memoryview(frame)[HEADER_BYTES:])


# Batches: many small blocks in one frame each way, so 10,000 small files are not 10,000 round
# trips. A batch frame: magic, request id, block count; then per block either a digest (RGTS)
# or digest + stored length + stored bytes, the codec byte then the payload (RPTS, RBKS).
PUT_BATCH = b"RPTS"  # client -> server: blocks to store, all or none
GET_BATCH = b"RGTS"  # client -> server: send me these blocks
BLOCK_BATCH = b"RBKS"  # server -> client: the blocks asked for, in the order asked
MAX_BATCH_BLOCKS = 1024
MAX_BATCH_BYTES = 4 << 20  # stored bytes in one batch; with headers, under the frame limit
_BATCH_HEAD = struct.Struct(">4sQH")  # magic, request id, count
_BATCH_ITEM = struct.Struct(">32sI")  # digest, stored length
BATCH_ITEM_BYTES = _BATCH_ITEM.size


@dataclass(frozen=True, slots=True)
class BatchItem:
    digest: bytes
    stored: memoryview  # codec byte + payload; empty in a GET_BATCH

    @property
    def hash(self) -> str:
        return self.digest.hex()

    @property
    def codec(self) -> Codec:
        return Codec(self.stored[0])

    @property
    def payload(self) -> memoryview:
        return self.stored[1:]


@dataclass(frozen=True, slots=True)
class BatchFrame:
    magic: bytes
    request_id: int
    items: list[BatchItem]


def encode_get_batch(request_id: int, digests: Sequence[bytes]) -> bytes:
    return b"".join((_BATCH_HEAD.pack(GET_BATCH, request_id, len(digests)), *digests))


def encode_batch(magic: bytes, request_id: int, blocks: Sequence[tuple[bytes, bytes]]) -> bytes:
    """A PUT_BATCH or BLOCK_BATCH of (digest, stored) pairs; stored = codec byte + payload."""
    parts = [_BATCH_HEAD.pack(magic, request_id, len(blocks))]
    for digest, stored in blocks:
        parts.append(_BATCH_ITEM.pack(digest, len(stored)))
        parts.append(stored)
    return b"".join(parts)


def is_batch(frame: bytes) -> bool:
    return frame[:4] in (PUT_BATCH, GET_BATCH, BLOCK_BATCH)


def decode_batch(frame: bytes) -> BatchFrame:
    """Parse a batch frame whole before anything acts on it: RoostError(malformed) when it is
    cut short, has bytes left over or an unknown codec; too_large past the batch limits."""
    if len(frame) < _BATCH_HEAD.size:
        raise RoostError(ErrorCode.MALFORMED, "batch frame too short")
    magic, request_id, count = _BATCH_HEAD.unpack_from(frame)
    if magic not in (PUT_BATCH, GET_BATCH, BLOCK_BATCH):
        raise RoostError(ErrorCode.MALFORMED, "unknown binary frame")
    if count > MAX_BATCH_BLOCKS:
        raise RoostError(
            ErrorCode.TOO_LARGE, f"{count} blocks in one batch; the limit is {MAX_BATCH_BLOCKS}"
        )
    view = memoryview(frame)
    pos = _BATCH_HEAD.size
    items: list[BatchItem] = []
    if magic == GET_BATCH:
        if len(frame) != pos + 32 * count:
            raise RoostError(ErrorCode.MALFORMED, "batch frame length does not match its count")
        for i in range(count):
            start = pos + 32 * i
            items.append(BatchItem(bytes(view[start : start + 32]), view[:0]))
        return BatchFrame(magic, request_id, items)
    total = 0
    for _ in range(count):
        if len(frame) < pos + _BATCH_ITEM.size:
            raise RoostError(ErrorCode.MALFORMED, "batch frame cut short")
        digest, length = _BATCH_ITEM.unpack_from(frame, pos)
        pos += _BATCH_ITEM.size
        total += length
        if total > MAX_BATCH_BYTES:
            raise RoostError(
                ErrorCode.TOO_LARGE, f"batch over {MAX_BATCH_BYTES >> 20} MiB of block bytes"
            )
        if length < 1 or len(frame) < pos + length:
            raise RoostError(ErrorCode.MALFORMED, "batch frame cut short")
        if frame[pos] not in (Codec.RAW, Codec.ZSTD):
            raise RoostError(ErrorCode.MALFORMED, "unknown block codec")
        items.append(BatchItem(digest, view[pos : pos + length]))
        pos += length
    if pos != len(frame):
        raise RoostError(ErrorCode.MALFORMED, "batch frame length does not match its count")
    return BatchFrame(magic, request_id, items)


def peek_frame_id(frame: bytes) -> int | None:
    return int.from_bytes(frame[4:12], "big") if len(frame) >= 12 else None


SPECS = [
    OpSpec("files.namespaces", Empty, NamespaceList, summary="the namespaces the caller can read"),
    OpSpec("files.changes", GetChanges, Changes, summary="a namespace's journal after a cursor"),
    OpSpec("files.missing", FindMissing, Missing, summary="which blocks the caller must send"),
    OpSpec("files.stage", StageBlocks, Empty, summary="stage a page of a long block list"),
    OpSpec(
        "files.announce",
        AnnounceUpload,
        Empty,
        summary="say a file is on its way, so members fetch its blocks while it uploads",
    ),
    OpSpec("files.withdraw", WithdrawUpload, Empty, summary="no commit will name this upload"),
    OpSpec("files.commit", Commit, CommitResult, write=True, summary="commit new versions"),
    OpSpec("files.history", History, Versions, summary="every version of a path"),
    OpSpec("files.restore", Restore, Entry, write=True, summary="make an old version current"),
    OpSpec(
        "files.move",
        Move,
        Moved,
        write=True,
        summary="rename or move a file or folder, its history kept",
    ),
    OpSpec(
        "files.purge",
        Purge,
        Purged,
        write=True,
        summary="forget every old version of a path, keeping the current one",
    ),
    OpSpec(
        "files.usage",
        Empty,
        SpaceUse,
        summary="the caller's storage: current files, old versions, attachments",
    ),
    OpSpec("files.share", Share, ShareInfo, write=True, summary="invite a user to a folder"),
    OpSpec(
        "files.unshare", Unshare, ShareInfo, write=True, summary="revoke a member or invitation"
    ),
    OpSpec(
        "files.shares",
        Empty,
        ShareList,
        summary="the shares the caller belongs to, and those offered to them",
    ),
    OpSpec(
        "files.share.accept",
        AnswerInvitation,
        ShareInfo,
        write=True,
        summary="accept an invitation to a share",
    ),
    OpSpec(
        "files.share.decline",
        AnswerInvitation,
        Empty,
        write=True,
        summary="decline an invitation to a share",
    ),
    OpSpec("files.share.leave", LeaveShare, Left, write=True, summary="leave a share"),
    OpSpec("files.attach", Attach, Attachment, write=True, summary="make an attachment"),
    OpSpec("media.get", GetAttachment, Attachment, summary="an attachment's name, size, blocks"),
    OpSpec("media.post", GetPostMedia, PostMedia, summary="a post's attachments with blocks"),
]
EVENTS: dict[str, type[msgspec.Struct]] = {
    "files.changed": FilesChanged,
    "files.incoming": FilesIncoming,
    "files.membership": MembershipChanged,
    "files.invitation": InvitationChanged,
}
