"""Moving blocks: ask which are missing, send only those (zstd on the wire, a few in flight),
fetch blocks into a temp file (fsync, atomic rename), commit in bounded batches.

Memory stays bounded: at most `window` blocks are in memory at once, whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import msgspec

from client.connection import Connection
from client.errors import ClientError
from client.sync.ignore import TEMP_PREFIX
from protocol import files as wire
from protocol.files import Codec
from storage.blocks import decode_block, encode_block, make_durable, sync_dirs

SMALL_BLOCK_BYTES = 256 << 10  # the server lets more of these be in flight (see server/app.py)
SMALL_BLOCKS_FACTOR = 4  # small blocks in flight = window x this
LAND_BATCH = 128  # downloads made durable and renamed together, at most
WRITE_BYTES = 4 << 20  # a download writes its temp file in pieces this big
COMMIT_BUDGET = 48 << 10  # bytes of JSON per files.commit request (the limit is 64 KiB)


class FileChanged(ClientError):
    """A file changed while it was being read; the next pass picks up the new contents."""


@dataclass(frozen=True, slots=True)
class BlockSource:
    """Where a block's bytes can be read locally."""

    path: Path
    offset: int
    length: int


@dataclass
class Counters:
    blocks_sent: int = 0
    bytes_sent: int = 0  # on the wire, after compression
    blocks_fetched: int = 0
    bytes_fetched: int = 0
    blocks_reused: int = 0  # found locally instead of fetched
    sent_hashes: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def first_error() -> AsyncIterator[None]:
    """Let the first failure of a task group through as itself (one line for the CLI)."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        raise leaf from None


def sources_of(path: Path, chunks: Iterable[tuple[str, int]]) -> dict[str, BlockSource]:
    out: dict[str, BlockSource] = {}
    offset = 0
    for h, n in chunks:
        out.setdefault(h, BlockSource(path, offset, n))
        offset += n
    return out


def sweep_temp_files(root: Path) -> int:
    """Delete the download temp files a killed sync left in the workspace (they are never
    renamed into place); returns how many. Only while no download of ours is running."""
    removed = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith(TEMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def read_block(src: BlockSource, expected: str) -> bytes:
    with open(src.path, "rb") as f:
        f.seek(src.offset)
        data = f.read(src.length)
    if hashlib.sha256(data).hexdigest() != expected:
        raise FileChanged(f"{src.path.name} changed while syncing")
    return data


def read_and_encode(src: BlockSource, expected: str) -> tuple[bytes, Codec, bytes]:
    raw = read_block(src, expected)
    return (raw, *encode_block(raw))


class _TempFile:
    """A download's temp file, written off the event loop in pieces of up to WRITE_BYTES."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.file: BinaryIO | None = None
        self.buffer: list[bytes] = []
        self.buffered = 0

    async def add(self, data: bytes, lengths: list[int]) -> None:
        lengths.append(len(data))
        self.buffer.append(data)
        self.buffered += len(data)
        if self.buffered >= WRITE_BYTES:
            await asyncio.to_thread(self._write)

    def _write(self) -> None:
        if self.file is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.tmp, "wb")  # closed in finish or discard
        self.file.writelines(self.buffer)
        self.buffer, self.buffered = [], 0

    def flushed(self) -> BinaryIO:
        """Write what is buffered and flush it to the OS; the caller then makes it durable."""
        self._write()
        assert self.file is not None
        self.file.flush()
        return self.file

    def into_place(self, dest: Path, mtime_ms: int | None) -> None:
        """Close, set the mtime, rename over `dest`: only once the contents are durable."""
        assert self.file is not None
        self.file.close()
        if mtime_ms:
            os.utime(self.tmp, ns=(mtime_ms * 1_000_000, mtime_ms * 1_000_000))
        os.replace(self.tmp, dest)

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
        self.tmp.unlink(missing_ok=True)


_Landing = tuple[_TempFile, Path, int | None]


