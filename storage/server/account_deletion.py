"""Deleting an account, inside one transaction: what was only theirs goes, what others hold
stays (the rules are in docs/OPERATIONS.md, "Deleting an account").

The `users` row stays as a tombstone (marked `deleted_at`, no password, no devices): its name
stays taken, so nobody can register it and pass for them, and the messages and file versions
others keep still name who wrote them. Every running total moves with the rows it counts:
post, follower and like counts through the same repository calls the ops use, storage use
through the triggers of the "storage use" migration, block refcounts here, so the next
`roost admin gc` frees the blocks nothing else refers to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from protocol.files import mount_name
from storage.database import Handle, marks
from storage.server.accounts import lock_user
from storage.server.chat import ChatRepository, NewMessage
from storage.server.credentials import revoke_devices
from storage.server.files import FileRepository, _chunks
from storage.server.social_graph import FollowRepository
from storage.server.social_posts import PostRepository
from storage.server.timelines import TimelineRepository

ROLE_RANK = {"editor": 0, "viewer": 1}  # who takes over a share: editors first


@dataclass(frozen=True, slots=True)
class ShareMember:
    user_id: int
    username: str
    role: str


def next_owner(members: Sequence[ShareMember]) -> ShareMember | None:
    """Who owns a share once its owner is deleted: an editor before a viewer, then the first
    by name (the same answer every time). None: nobody else is in it."""
    ranked = sorted(members, key=lambda m: (ROLE_RANK.get(m.role, 9), m.username))
    return ranked[0] if ranked else None


@dataclass
class Deletion:
    """What deleting one account did, for the admin's reply, the log and the live events."""

    posts: list[int] = field(default_factory=list)  # marked deleted: theirs and reposts of them
    touched_posts: list[int] = field(default_factory=list)  # counts changed: forget cached copies
    likes: int = 0
    left: list[tuple[NewMessage, list[int]]] = field(default_factory=list)  # row, its audience
    conversations_removed: int = 0
    files_removed: int = 0
    handed_over: list[tuple[str, str]] = field(default_factory=list)  # (folder, new owner)
    attachments: int = 0
    devices: list[int] = field(default_factory=list)


