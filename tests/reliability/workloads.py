"""What the crash loop runs against a server it keeps killing: a chat burst, post fan-out,
file sync and profile edits. Each workload writes through the real client core until the
server dies under it, records what was acknowledged, lets the outbox replay after the restart,
and checks that the server holds every acknowledged write exactly once, with gap-free seqs and
journals.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from client.connection import Connection
from client.core import RoostClient, Written
from client.errors import ServerError, Unreachable
from client.events import WriteAcked
from client.home import Account, ClientHome
from client.sync.engine import SyncEngine
from client.sync.transfer import Transfer
from protocol import accounts
from protocol import chat as chat_wire
from protocol import files as files_wire
from protocol import profiles as profiles_wire
from protocol import social as social_wire
from storage.content.blocks import LocalBlockStore
from tests.helpers import PASSWORD


async def sign_in(url: str, home: Path, username: str, *, register: bool) -> RoostClient:
    """A RoostClient on its own home, logged in as `username` (registered first if asked)."""
    conn = Connection(url)
    await conn.open()
    try:
        session: accounts.DeviceSession = await conn.call(
            "auth.register" if register else "auth.login",
            accounts.Credentials(username=username, password=PASSWORD, device_name=home.name),
        )
    finally:
        await conn.close()
    client_home = ClientHome(home)
    client_home.save(
        Account(url, session.user_id, session.username, session.device_id, home.name),
        session.token,
    )
    client = RoostClient(client_home, open_timeout=2.0)
    await client.__aenter__()
    return client


async def write_until_down(client: RoostClient, op: str, args: Any) -> Written[Any] | None:
    """One write; None once it had to be queued (the server is gone: stop writing)."""
    while True:
        try:
            written = await client.write(op, args)
        except ServerError as exc:
            if exc.code != "rate_limited":
                raise
            await asyncio.sleep(exc.retry_after or 0.1)
            continue
        return None if written.queued else written


class Replays:
    """Collects what each client's outbox replay got acknowledged, by client id."""

    def __init__(self, clients: list[RoostClient]) -> None:
        self.results: dict[str, Any] = {}
        self.killed_at = datetime.max.replace(tzinfo=UTC)
        self.lost_acks = 0  # replays the server had committed before it died: first result back
        self._clients = clients
        self._streams = [c.events() for c in clients]

    async def resume(self) -> None:
        """Reconnect every client (which replays its outbox); nothing may stay queued."""
        for c, stream in zip(self._clients, self._streams, strict=True):
            await c.connect()
            assert c.last_replay is not None and not c.last_replay.failed, c.last_replay
            assert await c.outbox.count() == 0
            for event in stream.drain():
                if isinstance(event, WriteAcked):
                    self.results[event.client_id] = event.result


class ChatBurst:
    """Several members of one group send at once; every ack must hold, each message once."""

    def __init__(self, clients: list[RoostClient], rng: random.Random) -> None:
        self.clients = clients
        self.rng = rng
        self.replays = Replays(clients)
        self.group = ""
        self.acked: dict[str, int] = {}  # text -> seq
        self.queued: dict[str, str] = {}  # client id -> text
        self.sent: set[str] = set()
        # Set to end run() while its servers are up (a cluster that lost one process keeps
        # serving the senders connected to the others).
        self.stop = asyncio.Event()

    async def setup(self) -> None:
        names = [c.home.require_account().username for c in self.clients]
        conv = await self.clients[0].call(
            "chat.group.create", chat_wire.CreateGroup(name="crash", members=names[1:])
        )
        self.group = conv.id

    async def run(self, cycle: int) -> None:
        async def sender(i: int, client: RoostClient) -> None:
            for n in range(100_000):
                if self.stop.is_set():
                    return
                text = f"c{cycle} s{i} m{n}"
                args = chat_wire.SendMessage(
                    to=self.group, text=text, client_id=f"chat-c{cycle}-s{i}-m{n}"
                )
                self.sent.add(text)
                written = await write_until_down(client, "chat.send", args)
                if written is None:
                    self.queued[args.client_id or ""] = text
                    return
                self.acked[text] = written.result.seq
                await asyncio.sleep(self.rng.uniform(0, 0.02))

        await asyncio.gather(*(sender(i, c) for i, c in enumerate(self.clients)))

    async def verify(self) -> None:
        await self.replays.resume()
        for cid, text in self.queued.items():  # replayed after the restart: acked now
            self.acked[text] = self.replays.results[cid].seq
            self.replays.lost_acks += self.replays.results[cid].sent_at < self.replays.killed_at
        self.queued.clear()
        stored: dict[int, chat_wire.Message] = {}
        before = None
        while True:
            page = await self.clients[0].call(
                "chat.history", chat_wire.History(to=self.group, limit=500, before=before)
            )
            stored.update({m.seq: m for m in page.messages})
            if not page.more:
                break
            before = page.messages[0].seq
        assert sorted(stored) == list(range(1, len(stored) + 1)), "chat seqs have a gap"
        texts = Counter(m.text for m in stored.values() if m.kind == "text")
        assert not [t for t, n in texts.items() if n > 1], "a message was stored twice"
        assert set(texts) <= self.sent, "a message nobody sent"
        for text, seq in self.acked.items():
            assert stored.get(seq) is not None and stored[seq].text == text, f"lost: {text}"


