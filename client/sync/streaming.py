"""A large file streams through the server: the device sending it announces it and stages its
block list as the blocks are stored (`StreamOut`); the other devices fetch those blocks into a
temporary file while it uploads (`StreamIn`), and the file appears, renamed whole into place,
only when their sync pass sees the committed version with exactly those blocks.

Nothing here is ever the truth: a stream that breaks (a block not readable yet, the
connection lost, a withdrawal) is dropped, and the ordinary download after the commit takes
over. See "Files on their way" in docs/PROTOCOL.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from client.sync.ignore import TEMP_PREFIX
from protocol import files as wire

log = logging.getLogger("roost.sync")

STAGE_PAGE = wire.MAX_HASHES_PER_REQUEST  # hashes per files.stage
# A page at most this often: each is a write on the server and an event to every member
# (a page per block cost the server ~1.5 CPU s per GiB); the other devices fetch this late.
STAGE_EVERY = 0.1
IDLE_SECONDS = 600.0  # an incoming file with no news this long is dropped (its sender is gone)
FETCH_DEPTH = 16  # blocks of an incoming file in flight at once

Call = Callable[[str, Any], Awaitable[Any]]


# ---------------------------------------------------------------------------- sending side
@dataclass(eq=False)
class _Outgoing:
    namespace_id: str
    path: str
    upload_id: str
    hashes: list[str] = field(default_factory=list)  # in file order, as hashed so far
    staged: int = 0  # how many of `hashes` the server has staged
    broken: bool = False  # announce or stage failed: the commit goes the ordinary way
    news: asyncio.Event = field(default_factory=asyncio.Event)
    pump: asyncio.Task[None] | None = None


class StreamOut:
    """Announces each large file as its first block is hashed, then stages the longest
    prefix of its block list whose blocks the server holds, as it grows."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._files: dict[tuple[str, str], _Outgoing] = {}
        self._stored: set[str] = set()
        self._arrived: set[str] = set()  # upload ids a commit took
        self._withdrawn: set[str] = set()
        self.upload_ids: set[str] = set()  # every upload announced by this device (ignored
        # when the server echoes them to this user's other devices' events)

    def chunk(self, namespace_id: str, path: str, h: str) -> None:
        """The next block of a file being hashed (called in file order)."""
        out = self._files.get((namespace_id, path))
        if out is None:
            out = _Outgoing(namespace_id, path, secrets.token_urlsafe(12))
            self._files[(namespace_id, path)] = out
            self.upload_ids.add(out.upload_id)
            out.pump = asyncio.create_task(self._pump(out))
        out.hashes.append(h)
        out.news.set()

    def stored(self, h: str) -> None:
        """The server holds this block for us now (sent, or found there)."""
        if h in self._stored:
            return
        self._stored.add(h)
        for out in self._files.values():
            out.news.set()

    async def _pump(self, out: _Outgoing) -> None:
        try:
            await self._call(
                "files.announce", wire.AnnounceUpload(out.namespace_id, out.path, out.upload_id)
            )
            while True:
                await out.news.wait()
                await asyncio.sleep(STAGE_EVERY)  # blocks stored meanwhile go in the same page
                out.news.clear()
                await self._stage_ready(out)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # e.g. a viewer, or the connection lost: not streamed
            log.debug("streaming %s stopped: %s", out.path, exc)
            out.broken = True

    async def _stage_ready(self, out: _Outgoing) -> None:
        end = out.staged
        while end < len(out.hashes) and out.hashes[end] in self._stored:
            end += 1
        while out.staged < end:
            page = out.hashes[out.staged : min(end, out.staged + STAGE_PAGE)]
            await self._call("files.stage", wire.StageBlocks(out.upload_id, out.staged, page))
            out.staged += len(page)

    async def finish(self, namespace_id: str, item: wire.CommitItem) -> wire.CommitItem:
        """The commit item to send: an announced file's names its upload (the rest of its
        list staged now), so the version the members fetched becomes current; anything else
        as it is."""
        out = self._files.pop((namespace_id, item.path), None)
        if out is None or item.blocks is None:
            return item
        await _stop(out.pump)
        blocks = item.blocks
        if out.broken or blocks[: out.staged] != out.hashes[: out.staged]:
            await self._withdraw(out.upload_id)  # changed since: not what was announced
            return item
        try:
            for start in range(out.staged, len(blocks), STAGE_PAGE):
                page = blocks[start : start + STAGE_PAGE]
                await self._call("files.stage", wire.StageBlocks(out.upload_id, start, page))
        except Exception:
            await self._withdraw(out.upload_id)
            raise
        return msgspec.structs.replace(
            item, blocks=None, upload_id=out.upload_id, block_count=len(blocks)
        )

    def arrived(self, upload_id: str) -> None:
        self._arrived.add(upload_id)

    async def close(self, keep: Callable[[str, str], bool] = lambda ns, path: False) -> None:
        """At the end of a pass: every announcement no commit took is withdrawn, so the
        members drop what they fetched, but those of files `keep` names (namespace, path):
        still settling, they are committed by a later pass."""
        kept = {key: out for key, out in self._files.items() if keep(*key) and not out.broken}
        for key, out in self._files.items():
            if key not in kept:
                await _stop(out.pump)
        self._files = kept
        still = {out.upload_id for out in kept.values()}
        for upload_id in sorted(self.upload_ids - self._arrived - self._withdrawn - still):
            await self._withdraw(upload_id)
        if not kept:
            self._stored.clear()

    async def _withdraw(self, upload_id: str) -> None:
        self._withdrawn.add(upload_id)
        with contextlib.suppress(Exception):  # gone with the connection: the server did it
            await self._call("files.withdraw", wire.WithdrawUpload(upload_id))


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---------------------------------------------------------------------------- receiving side
class TempWriter(Protocol):
    """What `StreamIn` writes an incoming file into: `client.sync.transfer.TempFile`."""

    tmp: Path

    async def add(self, data: bytes | memoryview, lengths: list[int]) -> None: ...

    async def settled(self) -> None: ...

    async def written(self) -> None: ...

    def discard(self) -> None: ...