def land_files(batch: Sequence[_Landing]) -> list[BaseException | None]:
    """Finish downloads together: flush each temp file, make them all durable at once (one
    syncfs rather than an fsync each), then rename each into place. Each rename still
    follows its own file's durability, as with one fsync per file."""
    errors: list[BaseException | None] = [None] * len(batch)
    flushed: list[BinaryIO] = []
    for i, (out, _, _) in enumerate(batch):
        try:
            flushed.append(out.flushed())
        except OSError as exc:
            errors[i] = exc
    make_durable(flushed)
    for i, (out, dest, mtime_ms) in enumerate(batch):
        if errors[i] is None:
            try:
                out.into_place(dest, mtime_ms)
            except OSError as exc:
                errors[i] = exc
    # The index records these as synced next: a rename lost to a machine crash would then
    # read as a local delete and be sent to the server.
    sync_dirs(dest.parent for (_, dest, _), error in zip(batch, errors, strict=True) if not error)
    return errors


class Transfer:
    def __init__(
        self,
        conn: Connection,
        *,
        window: int = 8,
        on_block: Callable[[str, int], None] | None = None,
    ) -> None:
        self.conn = conn
        self.window = window
        self.on_block = on_block  # (hash, raw bytes) after each block moves; progress bars
        self.counters = Counters()
        self._landing: list[tuple[_Landing, asyncio.Future[None]]] = []
        self._lander: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ upload
    async def missing(self, namespace_id: str | None, hashes: Sequence[str]) -> list[str]:
        unique = list(dict.fromkeys(hashes))
        out: list[str] = []
        step = wire.MAX_HASHES_PER_REQUEST
        for i in range(0, len(unique), step):
            answer: wire.Missing = await self.conn.call(
                "files.missing", wire.FindMissing(namespace_id, unique[i : i + step])
            )
            out.extend(answer.hashes)
        return out

    async def upload(self, namespace_id: str | None, sources: dict[str, BlockSource]) -> set[str]:
        """Send every block in `sources` the server does not already hold for us; returns the
        blocks that could not be read (their file changed meanwhile)."""
        needed = await self.missing(namespace_id, list(sources))
        small = iter([h for h in needed if sources[h].length <= SMALL_BLOCK_BYTES])
        large = iter([h for h in needed if sources[h].length > SMALL_BLOCK_BYTES])
        unreadable: set[str] = set()

        async def worker(todo: Iterator[str]) -> None:
            for h in todo:  # shared by the workers: each block is sent once
                try:
                    raw, codec, payload = await asyncio.to_thread(read_and_encode, sources[h], h)
                except (FileChanged, OSError):
                    unreadable.add(h)
                    continue
                await self._send_block(h, len(raw), codec, payload)

        async with first_error():
            async with asyncio.TaskGroup() as group:
                for _ in range(self.window):
                    group.create_task(worker(large))
                for _ in range(self.window * SMALL_BLOCKS_FACTOR):  # little memory, much waiting
                    group.create_task(worker(small))
        return unreadable

    async def put_block(self, h: str, raw: bytes) -> None:
        codec, payload = await asyncio.to_thread(encode_block, raw)
        await self._send_block(h, len(raw), codec, payload)

    async def _send_block(self, h: str, raw_size: int, codec: Codec, payload: bytes) -> None:
        digest = bytes.fromhex(h)
        await self.conn.call_binary(
            lambda rid: wire.encode_block_frame(wire.PUT, rid, digest, codec, payload)
        )
        self.counters.blocks_sent += 1
        self.counters.bytes_sent += len(payload) + wire.HEADER_BYTES
        self.counters.sent_hashes.append(h)
        if self.on_block:
            self.on_block(h, raw_size)

    # ------------------------------------------------------------------ download
    async def fetch_block(self, h: str) -> bytes:
        digest = bytes.fromhex(h)
        frame = await self.conn.call_binary(
            lambda rid: wire.encode_block_frame(wire.GET, rid, digest)
        )
        parsed = wire.decode_block_frame(frame)
        assert parsed.codec is not None
        raw = await asyncio.to_thread(decode_block, parsed.codec, parsed.payload)
        if hashlib.sha256(raw).hexdigest() != h:
            raise ClientError(f"block {h[:12]} arrived damaged")
        self.counters.blocks_fetched += 1
        self.counters.bytes_fetched += len(frame)
        if self.on_block:
            self.on_block(h, len(raw))
        return raw

    async def _block(self, h: str, local: dict[str, BlockSource]) -> bytes:
        src = local.get(h)
        if src is not None:
            try:
                data = await asyncio.to_thread(read_block, src, h)
                self.counters.blocks_reused += 1
                return data
            except (OSError, FileChanged):
                pass
        return await self.fetch_block(h)

    async def download(
        self,
        blocks: Sequence[str],
        dest: Path,
        *,
        mtime_ms: int | None = None,
        local: dict[str, BlockSource] | None = None,
    ) -> list[int]:
        """Assemble a file from blocks (local copies first) in a temp file beside `dest`,
        fsync it, then rename it into place. Returns each block's length."""
        local = local or {}
        tmp = dest.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}")
        pending: deque[asyncio.Task[bytes]] = deque()
        lengths: list[int] = []
        out = _TempFile(tmp)
        try:
            for h in blocks:
                pending.append(asyncio.create_task(self._block(h, local)))
                if len(pending) >= self.window:
                    await out.add(await pending.popleft(), lengths)
            while pending:
                await out.add(await pending.popleft(), lengths)
            await self._land(out, dest, mtime_ms)  # with whatever other files finish now
            return lengths
        except BaseException:
            for task in pending:
                task.cancel()
            await asyncio.to_thread(out.discard)
            raise

    async def _land(self, out: _TempFile, dest: Path, mtime_ms: int | None) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._landing.append(((out, dest, mtime_ms), done))
        if self._lander is None or self._lander.done():
            self._lander = asyncio.create_task(self._land_pending())
        await done

    async def _land_pending(self) -> None:
        while self._landing:
            batch = self._landing[:LAND_BATCH]
            del self._landing[:LAND_BATCH]
            try:
                errors = await asyncio.to_thread(land_files, [item for item, _ in batch])
            except Exception as exc:
                errors = [exc] * len(batch)
            for (_, done), error in zip(batch, errors, strict=True):
                if done.done():
                    continue
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

    # ------------------------------------------------------------------ commit
    async def commit(
        self, namespace_id: str, items: Sequence[wire.CommitItem]
    ) -> list[wire.Outcome]:
        """Commit items in batches that keep each request under the size limit; long block
        lists are staged first."""
        prepared = [await self._stage_if_long(item) for item in items]
        outcomes: list[wire.Outcome] = []
        batch: list[wire.CommitItem] = []
        size = 0
        for item in prepared:
            cost = len(msgspec.json.encode(item)) + 8
            if batch and (size + cost > COMMIT_BUDGET or len(batch) >= wire.MAX_COMMIT_ITEMS):
                outcomes.extend(await self._commit_batch(namespace_id, batch))
                batch, size = [], 0
            batch.append(item)
            size += cost
        if batch:
            outcomes.extend(await self._commit_batch(namespace_id, batch))
        return outcomes

    async def _commit_batch(
        self, namespace_id: str, batch: list[wire.CommitItem]
    ) -> list[wire.Outcome]:
        result: wire.CommitResult = await self.conn.call(
            "files.commit", wire.Commit(namespace_id, batch)
        )
        return result.outcomes

    async def _stage_if_long(self, item: wire.CommitItem) -> wire.CommitItem:
        blocks = item.blocks or []
        if len(blocks) <= 200:
            return item
        upload_id = secrets.token_urlsafe(12)
        await self.stage(upload_id, blocks)
        return msgspec.structs.replace(
            item, blocks=None, upload_id=upload_id, block_count=len(blocks)
        )

    async def stage(self, upload_id: str, blocks: Sequence[str]) -> None:
        step = wire.MAX_HASHES_PER_REQUEST
        for i in range(0, len(blocks), step):
            await self.conn.call(
                "files.stage", wire.StageBlocks(upload_id, i, list(blocks[i : i + step]))
            )