@dataclass
class AccountEraser:
    """The repositories deletion goes through (the ones the ops use, so counts stay right)."""

    posts: PostRepository
    follows: FollowRepository
    timelines: TimelineRepository
    chat: ChatRepository
    files: FileRepository

    async def delete(self, tx: Handle, user_id: int, now: int) -> Deletion:
        done = Deletion()
        await lock_user(tx, user_id)  # first: a write of theirs racing this one waits
        await self._posts(tx, user_id, now, done)
        await self._likes(tx, user_id, done)
        await self._follows(tx, user_id)
        await _run(
            tx,
            "DELETE FROM notifications WHERE user_id = ? OR actor_id = ?",
            "DELETE FROM notification_marks WHERE user_id = ?",
            "DELETE FROM timeline WHERE user_id = ? OR author_id = ?",
            # the users row stays (a tombstone), so its ON DELETE CASCADE does not clear these
            "DELETE FROM user_blocks WHERE user_id = ? OR target_id = ?",
            "DELETE FROM user_mutes WHERE user_id = ? OR target_id = ?",
            "DELETE FROM follow_requests WHERE requester_id = ? OR target_id = ?",
            user_id=user_id,
        )
        await self._conversations(tx, user_id, now, done)
        await self._namespaces(tx, user_id, done)
        await self._attachments(tx, user_id, done)
        await _run(
            tx,
            "DELETE FROM share_invitations WHERE user_id = ?",
            "DELETE FROM file_links WHERE created_by = ?",  # public links they made
            "DELETE FROM block_uploads WHERE user_id = ?",
            "DELETE FROM staged_blocks WHERE user_id = ?",
            "DELETE FROM announced_uploads WHERE user_id = ?",
            "DELETE FROM idempotency_keys WHERE user_id = ?",
            "DELETE FROM password_resets WHERE user_id = ?",
            "DELETE FROM profiles WHERE user_id = ?",  # and so from user search (its trigger)
            user_id=user_id,
        )
        done.devices = await revoke_devices(tx, user_id, now)
        await tx.execute(
            "UPDATE users SET deleted_at = ?, disabled_at = COALESCE(disabled_at, ?),"
            " password_hash = '!', role = 'member' WHERE id = ?",  # '!' is no argon2 hash
            (now, now, user_id),
        )
        return done

    # ------------------------------------------------------------------ social
    async def _posts(self, tx: Handle, user_id: int, now: int, done: Deletion) -> None:
        """Their posts and reposts, and everyone's reposts of them, go as `post.delete` takes
        them (counts, search, trending, timelines); their text is then erased. The rows stay
        so replies by others still know they answered something (shown without it)."""
        own = await _ids(tx, "SELECT id FROM posts WHERE author_id = ?", user_id)
        live = await _ids(
            tx,
            "SELECT id FROM posts WHERE deleted_at IS NULL AND (author_id = ? OR repost_of IN"
            " (SELECT id FROM posts WHERE author_id = ?))",
            user_id,
            user_id,
        )
        for part in _chunks(list(live)):
            records = await self.posts.get_many(tx, list(part))
            for record in records.values():
                await self.posts.mark_deleted(tx, record, now)
                done.touched_posts += [p for p in (record.reply_to, record.repost_of) if p]
        await self.timelines.remove_posts(tx, live)
        for part in _chunks(list(own)):
            in_list = marks(part)
            await tx.execute(
                f"UPDATE posts SET text = '', mentions = '', tags = '' WHERE id IN ({in_list})",
                list(part),
            )
            for table in ("post_mentions", "likes"):  # others' likes of a post that is gone
                await tx.execute(f"DELETE FROM {table} WHERE post_id IN ({in_list})", list(part))
        done.posts = live
        done.touched_posts += live

    async def _likes(self, tx: Handle, user_id: int, done: Deletion) -> None:
        liked = await _ids(tx, "SELECT post_id FROM likes WHERE user_id = ?", user_id)
        for post_id in liked:
            await self.posts.remove_like(tx, user_id, post_id)
        done.likes = len(liked)
        done.touched_posts += liked

    async def _follows(self, tx: Handle, user_id: int) -> None:
        async with tx.execute(
            "SELECT follower_id, followee_id FROM follows WHERE follower_id = ? OR followee_id = ?",
            (user_id, user_id),
        ) as cur:
            pairs = [(int(r[0]), int(r[1])) for r in await cur.fetchall()]
        for follower, followee in pairs:
            await self.follows.unfollow(tx, follower, followee)

    # ------------------------------------------------------------------ chat
    async def _conversations(self, tx: Handle, user_id: int, now: int, done: Deletion) -> None:
        """They leave every conversation they are in, as `chat.leave` does, with an entry of
        kind `deleted` ("account deleted") the others see; their messages stay, since the
        others received them. A conversation nobody else was ever in goes entirely."""
        current = await _ids(
            tx,
            "SELECT conversation_id FROM conversation_members"
            " WHERE user_id = ? AND left_seq IS NULL",
            user_id,
        )
        for conversation_id in current:
            members = (await self.chat.members(tx, [conversation_id]))[conversation_id]
            others = [m for m in members if m.user_id != user_id]
            if not others:
                await tx.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
                done.conversations_removed += 1
                continue
            row = await self.chat.append(
                tx, conversation_id, user_id, "deleted", "account deleted", user_id, now
            )
            await self.chat.set_left(tx, conversation_id, user_id, row.seq)
            done.left.append((row, [m.user_id for m in others if m.current]))

    # ------------------------------------------------------------------ files
    async def _namespaces(self, tx: Handle, user_id: int, done: Deletion) -> None:
        """Their home and the shares only they are in are removed; a share with other members
        passes to one of them (`next_owner`), with every file and version, so no member loses
        anything. Their membership of others' shares ends."""
        async with tx.execute(
            "SELECT id, kind, name FROM namespaces WHERE owner_id = ?", (user_id,)
        ) as cur:
            owned = [(int(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]
        for ns_id, kind, name in owned:
            async with tx.execute(
                "SELECT m.user_id, u.username, m.role FROM namespace_members m"
                " JOIN users u ON u.id = m.user_id WHERE m.namespace_id = ? AND m.user_id != ?",
                (ns_id, user_id),
            ) as cur:
                members = [
                    ShareMember(int(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()
                ]
            heir = next_owner(members) if kind == "shared" else None
            if heir is None:
                done.files_removed += await self._remove_namespace(tx, ns_id)
                continue
            shown = await self._hand_over(tx, ns_id, name, heir, await _username(tx, user_id))
            done.handed_over.append((shown, heir.username))
        await tx.execute("DELETE FROM namespace_members WHERE user_id = ?", (user_id,))

    async def _remove_namespace(self, tx: Handle, ns_id: int) -> int:
        versions = await _ids(tx, "SELECT id FROM file_versions WHERE namespace_id = ?", ns_id)
        await self.files.release_versions(tx, versions)  # refcounts drop, for gc to collect
        await tx.execute("DELETE FROM namespaces WHERE id = ?", (ns_id,))
        return len(versions)

    async def _hand_over(
        self, tx: Handle, ns_id: int, name: str, heir: ShareMember, was: str
    ) -> str:
        """Make `heir` the share's owner; returns its name now (changed only if the heir
        already owns a share of that name: "NAME (from WAS)")."""
        async with tx.execute(
            "SELECT name FROM namespaces WHERE owner_id = ? AND kind = 'shared'", (heir.user_id,)
        ) as cur:
            owned = {str(r[0]).casefold() for r in await cur.fetchall()}
        new_name = mount_name(name, was, owned)
        if new_name != name:
            # Members see the share under the name they mount it as: pin the old one, so the
            # rename moves nobody's folder.
            await tx.execute(
                "UPDATE namespace_members SET mount_name = COALESCE(mount_name, ?)"
                " WHERE namespace_id = ?",
                (name, ns_id),
            )
        await tx.execute(
            "UPDATE namespaces SET owner_id = ?, name = ? WHERE id = ?",
            (heir.user_id, new_name, ns_id),
        )
        await tx.execute(
            "UPDATE namespace_members SET role = 'owner' WHERE namespace_id = ? AND user_id = ?",
            (ns_id, heir.user_id),
        )
        return new_name

    async def _attachments(self, tx: Handle, user_id: int, done: Deletion) -> None:
        """Their attachments go (from their posts too); each held its blocks once."""
        async with tx.execute(
            "SELECT ab.hash, COUNT(DISTINCT ab.attachment_id) FROM attachment_blocks ab"
            " JOIN attachments a ON a.id = ab.attachment_id WHERE a.owner_id = ? GROUP BY ab.hash",
            (user_id,),
        ) as cur:
            drops = [(int(r[1]), str(r[0])) for r in await cur.fetchall()]
        await tx.executemany("UPDATE blocks SET refcount = refcount - ? WHERE hash = ?", drops)
        cur = await tx.execute("DELETE FROM attachments WHERE owner_id = ?", (user_id,))
        done.attachments = cur.rowcount


async def _username(tx: Handle, user_id: int) -> str:
    async with tx.execute("SELECT username FROM users WHERE id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else ""


async def _ids(tx: Handle, sql: str, *params: object) -> list[int]:
    async with tx.execute(sql, params) as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def _run(tx: Handle, *statements: str, user_id: int) -> None:
    """Statements whose every parameter is the user's id."""
    for sql in statements:
        await tx.execute(sql, (user_id,) * sql.count("?"))