Fetch = Callable[[str], Coroutine[Any, Any, bytes | memoryview]]
MakeTemp = Callable[[Path], TempWriter]


@dataclass(eq=False)
class _Incoming:
    ws: str  # its path in this workspace
    upload_id: str
    out: TempWriter
    hashes: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)  # of the blocks written so far
    failed: bool = False
    taken: bool = False  # `take` waits for it and cleans up after it
    news: asyncio.Event = field(default_factory=asyncio.Event)  # more hashes listed
    progress: asyncio.Event = field(default_factory=asyncio.Event)  # a block written, or failed
    last_news: float = field(default_factory=time.monotonic)
    worker: asyncio.Task[None] | None = None


class StreamIn:
    """Fetches the blocks of files on their way into a temporary file each, in order, while
    their sender uploads them; `take` hands one over once its commit is seen."""

    def __init__(self, root: Path, make_temp: MakeTemp) -> None:
        self.root = root
        self._make_temp = make_temp
        self._files: dict[str, _Incoming] = {}  # by upload id
        self.fetch: Fetch | None = None  # the current connection's block fetch
        self._cleanups: set[asyncio.Task[None]] = set()

    def started(self, ws: str, upload_id: str) -> None:
        if upload_id in self._files or self.fetch is None:
            return
        for other in [f for f in self._files.values() if f.ws == ws]:
            self._drop(other)  # announced again (the sender started over): the newest counts
        tmp = self.root / f"{TEMP_PREFIX}in-{upload_id}"
        incoming = _Incoming(ws, upload_id, self._make_temp(tmp))
        self._files[upload_id] = incoming
        incoming.worker = asyncio.create_task(self._work(incoming, self.fetch))

    def blocks(self, upload_id: str, offset: int, hashes: Sequence[str]) -> None:
        incoming = self._files.get(upload_id)
        if incoming is None:
            return
        have = incoming.hashes
        if offset > len(have):  # a page missed (this device joined late): not streamed
            self._drop(incoming)
            return
        for i, h in enumerate(hashes, start=offset):
            if i < len(have):
                if have[i] != h and i < len(incoming.lengths):  # written already, otherwise
                    self._drop(incoming)
                    return
                have[i] = h
            else:
                have.append(h)
        incoming.last_news = time.monotonic()
        incoming.news.set()

    def withdrawn(self, upload_id: str) -> None:
        if (incoming := self._files.get(upload_id)) is not None:
            self._drop(incoming)

    async def take(self, ws: str, blocks: Sequence[str]) -> tuple[TempWriter, list[int]] | None:
        """The temporary file of an incoming `ws` whose blocks are `blocks`, once all are
        written (the rest fetched now: they are committed); None when there is none or it
        went wrong, and the caller downloads as usual. The caller owns the file it gets."""
        incoming = next((f for f in self._files.values() if f.ws == ws), None)
        if incoming is None:
            return None
        written = len(incoming.lengths)
        if list(blocks[:written]) != incoming.hashes[:written]:
            self._drop(incoming)
            return None
        incoming.taken = True
        incoming.hashes[:] = blocks
        incoming.news.set()
        try:
            while len(incoming.lengths) < len(blocks) and not incoming.failed:
                incoming.progress.clear()
                await incoming.progress.wait()
        finally:
            self._files.pop(incoming.upload_id, None)
            await _stop(incoming.worker)
            await incoming.out.settled()
        if incoming.failed or not await _written(incoming.out):
            incoming.out.discard()
            return None
        return incoming.out, incoming.lengths

    def sweep(self) -> None:
        """Drop files whose sender has been silent too long (it went away without a word)."""
        now = time.monotonic()
        for incoming in list(self._files.values()):
            if now - incoming.last_news > IDLE_SECONDS:
                self._drop(incoming)

    async def close(self) -> None:
        for incoming in list(self._files.values()):
            self._drop(incoming)
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)

    def _drop(self, incoming: _Incoming) -> None:
        self._files.pop(incoming.upload_id, None)
        incoming.failed = True
        incoming.progress.set()
        if incoming.taken:
            return  # `take` is waiting on it, and cleans up

        async def cleanup() -> None:
            await _stop(incoming.worker)
            await incoming.out.settled()
            incoming.out.discard()

        task = asyncio.ensure_future(cleanup())
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _work(self, incoming: _Incoming, fetch: Fetch) -> None:
        """Fetch the listed blocks in order, FETCH_DEPTH at a time, and write them."""
        pending: deque[asyncio.Task[bytes | memoryview]] = deque()
        asked = 0
        try:
            while True:
                while asked < len(incoming.hashes) and len(pending) < FETCH_DEPTH:
                    pending.append(asyncio.create_task(fetch(incoming.hashes[asked])))
                    asked += 1
                if pending:
                    await incoming.out.add(await pending.popleft(), incoming.lengths)
                    incoming.progress.set()
                    continue
                incoming.news.clear()
                if asked < len(incoming.hashes):
                    continue
                await incoming.news.wait()
        except asyncio.CancelledError:
            for task in pending:
                task.cancel()
            raise
        except Exception as exc:  # not readable yet, connection lost: the download takes over
            log.debug("incoming %s stopped: %s", incoming.ws, exc)
            for task in pending:
                task.cancel()
            incoming.failed = True
            incoming.progress.set()


async def _written(out: TempWriter) -> bool:
    """Whether every piece handed to `out` reached its file (writes run in the background)."""
    try:
        await out.written()
    except Exception as exc:
        log.debug("incoming %s not written: %s", out.tmp.name, exc)
        return False
    return True
