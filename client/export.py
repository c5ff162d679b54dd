"""`roost export`: a user's own data in one zip archive, read through the server.

    roost-export/profile.json        your profile, counts, whom you follow and who follows you
    roost-export/posts.json          your posts, replies and reposts, oldest first
    roost-export/messages.json       every conversation you can read, with its messages
    roost-export/files.json          each namespace you belong to, with every version
    roost-export/files/home/PATH     the current bytes of each file in your home
    roost-export/files/shared/NAME/PATH   ... and in each shared folder you belong to
    roost-export/attachments/ID/NAME      the files attached to your posts

Everything comes from ops that check who asks (`export.posts`, `export.versions`,
`chat.list`, `chat.history`, `files.*`) and from block downloads, which serve only blocks
the caller may read; the archive is written beside its destination and renamed into place
when whole, and file bytes are streamed into it a block at a time.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from client.boundary import translate_storage_errors
from client.core import RoostClient
from client.errors import ClientError
from client.files import local_name
from protocol import chat as chat_wire
from protocol import export as wire
from protocol import files as files_wire
from protocol import social as social_wire
from protocol.profiles import GetProfile, Profile

ROOT = "roost-export"


@dataclass
class ExportSummary:
    path: str
    posts: int
    conversations: int
    messages: int
    namespaces: int
    versions: int
    files: int
    bytes: int


def archive_name(username: str, now: datetime) -> str:
    return f"roost-export-{username}-{now:%Y%m%d-%H%M%S}.zip"


def member_path(ns: files_wire.Namespace, path: str = "") -> str:
    """Where a namespace's file goes in the archive. Server paths are validated (no `..`, no
    absolute paths, no control characters), and a share's name is one path segment."""
    base = "files/home" if ns.kind == "home" else f"files/shared/{ns.name}"
    return f"{ROOT}/{base}/{path}" if path else f"{ROOT}/{base}"


def attachment_path(attachment_id: str, name: str) -> str:
    """Where an attachment goes in the archive: its name made one safe component, so a name
    like `../../.bashrc` cannot place it outside its folder when the archive is unpacked."""
    return f"{ROOT}/attachments/{attachment_id}/{local_name(name)}"