class PostFanOut:
    """An author with many followers posts; each acked post is in every follower's home
    timeline exactly once (a post and its fan-out commit together or not at all)."""

    def __init__(self, author: RoostClient, followers: list[RoostClient]) -> None:
        self.author = author
        self.followers = followers
        self.replays = Replays([author])
        self.acked: dict[str, str] = {}  # text -> post id
        self.queued: dict[str, str] = {}  # client id -> text
        self.sent: set[str] = set()
        self.stop = asyncio.Event()  # as ChatBurst.stop

    async def setup(self) -> None:
        name = self.author.home.require_account().username
        for f in self.followers:
            await f.call("follow.add", social_wire.UserRef(username=name))

    async def run(self, cycle: int) -> None:
        for n in range(100_000):
            if self.stop.is_set():
                return
            text = f"post c{cycle} n{n}"
            args = social_wire.CreatePost(text=text, client_id=f"post-c{cycle}-n{n}")
            self.sent.add(text)
            written = await write_until_down(self.author, "post.create", args)
            if written is None:
                self.queued[args.client_id or ""] = text
                return
            self.acked[text] = written.result.id

    async def _timeline(self, client: RoostClient, op: str, args: Any) -> list[social_wire.Post]:
        posts: list[social_wire.Post] = []
        while True:
            page: social_wire.Page = await client.call(op, args)
            posts.extend(page.posts)
            if page.next_before is None:
                return posts
            args.before = page.next_before

    async def verify(self) -> None:
        await self.replays.resume()
        for cid, text in self.queued.items():
            self.acked[text] = self.replays.results[cid].id
            self.replays.lost_acks += self.replays.results[cid].created_at < self.replays.killed_at
        self.queued.clear()
        name = self.author.home.require_account().username
        own = await self._timeline(
            self.author, "timeline.user", social_wire.UserTimeline(username=name, limit=100)
        )
        texts = Counter(p.text for p in own)
        assert not [t for t, n in texts.items() if n > 1], "a post was stored twice"
        assert set(texts) <= self.sent, "a post nobody wrote"
        by_text = {p.text: p.id for p in own}
        for text, post_id in self.acked.items():
            assert by_text.get(text) == post_id, f"lost post: {text}"
        expected = sorted(p.id for p in own)
        for f in self.followers:
            home = await self._timeline(f, "timeline.home", social_wire.HomeTimeline(limit=100))
            got = sorted(p.id for p in home if p.author == name)
            assert got == expected, "a follower's timeline misses or repeats a post"


class ProfileEdits:
    """Several people rewrite their bio again and again, each write with its idempotency key;
    after every restart each profile holds its owner's last write, acked before the kill or
    replayed from the outbox after it (a replay of a write committed before the kill gets the
    first answer back, not a second write)."""

    def __init__(self, clients: list[RoostClient], rng: random.Random) -> None:
        self.clients = clients
        self.rng = rng
        self.replays = Replays(clients)
        self.last: dict[str, str] = {}  # username -> the bio it wrote last (acked or queued)
        self.queued: dict[str, str] = {}  # client id -> bio
        self.acked = 0

    async def setup(self) -> None:
        pass

    async def run(self, cycle: int) -> None:
        async def editor(i: int, client: RoostClient) -> None:
            name = client.home.require_account().username
            for n in range(100_000):
                bio = f"c{cycle} e{i} n{n}"
                args = profiles_wire.SetProfile(bio=bio, client_id=f"bio-c{cycle}-e{i}-n{n}")
                written = await write_until_down(client, "profile.set", args)
                self.last[name] = bio
                if written is None:
                    self.queued[args.client_id or ""] = bio
                    return
                assert written.result.bio == bio
                self.acked += 1
                await asyncio.sleep(self.rng.uniform(0, 0.02))

        await asyncio.gather(*(editor(i, c) for i, c in enumerate(self.clients)))

    async def verify(self) -> None:
        await self.replays.resume()
        for cid, bio in self.queued.items():
            result = self.replays.results[cid]
            assert result.bio == bio, f"the replay of {cid} answered another write"
            self.replays.lost_acks += result.updated_at < self.replays.killed_at
        self.queued.clear()
        for client in self.clients:
            name = client.home.require_account().username
            profile = await client.call("profile.get", profiles_wire.GetProfile(username=name))
            assert profile.bio == self.last.get(name, ""), f"{name}: lost {self.last[name]!r}"


