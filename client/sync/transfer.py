"""Moving blocks: ask which are missing, send only those (zstd on the wire, a few in flight;
small blocks many to a batch frame), fetch blocks into a temp file (fsync, atomic rename),
commit in bounded batches.

Memory stays bounded: at most `window` large blocks, and a few batches of small ones, are in
memory at once, whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from client.connection import Connection
from client.errors import ClientError, ServerError
from client.sync.ignore import TEMP_PREFIX
from client.sync.partial import drop_partial, is_partial, keep_partial, read_partial
from client.sync.streaming import StreamIn, StreamOut
from client.sync.wire_codec import compress_blocks
from protocol import files as wire
from protocol.errors import ErrorCode, RoostError
from protocol.files import Codec
from storage.content.blocks import OpenFile, decode_block, encode_block, make_durable, sync_dirs
from storage.content.malloc import tune_malloc
from storage.content.unbuffered import SequentialFile

SMALL_BLOCK_BYTES = 256 << 10  # the server lets more of these be in flight (see server/app.py)
LAND_BATCH = 128  # downloads made durable and renamed together, at most
WRITE_BYTES = 4 << 20  # a download writes its temp file in pieces this big
WRITE_AHEAD_BYTES = 3 * WRITE_BYTES  # buffered at most while a piece is written
UNBUFFERED_BYTES = 16 << 20  # downloads this large bypass the page cache
COMMIT_BUDGET = 48 << 10  # bytes of JSON per files.commit request (the limit is 64 KiB)
BATCH_BLOCKS = 256  # small blocks per batch frame (RPTS up, RGTS/RBKS down)
BATCH_BYTES = 2 << 20  # raw bytes of small blocks per batch frame (the server allows 4 MiB)
BATCHES_IN_FLIGHT = 4  # upload batches at once: one is read while others travel
FETCH_BATCH_BLOCKS = 16  # small blocks per RGTS: several in flight, so files land meanwhile
# Blocks offered while a file is hashed are checked with files.missing at most this often (a
# query per block went past the server's 100 ops a second)
MISSING_EVERY = 0.1


Received = bytes | memoryview  # a block's bytes: a raw one is a view into its frame, not a copy


RATE_LIMIT_RETRIES = 3  # a sync's op refused as rate_limited is sent again this often
RATE_LIMIT_WAIT_MAX = 5.0  # seconds: a longer wait fails the pass (the next one retries)


async def call_patiently(conn: Connection, op: str, args: object = None) -> Any:
    """`conn.call`, sending an op the server refused as `rate_limited` again once it says
    (such an op never ran): a busy second must not fail a sync of many files."""
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            return await conn.call(op, args)
        except ServerError as exc:
            wait = exc.retry_after if exc.code == ErrorCode.RATE_LIMITED else None
            if wait is None or wait > RATE_LIMIT_WAIT_MAX or attempt == RATE_LIMIT_RETRIES:
                raise
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


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
    content_sent: int = 0  # the blocks' own bytes: what a person reads as the size moved
    content_fetched: int = 0
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


def sweep_temp_files(root: Path) -> list[Path]:
    """Delete the download temp files a killed sync left in the workspace (they are never
    renamed into place). Only while no download of ours is running. The partials of
    interrupted downloads stay for the next pass to resume from: returned, so they can be
    swept once a pass has finished without wanting them (`client.sync.partial`)."""
    partials: list[Path] = []
    for folder, _, names in os.walk(root):
        for name in names:
            if is_partial(name):
                partials.append(Path(folder, name))
            elif name.startswith(TEMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
    return partials


def read_block(src: BlockSource, expected: str, *, verify: bool = True) -> bytes:
    with open(src.path, "rb") as f:
        f.seek(src.offset)
        data = f.read(src.length)
    if len(data) != src.length or (verify and hashlib.sha256(data).hexdigest() != expected):
        raise FileChanged(f"{src.path.name} changed while syncing")
    return data


def read_and_encode(
    src: BlockSource, expected: str, *, verify: bool = True, compress: bool = True
) -> tuple[int, Codec, bytes]:
    """(raw size, codec, payload): the raw bytes are not kept while the payload travels."""
    raw = read_block(src, expected, verify=verify)
    return (len(raw), *encode_block(raw, compress=compress))


def read_and_encode_many(
    wanted: Sequence[tuple[str, BlockSource]], *, compress: bool = True
) -> tuple[list[tuple[str, int, bytes]], set[str]]:
    """Read and encode a batch of small blocks in one thread hop: (hash, raw size, codec
    byte + payload) for each, and the hashes whose file changed meanwhile."""
    out: list[tuple[str, int, bytes]] = []
    unreadable: set[str] = set()
    for h, src in wanted:
        try:
            raw_size, codec, payload = read_and_encode(src, h, compress=compress)
        except (FileChanged, OSError):
            unreadable.add(h)
            continue
        out.append((h, raw_size, bytes((codec,)) + payload))
    return out, unreadable


def batches(hashes: Sequence[str], sizes: Callable[[str], int]) -> Iterator[list[str]]:
    """Consecutive groups of at most BATCH_BLOCKS hashes and BATCH_BYTES raw bytes."""
    batch: list[str] = []
    total = 0
    for h in hashes:
        n = sizes(h)
        if batch and (len(batch) >= BATCH_BLOCKS or total + n > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(h)
        total += n
    if batch:
        yield batch


def decode_verified(codec: Codec, payload: Received, expected: str) -> Received:
    raw = decode_block(codec, payload)
    if hashlib.sha256(raw).hexdigest() != expected:
        raise ClientError(f"block {expected[:12]} arrived damaged")
    return raw


def decode_block_batch(frame: bytes, expected: Sequence[str]) -> list[Received]:
    """The raw blocks of an RBKS reply, each checked against the hash asked for."""
    try:
        batch = wire.decode_batch(frame)
    except RoostError as exc:
        raise ClientError(f"the server sent a bad block batch: {exc.message}") from None
    got = [item.hash for item in batch.items]
    if batch.magic != wire.BLOCK_BATCH or got != list(expected):
        raise ClientError("the server answered a block batch with other blocks")
    return [decode_verified(item.codec, item.payload, item.hash) for item in batch.items]


# Temp names: random per process, numbered within it (os.urandom per file cost ~0.1 ms here).
_TEMP_RUN = secrets.token_hex(6)
_temp_numbers = itertools.count()


class TempFile:
    """A download's temp file, written off the event loop in pieces of up to WRITE_BYTES.
    A large one bypasses the page cache (storage.content.unbuffered): it is written once and the
    cache would only be a detour on its way to the disk."""

    def __init__(self, tmp: Path, *, large: bool = False) -> None:
        self.tmp = tmp
        self.large = large
        self.file: BinaryIO | SequentialFile | None = None
        self.buffer: list[Received] = []
        self.buffered = 0
        # A write runs on in its thread when the download is cancelled: closing the file
        # under it raised BufferError (its buffer still exported), so cleanup waits for it.
        self._writing: asyncio.Future[None] | None = None

    async def add(self, data: Received, lengths: list[int]) -> None:
        """Buffer a block; write the buffer in a thread once it holds WRITE_BYTES. Reading
        goes on while a piece is written, up to WRITE_AHEAD_BYTES buffered (waiting for each
        write left a 1 GiB rebuild from local blocks reading and writing by turns)."""
        lengths.append(len(data))
        self.buffer.append(data)
        self.buffered += len(data)
        if self.buffered < WRITE_BYTES:
            return
        if self._writing is not None:
            if not self._writing.done() and self.buffered < WRITE_AHEAD_BYTES:
                return
            await asyncio.shield(self._writing)  # raises its failure: the download's
        pieces, self.buffer, self.buffered = self.buffer, [], 0
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, pieces))

    async def written(self) -> None:
        """Wait for the piece being written; raises its failure."""
        if self._writing is not None:
            await asyncio.shield(self._writing)

    async def settled(self) -> None:
        """Wait for a write still running in its thread (its failure is the download's)."""
        if self._writing is not None:
            with contextlib.suppress(BaseException):
                await self._writing

    def keep(self, dest: Path, hashes: Sequence[str], lengths: list[int]) -> None:
        """Interrupted: write the blocks received so far and keep them as `dest`'s partial
        (`client.sync.partial`), or discard the temp file when there is nothing worth it."""
        try:
            if self._write_failed():
                raise OSError("a piece of it was not written")  # a hole: nothing to keep
            self.flushed()
            assert self.file is not None
            self.file.close()
            kept = keep_partial(self.tmp, dest, list(zip(hashes, lengths, strict=False)))
        except (OSError, AssertionError):
            kept = False
        if not kept:
            self.discard()

    def _write_failed(self) -> bool:
        w = self._writing
        return w is not None and w.done() and (w.cancelled() or w.exception() is not None)

    def _write(self, pieces: list[Received] | None = None) -> None:
        """Write `pieces`, else what is buffered (on a thread, one at a time)."""
        if self.file is None:
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
            # closed in finish or discard
            self.file = SequentialFile(self.tmp) if self.large else open(self.tmp, "wb")
        if pieces is None:
            pieces, self.buffer, self.buffered = self.buffer, [], 0
        for piece in pieces:
            self.file.write(piece)

    def flushed(self) -> BinaryIO | SequentialFile:
        """Write what is buffered and flush it to the OS; the caller then makes it durable."""
        self._write()
        assert self.file is not None
        if isinstance(self.file, SequentialFile):
            self.file.finish()
        else:
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
            with contextlib.suppress(OSError):
                self.file.close()
        self.tmp.unlink(missing_ok=True)


_Landing = tuple[TempFile, Path, int | None]


def land_files(batch: Sequence[_Landing]) -> list[BaseException | None]:
    """Finish downloads together: flush each temp file, make them all durable at once (one
    syncfs rather than an fsync each), then rename each into place. Each rename still
    follows its own file's durability, as with one fsync per file."""
    errors: list[BaseException | None] = [None] * len(batch)
    flushed: list[OpenFile] = []
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


def _workspace_path(root: Path, dest: Path) -> str:
    try:
        return dest.relative_to(root).as_posix()
    except ValueError:
        return ""


class Transfer:
    def __init__(
        self,
        conn: Connection,
        *,
        window: int = 8,
        on_block: Callable[[str, int], None] | None = None,
    ) -> None:
        tune_malloc()  # blocks reuse memory instead of faulting in fresh pages each time
        self.conn = conn
        self.window = window
        self.on_block = on_block  # (hash, raw bytes) after each block moves; progress bars
        self.compress = compress_blocks(conn.url)  # raw to a nearby server (wire_codec)
        self.counters = Counters()
        self._landing: list[tuple[_Landing, asyncio.Future[None]]] = []
        self._lander: asyncio.Task[None] | None = None
        self._downloads = 0  # running now
        self._wanted: list[tuple[str, int, asyncio.Future[Received]]] = []  # small blocks to fetch
        self._wanted_bytes = 0
        self._ask_soon: asyncio.Handle | None = None
        self._fetching: set[asyncio.Task[None]] = set()
        # Blocks offered while their file is still being hashed (`offer`): settled once sent
        # or found present or failed; `upload` waits for them and then asks again.
        self._early: dict[str, asyncio.Future[None]] = {}
        self._early_sent: dict[str, int] = {}  # raw sizes, for on_block when `upload` takes them
        self._offers: dict[str, BlockSource] = {}
        self._early_runner: asyncio.Task[None] | None = None
        # Bytes offered per pass, at most: sent ahead, they wait for a commit on the server,
        # which lets only so much wait (client.limits.upload_group_bytes). None: no limit.
        self.early_budget: int | None = None
        self._early_bytes = 0
        # Large files streaming through (client.sync.streaming): this device's, announced as
        # they are hashed; other devices', fetched while they upload. Set by the sync engine.
        self.streams_out: StreamOut | None = None
        self.incoming: StreamIn | None = None

    # ------------------------------------------------------------------ upload
    async def missing(self, namespace_id: str | None, hashes: Sequence[str]) -> list[str]:
        unique = list(dict.fromkeys(hashes))
        out: list[str] = []
        step = wire.MAX_HASHES_PER_REQUEST
        for i in range(0, len(unique), step):
            answer: wire.Missing = await call_patiently(
                self.conn, "files.missing", wire.FindMissing(namespace_id, unique[i : i + step])
            )
            out.extend(answer.hashes)
        return out

    async def upload(self, namespace_id: str | None, sources: dict[str, BlockSource]) -> set[str]:
        """Send every block in `sources` the server does not already hold for us; returns the
        blocks that could not be read (their file changed meanwhile)."""
        early = [done for h in sources if (done := self._early.get(h)) is not None]
        if early:
            await asyncio.wait(early)  # sent ahead, or not: the server is asked again below
        for h in sources:
            if (raw_size := self._early_sent.pop(h, None)) is not None and self.on_block:
                self.on_block(h, raw_size)  # progress counts a block sent ahead here, once
        return await self._send_missing(namespace_id, sources)

    def offer(self, h: str, src: BlockSource) -> None:
        """Start sending a large block of a file that is still being hashed: a large new file
        then travels while the rest of it is read, instead of after. Failures are dropped
        here; `upload` asks the server again for whatever the plan sends."""
        if h in self._early:
            return
        if self.early_budget is not None and self._early_bytes + src.length > self.early_budget:
            return  # sent with its file's group instead
        self._early_bytes += src.length
        self._early[h] = asyncio.get_running_loop().create_future()
        self._offers[h] = src
        if self._early_runner is None or self._early_runner.done():
            self._early_runner = asyncio.create_task(self._send_offered())

    async def _send_offered(self) -> None:
        """Send what is offered as it comes: each new lot is checked with one files.missing,
        and 2 x window senders keep blocks in flight throughout (a lot at a time, waiting
        for each to finish, moved a big file at a third of the speed)."""
        todo: asyncio.Queue[tuple[str, BlockSource] | None] = asyncio.Queue()
        busy = [0]

        async def sender() -> None:
            while (item := await todo.get()) is not None:
                h, src = item
                busy[0] += 1
                try:
                    await self._send_block(
                        h,
                        *await asyncio.to_thread(
                            read_and_encode, src, h, verify=False, compress=self.compress
                        ),
                        early=True,
                    )
                except Exception:
                    pass  # e.g. the connection dropped: the pass's own upload meets it and says so
                finally:
                    busy[0] -= 1
                    self._settle_early(h)

        senders = [asyncio.create_task(sender()) for _ in range(2 * self.window)]
        try:
            while self._offers or busy[0] or not todo.empty():
                if not self._offers:
                    await asyncio.sleep(0.005)  # more offers, or the last blocks' replies
                    continue
                batch, self._offers = self._offers, {}  # everything offered so far, one query
                asked = asyncio.create_task(asyncio.sleep(MISSING_EVERY))  # at most so often
                try:
                    needed = set(await self.missing(None, list(batch)))
                except Exception:
                    needed = set()  # the pass's own upload asks again
                for h, src in batch.items():
                    if h in needed:
                        todo.put_nowait((h, src))
                    else:
                        if self.streams_out is not None:
                            self.streams_out.stored(h)
                        self._settle_early(h)
                await asyncio.gather(asked, return_exceptions=True)
        finally:
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)

    def _settle_early(self, h: str) -> None:
        if (done := self._early.get(h)) is not None and not done.done():
            done.set_result(None)

    def forget_early(self) -> None:
        """At the end of a pass: stop sending ahead and forget what was offered."""
        if self._early_runner is not None:
            self._early_runner.cancel()
        for done in self._early.values():
            if not done.done():
                done.set_result(None)
        self._early.clear()
        self._early_sent.clear()
        self._offers.clear()
        self._early_bytes = 0

    async def _send_missing(
        self, namespace_id: str | None, sources: dict[str, BlockSource], *, early: bool = False
    ) -> set[str]:
        needed = await self.missing(namespace_id, list(sources))
        if self.streams_out is not None:
            for h in set(sources) - set(needed):  # held by the server already
                self.streams_out.stored(h)
        small = [h for h in needed if sources[h].length <= SMALL_BLOCK_BYTES]
        large = iter([h for h in needed if sources[h].length > SMALL_BLOCK_BYTES])
        small_batches = batches(small, lambda h: sources[h].length)
        unreadable: set[str] = set()

        async def worker(todo: Iterator[str]) -> None:
            for h in todo:  # shared by the workers: each block is sent once
                try:  # the server hashes it anyway: a changed file shows in its answer
                    await self._send_block(  # the bytes are referenced by the send alone
                        h,
                        *await asyncio.to_thread(
                            read_and_encode, sources[h], h, verify=False, compress=self.compress
                        ),
                        early=early,
                    )
                except (FileChanged, OSError):
                    unreadable.add(h)
                except ServerError as exc:
                    if exc.code != ErrorCode.INVALID_ARGS:  # the bytes were not what we hashed
                        raise
                    unreadable.add(h)

        async def batch_worker() -> None:
            for batch in small_batches:  # shared too
                wanted = [(h, sources[h]) for h in batch]
                encoded, changed = await asyncio.to_thread(
                    read_and_encode_many, wanted, compress=self.compress
                )
                unreadable.update(changed)
                if encoded:
                    await self._send_batch(encoded)

        async with first_error():
            async with asyncio.TaskGroup() as group:
                # Twice the window: the server verifies and stores `window` blocks at once per
                # connection, and as many again on their way keep it busy between replies.
                for _ in range(2 * self.window):
                    group.create_task(worker(large))
                for _ in range(BATCHES_IN_FLIGHT):
                    group.create_task(batch_worker())
        return unreadable

    async def _send_batch(self, encoded: list[tuple[str, int, bytes]]) -> None:
        held = [[(bytes.fromhex(h), stored) for h, _, stored in encoded]]
        sizes = [(h, raw_size, len(stored)) for h, raw_size, stored in encoded]
        encoded.clear()  # as for one block: only the frame being sent holds the bytes
        await self.conn.call_binary(lambda rid: wire.encode_batch(wire.PUT_BATCH, rid, held.pop()))
        for h, raw_size, stored_size in sizes:
            if self.streams_out is not None:
                self.streams_out.stored(h)
            self.counters.blocks_sent += 1
            self.counters.bytes_sent += stored_size + wire.BATCH_ITEM_BYTES
            self.counters.content_sent += raw_size
            self.counters.sent_hashes.append(h)
            if self.on_block:
                self.on_block(h, raw_size)

    async def put_block(self, h: str, raw: bytes) -> None:
        codec, payload = await asyncio.to_thread(encode_block, raw, compress=self.compress)
        await self._send_block(h, len(raw), codec, payload)

    async def _send_block(
        self, h: str, raw_size: int, codec: Codec, payload: bytes, *, early: bool = False
    ) -> None:
        digest, sent = bytes.fromhex(h), len(payload)
        # Only the frame being sent holds the bytes: nothing keeps them while the reply is
        # awaited (with 16 blocks in flight, that was ~2 MiB more memory per block).
        held = [payload]
        del payload
        await self.conn.call_binary(
            lambda rid: wire.encode_block_frame(wire.PUT, rid, digest, codec, held.pop())
        )
        if self.streams_out is not None:
            self.streams_out.stored(h)
        self.counters.blocks_sent += 1
        self.counters.bytes_sent += sent + wire.HEADER_BYTES
        self.counters.content_sent += raw_size
        self.counters.sent_hashes.append(h)
        if early:
            self._early_sent[h] = raw_size
        elif self.on_block:
            self.on_block(h, raw_size)

    # ------------------------------------------------------------------ download
    async def fetch_block(self, h: str, *, counted: bool = True) -> Received:
        """One block, checked. `counted=False`: a block of a file still on its way, counted
        by the pass that lands the file (`download`), so its report says what it fetched."""
        digest = bytes.fromhex(h)
        frame = await self.conn.call_binary(
            lambda rid: wire.encode_block_frame(wire.GET, rid, digest)
        )
        parsed = wire.decode_block_frame(frame)
        assert parsed.codec is not None
        raw = await asyncio.to_thread(decode_verified, parsed.codec, parsed.payload, h)
        if counted:
            self._fetched(h, len(raw), len(frame))
        return raw

    def _fetched(self, h: str, raw_size: int, wire_bytes: int) -> None:
        self.counters.blocks_fetched += 1
        self.counters.bytes_fetched += wire_bytes
        self.counters.content_fetched += raw_size
        if self.on_block:
            self.on_block(h, raw_size)

    async def fetch_small(self, h: str, size_hint: int) -> Received:
        """Fetch a block of at most `size_hint` bytes together with the other small blocks
        wanted in the same loop turn: one RGTS round trip for up to FETCH_BATCH_BLOCKS."""
        if size_hint > SMALL_BLOCK_BYTES:
            return await self.fetch_block(h)
        loop = asyncio.get_running_loop()
        if self._wanted and self._wanted_bytes + size_hint > BATCH_BYTES:
            self._ask()
        done: asyncio.Future[Received] = loop.create_future()
        self._wanted.append((h, size_hint, done))
        self._wanted_bytes += size_hint
        if len(self._wanted) >= FETCH_BATCH_BLOCKS:
            self._ask()
        elif self._ask_soon is None:
            self._ask_soon = loop.call_soon(self._ask)
        return await done

    def _ask(self) -> None:
        if self._ask_soon is not None:
            self._ask_soon.cancel()
            self._ask_soon = None
        batch, self._wanted, self._wanted_bytes = self._wanted, [], 0
        if batch:
            task = asyncio.create_task(self._fetch_batch(batch))
            self._fetching.add(task)
            task.add_done_callback(self._fetching.discard)

    async def _fetch_batch(self, batch: list[tuple[str, int, asyncio.Future[Received]]]) -> None:
        hashes = [h for h, _, _ in batch]
        digests = [bytes.fromhex(h) for h in hashes]
        try:
            frame = await self.conn.call_binary(lambda rid: wire.encode_get_batch(rid, digests))
            raws = await asyncio.to_thread(decode_block_batch, frame, hashes)
        except Exception as exc:
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (h, _, done), raw in zip(batch, raws, strict=True):
            self._fetched(h, len(raw), len(frame) // len(batch))
            if not done.done():
                done.set_result(raw)

    async def _block(self, h: str, local: dict[str, BlockSource], size_hint: int) -> Received:
        src = local.get(h)
        if src is not None:
            try:
                data = await asyncio.to_thread(read_block, src, h)
                self.counters.blocks_reused += 1
                return data
            except (OSError, FileChanged):
                pass
        return await self.fetch_small(h, size_hint)

    async def download(
        self,
        blocks: Sequence[str],
        dest: Path,
        *,
        mtime_ms: int | None = None,
        local: dict[str, BlockSource] | None = None,
        size: int | None = None,
        resumable: bool = False,
    ) -> list[int]:
        """Assemble a file from blocks (local copies first) in a temp file beside `dest`,
        fsync it, then rename it into place. Returns each block's length. Given the file's
        `size`, a small file's blocks travel in batches with other small files' blocks.
        `resumable`: an interrupted download keeps what it fetched beside `dest`, and the
        next one reads those blocks from there (the sync engine's workspace only)."""
        if self.incoming is not None and resumable:  # fetched while its sender uploaded it
            arrived = await self.incoming.take(_workspace_path(self.incoming.root, dest), blocks)
            if arrived is not None:
                streamed, streamed_lengths = arrived
                assert isinstance(streamed, TempFile)
                await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
                await self._land(streamed, dest, mtime_ms)
                for h, n in zip(blocks, streamed_lengths, strict=True):
                    self._fetched(h, n, n + wire.HEADER_BYTES)
                return streamed_lengths
        local = dict(local or {})
        if resumable and (partial := await asyncio.to_thread(read_partial, dest)):
            for h, src in sources_of(*partial).items():
                local.setdefault(h, src)
        size_hint = size if size is not None else wire.MAX_BLOCK_BYTES
        tmp = dest.with_name(f"{TEMP_PREFIX}{_TEMP_RUN}-{next(_temp_numbers)}")
        pending: deque[asyncio.Task[Received]] = deque()
        lengths: list[int] = []
        out = TempFile(tmp, large=size is not None and size >= UNBUFFERED_BYTES)
        self._downloads += 1
        landing = False
        try:
            for h in blocks:
                pending.append(asyncio.create_task(self._block(h, local, size_hint)))
                if len(pending) >= self._download_depth():
                    await out.add(await pending.popleft(), lengths)
            while pending:
                await out.add(await pending.popleft(), lengths)
            await out.written()  # a piece that failed to write fails the download here
            landing = True  # the lander owns the temp file now
            await self._land(out, dest, mtime_ms)  # with whatever other files finish now
            if resumable:
                await asyncio.to_thread(drop_partial, dest)
            return lengths
        except BaseException as exc:
            for task in pending:
                task.cancel()
            await out.settled()
            interrupted = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
            if landing:
                pass  # renamed into place or failed there; a temp file left is swept later
            elif resumable and interrupted and (out.file is not None or out.buffer):
                await asyncio.to_thread(out.keep, dest, blocks, lengths)
            else:
                await asyncio.to_thread(out.discard)
            raise
        finally:
            self._downloads -= 1

    def _download_depth(self) -> int:
        """Blocks one download keeps in flight. Alone, as many as an upload keeps (one large
        file comes down ~0.3 s sooner per GiB here: each block waits on the server's read and
        on its own check); beside others, `window` each, so several at once hold no more
        memory than before."""
        return 2 * self.window if self._downloads == 1 else self.window

    async def _land(self, out: TempFile, dest: Path, mtime_ms: int | None) -> None:
        """Land `out` once its pieces are written (its callers awaited `written()`: the
        lander writes what is left, never beside a running write)."""
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
        lists are staged just before the batch that names them (the server bounds how many
        staged blocks may wait for a commit)."""
        outcomes: list[wire.Outcome] = []
        batch: list[tuple[wire.CommitItem, wire.CommitItem]] = []  # (as given, as sent)
        size = 0
        for item in items:
            streamed = item
            if self.streams_out is not None:  # announced: its upload, the rest staged now
                streamed = await self.streams_out.finish(namespace_id, item)
            sent = self._staged_form(streamed) if streamed is item else streamed
            cost = len(msgspec.json.encode(sent)) + 8
            if batch and (size + cost > COMMIT_BUDGET or len(batch) >= wire.MAX_COMMIT_ITEMS):
                outcomes.extend(await self._commit_batch(namespace_id, batch))
                batch, size = [], 0
            batch.append((streamed, sent))
            size += cost
        if batch:
            outcomes.extend(await self._commit_batch(namespace_id, batch))
        return outcomes

    async def _commit_batch(
        self, namespace_id: str, batch: list[tuple[wire.CommitItem, wire.CommitItem]]
    ) -> list[wire.Outcome]:
        for item, sent in batch:
            if sent.upload_id is not None and item.upload_id is None:
                await self.stage(sent.upload_id, item.blocks or [])
        result: wire.CommitResult = await call_patiently(
            self.conn, "files.commit", wire.Commit(namespace_id, [sent for _, sent in batch])
        )
        for (_, sent), outcome in zip(batch, result.outcomes, strict=True):
            if self.streams_out is not None and sent.upload_id and outcome.entry is not None:
                self.streams_out.arrived(sent.upload_id)
        return result.outcomes

    @staticmethod
    def _staged_form(item: wire.CommitItem) -> wire.CommitItem:
        """The item as sent: a long block list is replaced by a staged list's id."""
        blocks = item.blocks or []
        if len(blocks) <= 200:
            return item
        upload_id = secrets.token_urlsafe(12)
        return msgspec.structs.replace(
            item, blocks=None, upload_id=upload_id, block_count=len(blocks)
        )

    async def stage(self, upload_id: str, blocks: Sequence[str]) -> None:
        step = wire.MAX_HASHES_PER_REQUEST
        for i in range(0, len(blocks), step):
            await call_patiently(
                self.conn, "files.stage", wire.StageBlocks(upload_id, i, list(blocks[i : i + step]))
            )