def _json(value: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"


@translate_storage_errors
class Exporter:
    def __init__(self, client: RoostClient, page: int = 500) -> None:
        self.client = client
        self.remote = client.files
        self.page = page  # posts, messages or versions asked for at a time

    async def write(self, dest: Path) -> ExportSummary:
        """Write the archive to `dest` (refused if something is there already)."""
        if dest.exists():
            raise ClientError(f"{dest} already exists: choose another name with -o")
        if not dest.parent.is_dir():
            raise ClientError(f"{dest.parent} is not a folder")
        temp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
        try:
            with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
                summary = await self._fill(archive)
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)
        summary.path = str(dest)
        return summary

    async def _fill(self, archive: zipfile.ZipFile) -> ExportSummary:
        profile: Profile = await self.client.call("profile.get", GetProfile())
        counts = await self.client.call("user.profile", social_wire.GetUser())
        following = await self.client.call("follow.following", social_wire.ListUsers(limit=1000))
        followers = await self.client.call("follow.followers", social_wire.ListUsers(limit=1000))
        archive.writestr(
            f"{ROOT}/profile.json",
            _json(
                {
                    "profile": profile,
                    "counts": counts,
                    "following": [u.username for u in following.users],
                    "followers": [u.username for u in followers.users],
                }
            ),
        )
        posts = await self._posts()
        archive.writestr(f"{ROOT}/posts.json", _json(posts))
        await self._attachments(archive, posts)
        conversations = await self._conversations()
        archive.writestr(f"{ROOT}/messages.json", _json(conversations))
        spaces, files, size = await self._files(archive)
        archive.writestr(f"{ROOT}/files.json", _json(spaces))
        return ExportSummary(
            path="",
            posts=len(posts),
            conversations=len(conversations),
            messages=sum(len(c["messages"]) for c in conversations),
            namespaces=len(spaces),
            versions=sum(len(s["versions"]) for s in spaces),
            files=files,
            bytes=size,
        )

    async def _posts(self) -> list[social_wire.Post]:
        out: list[social_wire.Post] = []
        after: str | None = None
        while True:
            page: wire.PostsPage = await self.client.call(
                "export.posts", wire.ExportPosts(after=after, limit=self.page)
            )
            out += page.posts
            if page.next_after is None:
                return out
            after = page.next_after

    async def _attachments(self, archive: zipfile.ZipFile, posts: list[social_wire.Post]) -> None:
        """The files attached to your own posts (a repost's are its author's: left out)."""
        seen: set[str] = set()
        for post in posts:
            for attached in post.attachments:
                if attached.id in seen:
                    continue
                seen.add(attached.id)
                got: files_wire.Attachment = await self.client.call(
                    "media.get", files_wire.GetAttachment(attached.id)
                )
                name = attachment_path(got.id, got.name)
                await self._stream(archive, name, got.blocks, got.size, got.created_at_ms)

    async def _conversations(self) -> list[dict[str, Any]]:
        listed: chat_wire.ConversationList = await self.client.call("chat.list")
        out = []
        for conv in sorted(listed.conversations, key=lambda c: int(c.id)):
            messages: list[chat_wire.Message] = []
            before: int | None = None
            while True:
                page: chat_wire.MessagePage = await self.client.call(
                    "chat.history",
                    chat_wire.History(to=conv.id, limit=self.page, before=before),
                )
                messages[:0] = page.messages  # each page is older than the last
                if not page.more or not page.messages:
                    break
                before = page.messages[0].seq
            out.append({"conversation": conv, "messages": messages})
        return out

    async def _files(self, archive: zipfile.ZipFile) -> tuple[list[dict[str, Any]], int, int]:
        spaces = []
        count = size = 0
        for ns in await self.remote.namespaces():
            versions: list[files_wire.Entry] = []
            after: str | None = None
            while True:
                page: wire.VersionsPage = await self.client.call(
                    "export.versions", wire.ExportVersions(ns.id, after=after, limit=self.page)
                )
                versions += page.versions
                if page.next_after is None:
                    break
                after = page.next_after
            spaces.append({"namespace": ns, "versions": versions})
            for entry in await self.remote.entries(ns):
                if entry.deleted or entry.kind != files_wire.Kind.FILE:
                    continue
                name = member_path(ns, entry.path)
                await self._stream(archive, name, entry.blocks, entry.size, entry.mtime_ms)
                count += 1
                size += entry.size
        return spaces, count, size

    async def _stream(
        self, archive: zipfile.ZipFile, name: str, blocks: list[str], size: int, mtime_ms: int
    ) -> None:
        """One file's bytes, a block at a time (a large file never sits in memory)."""
        transfer = await self.remote.transfer()
        info = zipfile.ZipInfo(name, date_time=zip_time(mtime_ms))
        info.compress_type = zipfile.ZIP_DEFLATED
        written = 0
        with archive.open(info, "w", force_zip64=size >= 1 << 31) as out:
            for block in blocks:
                data = await transfer.fetch_block(block)
                out.write(data)
                written += len(data)
        if written != size:
            raise ClientError(f"{name}: got {written} bytes, expected {size}")


ZIP_FIRST = datetime(1980, 1, 1)
ZIP_LAST = datetime(2107, 12, 31, 23, 59, 58)


def zip_time(mtime_ms: int) -> tuple[int, int, int, int, int, int]:
    """A modification time as a zip entry holds it (1980 to 2107; outside, the nearest)."""
    try:
        when = datetime.fromtimestamp(mtime_ms / 1000)
    except (OverflowError, OSError, ValueError):
        when = ZIP_LAST if mtime_ms > 0 else ZIP_FIRST
    when = min(max(when, ZIP_FIRST), ZIP_LAST)
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)