def _content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileSync:
    """One device edits its workspace and syncs (block uploads, batched commits) while the
    server dies; every version on the server must be whole and every synced edit kept."""

    MAX_PATHS = 24

    def __init__(
        self,
        device: RoostClient,
        checker: RoostClient,
        root: Path,
        data_dir: Path,
        rng: random.Random,
    ) -> None:
        self.device = device
        self.checker = checker
        self.engine = SyncEngine(device, root)
        self.root = root
        self.blocks_dir = data_dir / "blocks"
        self.rng = rng
        self.written: dict[str, set[str]] = {}  # path -> every content hash written there
        self.verified: dict[str, str] = {}  # version id -> content hash, once fetched whole

    async def setup(self) -> None:
        await self.engine.bind()

    def _edit(self) -> None:
        paths = sorted(self.written)
        choice = self.rng.random()
        if paths and choice < 0.15:
            path = self.rng.choice(paths)
            (self.root / path).unlink(missing_ok=True)
            return
        if paths and (choice < 0.5 or len(paths) >= self.MAX_PATHS):
            path = self.rng.choice(paths)
        else:
            path = f"dir{len(paths) % 3}/f{len(paths)}.bin"
        big = self.rng.random() < 0.1
        size = self.rng.randint(300_000, 1_500_000) if big else self.rng.randint(1, 40_000)
        data = self.rng.randbytes(size)
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.written.setdefault(path, set()).add(_content_hash(data))

    def _local(self) -> dict[str, str | None]:
        return {
            path: _content_hash((self.root / path).read_bytes())
            if (self.root / path).exists()
            else None
            for path in self.written
        }

    async def run(self, cycle: int) -> None:
        while True:
            for _ in range(self.rng.randint(1, 6)):
                self._edit()
            try:
                await self.engine.run_once()
            except Unreachable:
                return

    async def verify(self) -> None:
        report = await self.engine.run_once()  # reconnects; commits what the kill cut short
        assert not report.refused and not report.conflicts, report
        conn = await self.checker.connect()
        [home] = (await conn.call("files.namespaces")).namespaces
        current: files_wire.Changes = await conn.call(
            "files.changes", files_wire.GetChanges(home.id, 0, 5000)
        )
        versions: list[files_wire.Entry] = []
        for entry in current.entries:
            history = await conn.call("files.history", files_wire.History(home.id, entry.path))
            versions.extend(history.versions)
        seqs = sorted(v.seq for v in versions)
        assert seqs == list(range(1, home.seq + 1)), "the file journal has a gap"
        transfer = Transfer(conn)
        stored = LocalBlockStore(self.blocks_dir, fsync=False)  # as it is on disk now
        for v in versions:
            for h in v.blocks:  # no half-committed version: every block is stored
                assert stored.has(bytes.fromhex(h)), f"{v.path}: block {h} lost"
            if v.deleted or v.kind == "dir" or v.version_id in self.verified:
                continue
            data = b"".join([await transfer.fetch_block(h) for h in v.blocks])
            assert len(data) == v.size, f"{v.path}: version of the wrong size"
            assert _content_hash(data) in self.written.get(v.path, set()), f"{v.path}: bytes"
            self.verified[v.version_id] = _content_hash(data)
        for path, hashes in self.written.items():  # each content committed at most once
            live = [v for v in versions if v.path == path and not v.deleted]
            assert len({tuple(v.blocks) for v in live}) == len(live), f"{path} committed twice"
            assert len(live) <= len(hashes)
        now = {e.path: e for e in current.entries}
        for path, content in self._local().items():  # converged: the server holds the disk
            entry = now.get(path)
            if content is None:
                assert entry is None or entry.deleted, f"{path} should be deleted"
                continue
            assert entry is not None and not entry.deleted, f"{path} missing on the server"
            assert self.verified[entry.version_id] == content, f"{path} differs from the disk"
