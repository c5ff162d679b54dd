"""Blocks in an S3-compatible bucket (`roost serve --blocks s3://…`): the same stored bytes as
`LocalBlockStore` (codec byte + payload), the same content addressing, reached through
obstore.

Why obstore: in one run against SeaweedFS on loopback (bench/s3_client.py, docs/BENCHMARKS.md)
it took half aiobotocore's latency or less on small objects (4 KiB put/get/head: 1.2/0.9/0.6 ms
against 2.7/1.8/1.5 ms one at a time, 2-4x the ops/s with 8 or 32 at once) and matched or beat
it on 4 MiB ones; and its calls are plain functions that release the GIL (Rust underneath), so
the store keeps the synchronous `BlockStore` interface the server calls from its threads,
where aiobotocore would need an event loop in every thread.

Layout under the bucket (and the URL's prefix), the same as DATA/blocks/ (so copying that
folder's files into the bucket moves a server's blocks there):

    ab/cdef…                 a block on its own (one stored alone, or one over 256 KiB)
    packs/TIME-RANDOM.pack   many small blocks: a header (LocalBlockStore's pack format: the
                             digest, offset, length of each) then the blocks, read by ranged GET

Small blocks always go into packs (a PUT costs about a millisecond; 10,000 small files are a
few dozen packs). Every process keeps an index of packed blocks in memory and learns of other
processes' packs by listing `packs/` (names start with the time, so it lists only the newest
after the first time) and reading the headers it has not seen; a read that misses, or finds
its pack gone (rewritten by a collection), lists again. A PUT returns after S3 has committed
the object: a block is durable when `put`/`put_many` returns.

Collection safe while other processes upload. S3 has no rename and no touch, so the bytes
cannot say "re-stored just now" the way a file's mtime does. The database says it instead:
before a server stores uploaded blocks it *claims* them (`storage.server.space.claim_blocks`:
their `blocks` rows get created_at = now, inserted if missing, committed), and only then asks
this store whether the bytes are already here. Garbage collection on S3
(`space.collect_garbage`) deletes bytes only inside a write transaction that holds the rows
of what it deletes: rows it found unreferenced and older than the grace period (locked), or,
for bytes without a row (a pack's dead blocks, blocks a crash left unrecorded), placeholder
rows it inserts itself. It deletes the bytes, then the rows, then commits. So a claim and a
collection of one block take turns on its row (SQLite has one writer; on PostgreSQL the row
lock or the insert's unique-key wait orders them):

- the claim commits first: the collection sees a fresh row (or cannot insert its
  placeholder) and keeps the bytes; the uploader may skip its PUT.
- the collection holds the row first: the claim waits until the bytes are gone and the row
  deleted, then inserts a new row; the store finds no bytes and the uploader PUTs them.

The race "uploader sees the block exists, skips the PUT, GC deletes it" cannot happen: the
check comes after the claim. tests/files/test_s3_gc.py plays both orders by hand.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from storage.content.blocks import _PACK_ENTRY, _PACK_HEAD, _PACK_MAGIC, BlockMissing
from storage.content.s3_location import S3Location
from storage.errors import StorageError

if TYPE_CHECKING:
    from obstore.store import S3Config

INSTALL_HINT = "blocks in S3 need obstore: pip install 'roost[s3]'"
LOOSE_OVER = 256 << 10  # blocks larger than this are objects of their own
HEADER_GUESS = 64 << 10  # the first ranged GET of a pack's header: ~1,500 entries
LIST_SLACK_NS = 120 * 10**9  # packs named this much before the newest seen are listed again
THREADS = 16  # HEADs and PUTs of one put_many, GETs of one get_many, run side by side
SPAN_GAP = 64 << 10  # get_many reads across gaps this small between wanted blocks of a pack


class S3Unreachable(StorageError):
    """The bucket cannot be used (at start: as configured; while serving: for now); the
    message is one line for a person, never a credential."""


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    """One pool for every store of the process (its threads wait on the network). Work given
    to it never waits on more work given to it, so it cannot starve itself."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="roost-s3")
        return _pool


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise S3Unreachable(INSTALL_HINT) from None
    return obstore


def open_store(location: S3Location, env: Mapping[str, str] | None = None) -> Any:
    """An obstore S3Store for the location, credentials from the AWS_* variables."""
    _obstore()
    from obstore.store import S3Store

    env = os.environ if env is None else env
    config: S3Config = {"region": location.region}
    if location.endpoint:
        config["endpoint"] = location.endpoint
    if key_id := env.get("AWS_ACCESS_KEY_ID"):
        config["access_key_id"] = key_id
    if secret := env.get("AWS_SECRET_ACCESS_KEY"):
        config["secret_access_key"] = secret
    if token := env.get("AWS_SESSION_TOKEN"):
        config["session_token"] = token
    return S3Store(
        location.bucket,
        prefix=location.prefix or None,
        config=config,
        client_options={
            "allow_http": bool(location.endpoint and location.endpoint.startswith("http://")),
            "connect_timeout": timedelta(seconds=5),
            "timeout": timedelta(seconds=120),
        },
        retry_config={"max_retries": 3, "retry_timeout": timedelta(seconds=20)},
    )


def _digest_key(digest: bytes) -> str:
    name = digest.hex()
    return f"{name[:2]}/{name[2:]}"


def _key_digest(key: str) -> bytes | None:
    parts = key.split("/")
    if len(parts) != 2 or len(parts[0]) != 2:
        return None
    try:
        digest = bytes.fromhex(parts[0] + parts[1])
    except ValueError:
        return None
    return digest if len(digest) == 32 else None


def _epoch(meta: Mapping[str, Any]) -> float:
    return float(meta["last_modified"].timestamp())


class S3BlockStore:
    """The `BlockStore` interface on a bucket; see the module docstring for the layout, the
    pack index and why uploads claim their blocks first (`needs_claims`)."""

    needs_claims = True  # callers commit a claim (space.claim_blocks) before put/put_many

    def __init__(self, location: S3Location, env: Mapping[str, str] | None = None) -> None:
        self.location = location
        self._ob = _obstore()
        self._store = open_store(location, env)
        self._packed: dict[bytes, tuple[str, int, int]] = {}
        self._packs_seen: set[str] = set()
        self._newest = ""  # the newest pack name listed
        self._lock = threading.Lock()
        self._pool = _shared_pool()

    def describe(self) -> str:
        return self.location.describe()

    # ------------------------------------------------------------------ start
    def check(self) -> None:
        """That the bucket answers to these credentials (one LIST); S3Unreachable in one line
        otherwise. Called before serving: a bad URL or key stops the start, not an upload."""
        try:
            self._ob.list(self._store, prefix="packs/", chunk_size=1).collect()
        except Exception as exc:
            raise S3Unreachable(self.explain(exc)) from None
        self._load_packs()

    def explain(self, exc: BaseException) -> str:
        where = self.describe()
        text = str(exc)
        exceptions = self._ob.exceptions
        if "NoSuchBucket" in text:
            return f"blocks: {where}: no such bucket {self.location.bucket!r}; create it first"
        if isinstance(exc, exceptions.PermissionDeniedError | exceptions.UnauthenticatedError) or (
            "403 Forbidden" in text
            or "SignatureDoesNotMatch" in text
            or "InvalidAccessKeyId" in text
        ):
            return (
                f"blocks: {where}: the credentials were refused: check AWS_ACCESS_KEY_ID and"
                " AWS_SECRET_ACCESS_KEY"
            )
        if "connect" in text.lower() or "dns" in text.lower() or "timed out" in text.lower():
            return f"blocks: {where}: unreachable: is the endpoint right and the S3 server up?"
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return f"blocks: {where}: {first[:200]}"

    # ------------------------------------------------------------------ the pack index
    def _load_packs(self, *, again: bool = False) -> None:
        """Index packs not seen yet (listing only those named after the newest seen, less
        some slack for clocks and slow writers); with `again`, forget everything and list
        every pack (one went away)."""
        with self._lock:
            if again:
                self._packed.clear()
                self._packs_seen.clear()
                self._newest = ""
            offset = _earlier(self._newest, LIST_SLACK_NS) if self._newest else None
        names = [m["path"] for m in self._list("packs/", offset)]
        fresh = [n for n in names if n.endswith(".pack") and n not in self._packs_seen]
        for name, table in zip(fresh, self._pool.map(self._table_or_none, fresh), strict=True):
            if table is None:
                continue  # collected while we listed
            with self._lock:
                for digest, offset_, length in table:
                    self._packed.setdefault(digest, (name, offset_, length))
                self._packs_seen.add(name)
                self._newest = max(self._newest, name)

    def _list(self, prefix: str, offset: str | None = None) -> Iterator[Mapping[str, Any]]:
        stream = self._ob.list(self._store, prefix=prefix or None, offset=offset, chunk_size=1000)
        while True:
            try:
                chunk = next(stream)
            except StopIteration:
                return
            except Exception as exc:
                raise self._failed(exc) from None
            yield from chunk

    def _table_or_none(self, name: str) -> list[tuple[bytes, int, int]] | None:
        try:
            return self.pack_table(name)
        except FileNotFoundError:
            return None

    def pack_table(self, name: str) -> list[tuple[bytes, int, int]]:
        """A pack's (digest, offset, length) entries, from its header (FileNotFoundError if
        the pack is gone)."""
        head = self._range(name, 0, HEADER_GUESS)
        if len(head) < _PACK_HEAD.size:
            raise StorageError(f"block pack {name} is damaged")
        magic, count = _PACK_HEAD.unpack_from(head)
        need = _PACK_HEAD.size + count * _PACK_ENTRY.size
        if magic != _PACK_MAGIC:
            raise StorageError(f"block pack {name} is damaged")
        if len(head) < need:
            head = self._range(name, 0, need)
            if len(head) < need:
                raise StorageError(f"block pack {name} is damaged")
        return list(_PACK_ENTRY.iter_unpack(head[_PACK_HEAD.size : need]))

    def _range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of an object, fewer if it is shorter; FileNotFoundError if
        it is absent."""
        try:
            return bytes(self._ob.get_range(self._store, key, start=start, end=end))
        except FileNotFoundError:
            raise
        except self._ob.exceptions.NotFoundError:
            raise FileNotFoundError(key) from None
        except Exception as exc:
            if "Range" in str(exc) and "not satisfiable" in str(exc).lower():
                return b""
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException) -> S3Unreachable:
        return S3Unreachable(self.explain(exc))

    def indexed(self) -> int:
        """How many packed blocks the in-memory index holds."""
        return len(self._packed)

    # ------------------------------------------------------------------ existence
    def _exists(self, key: str) -> bool:
        try:
            self._ob.head(self._store, key)
        except (FileNotFoundError, self._ob.exceptions.NotFoundError):
            return False
        except Exception as exc:
            raise self._failed(exc) from None
        return True

    def _stored(
        self, digests: Sequence[bytes], *, loose: bool = True, listing: bool = True
    ) -> set[bytes]:
        """Those of `digests` whose bytes are here now: packed in a pack that still exists
        (each pack HEADed once), or (with `loose`) an object of their own. With `listing`,
        packs other processes wrote since the last listing are learnt first."""
        if listing and any(d not in self._packed for d in digests):
            self._load_packs()
        found: set[bytes] = set()
        for attempt in range(2):
            where = {d: self._packed.get(d) for d in digests if d not in found}
            packs = sorted({w[0] for w in where.values() if w is not None})
            alive = dict(zip(packs, self._pool.map(self._exists, packs), strict=True))
            found.update(d for d, w in where.items() if w is not None and alive[w[0]])
            if all(alive.values()) or attempt:
                break
            self._load_packs(again=True)  # a pack was rewritten: where are its blocks now?
        rest = [d for d in digests if d not in found and loose]
        heads = self._pool.map(lambda d: self._exists(_digest_key(d)), rest)
        found.update(d for d, here in zip(rest, heads, strict=True) if here)
        return found

    def has(self, digest: bytes) -> bool:
        return bool(self._stored([digest]))

    # ------------------------------------------------------------------ writing
    def put(self, digest: bytes, stored: bytes | memoryview) -> None:
        # A large block is never packed here: its own object answers, no listing needed.
        if not self._stored([digest], listing=len(stored) <= LOOSE_OVER):
            self._put_object(_digest_key(digest), stored)

    def put_many(self, blocks: Sequence[tuple[bytes, bytes | memoryview]]) -> None:
        """Store the new blocks among these: large ones as objects of their own, small ones
        as one pack; durable together when this returns. Packs other processes wrote since
        the last listing are learnt first, so a block they stored is not stored twice."""
        unique = dict(blocks)
        # Small blocks are only ever stored in packs here: the index answers for them, and a
        # HEAD each (a millisecond) is spent only on large ones.
        big = {d for d, s in unique.items() if len(s) > LOOSE_OVER}
        here = self._stored([d for d in unique if d not in big], loose=False)
        here |= self._stored(list(big), listing=False)
        new = {d: s for d, s in unique.items() if d not in here}
        large = [(d, s) for d, s in new.items() if len(s) > LOOSE_OVER]
        small = {d: s for d, s in new.items() if len(s) <= LOOSE_OVER}
        list(self._pool.map(lambda pair: self._put_object(_digest_key(pair[0]), pair[1]), large))
        if small:
            self._write_pack(small)

    def _put_object(self, key: str, data: bytes | memoryview) -> None:
        try:
            self._ob.put(self._store, key, memoryview(data), use_multipart=False)
        except Exception as exc:
            raise self._failed(exc) from None

    def _write_pack(self, blocks: Mapping[bytes, bytes | memoryview]) -> str:
        name = f"packs/{time.time_ns():x}-{secrets.token_hex(4)}.pack"  # as LocalBlockStore
        offset = _PACK_HEAD.size + len(blocks) * _PACK_ENTRY.size
        table: list[tuple[bytes, int, int]] = []
        for digest, stored in blocks.items():
            table.append((digest, offset, len(stored)))
            offset += len(stored)
        body = b"".join([
            _PACK_HEAD.pack(_PACK_MAGIC, len(blocks)),
            *(_PACK_ENTRY.pack(*entry) for entry in table),
            *blocks.values(),
        ])  # fmt: skip
        self._put_object(name, body)
        with self._lock:
            for digest, at, length in table:
                self._packed[digest] = (name, at, length)
            self._packs_seen.add(name)
            self._newest = max(self._newest, name)
        return name

    # ------------------------------------------------------------------ reading
    def get(self, digest: bytes) -> bytes:
        for attempt in range(3):
            where = self._packed.get(digest)
            if where is None:
                try:
                    return bytes(self._ob.get(self._store, _digest_key(digest)).bytes())
                except (FileNotFoundError, self._ob.exceptions.NotFoundError):
                    pass
                except Exception as exc:
                    raise self._failed(exc) from None
                self._load_packs(again=attempt > 0)  # another process may have packed it
                continue
            name, offset, length = where
            try:
                data = self._range(name, offset, offset + length)
            except FileNotFoundError:
                self._load_packs(again=True)  # rewritten by a collection: look again
                continue
            if len(data) != length:
                raise StorageError(f"block pack {name} is cut short")
            return data
        raise BlockMissing(f"block {digest.hex()[:12]} is not stored")

    def packed_bytes(self, digests: Sequence[bytes]) -> int | None:
        """The stored bytes of these blocks if the index holds every one, else None."""
        where = [self._packed.get(d) for d in digests]
        return None if None in where else sum(w[2] for w in where if w is not None)

    def get_many(self, digests: Sequence[bytes]) -> list[bytes]:
        """`get` for many, side by side: blocks next to each other in one pack (uploaded
        together, so often fetched together) come in one ranged GET."""
        where = {d: self._packed.get(d) for d in digests}
        spans: dict[str, list[list[int]]] = {}  # pack -> [start, end] runs of ranges
        for name, at, n in sorted(w for w in where.values() if w is not None):
            runs = spans.setdefault(name, [])
            if runs and at - runs[-1][1] <= SPAN_GAP:
                runs[-1][1] = max(runs[-1][1], at + n)
            else:
                runs.append([at, at + n])
        jobs = [(name, start, end) for name, runs in spans.items() for start, end in runs]
        fetched: dict[tuple[str, int], bytes] = {}
        try:
            for (name, start, _), data in zip(
                jobs, self._pool.map(lambda j: self._range(*j), jobs), strict=True
            ):
                fetched[(name, start)] = data
        except FileNotFoundError:
            return [self.get(d) for d in digests]  # a pack went: one by one
        out: list[bytes] = []
        for d in digests:
            w = where[d]
            if w is None:  # not packed (large, or packed by another process since): alone
                out.append(self.get(d))
                continue
            name, at, n = w
            start = max(s for (p, s) in fetched if p == name and s <= at)
            data = fetched[(name, start)][at - start : at - start + n]
            if len(data) != n:
                raise StorageError(f"block pack {name} is cut short")
            out.append(data)
        return out

    # ------------------------------------------------------------------ collecting
    # Called by space.collect_garbage inside the write transaction that holds the rows of
    # what goes (see the module docstring); never on their own while uploads run.
    def delete(self, digest: bytes) -> None:
        self.delete_many([digest])

    def delete_many(self, digests: Sequence[bytes]) -> None:
        """Delete these blocks' own objects (a packed block goes with `repack`)."""
        if not digests:
            return
        with self._lock:
            for d in digests:
                self._packed.pop(d, None)
        try:
            self._ob.delete(self._store, [_digest_key(d) for d in digests])
        except Exception as exc:
            raise self._failed(exc) from None

    def collect(self, digest: bytes, idle_before: float) -> int | None:
        """Only under a collection's row lock (space.collect_garbage): delete the block's own
        object; the bytes freed, None if it has none (packed, or gone)."""
        try:
            meta = self._ob.head(self._store, _digest_key(digest))
        except (FileNotFoundError, self._ob.exceptions.NotFoundError):
            return None
        self.delete_many([digest])
        return int(meta["size"])

    def digests(self) -> Iterator[tuple[bytes, float, int]]:
        """Every block object's digest, LastModified (epoch seconds) and size."""
        for meta in self._list(""):  # packs/… are skipped by their name
            digest = _key_digest(meta["path"])
            if digest is not None:
                yield digest, _epoch(meta), int(meta["size"])

    def packs(self) -> list[tuple[str, float, int]]:
        """Every pack's name, LastModified (epoch seconds) and size."""
        return [
            (m["path"], _epoch(m), int(m["size"]))
            for m in self._list("packs/")
            if m["path"].endswith(".pack")
        ]

    def repack(self, name: str, keep: set[bytes]) -> int:
        """Only under a collection's row locks: write the blocks of `keep` found in `name`
        to a new pack (durable first, so a reader always finds them somewhere), then delete
        `name`; the bytes freed."""
        try:
            table = self.pack_table(name)
        except FileNotFoundError:
            return 0
        size = table[-1][1] + table[-1][2] if table else 0
        whole = self._range(name, 0, size) if keep else b""  # one GET: a pack is a few MiB
        live: dict[bytes, bytes] = {}
        for d, at, n in table:
            if d in keep:
                live[d] = whole[at : at + n]
                if len(live[d]) != n:
                    raise StorageError(f"block pack {name} is cut short")
        survivors = 0
        if live:
            survivors = sum(len(v) for v in live.values())
            self._write_pack(live)
        try:
            self._ob.delete(self._store, name)
        except Exception as exc:
            raise self._failed(exc) from None
        with self._lock:  # what it held is in the new pack now, or gone
            for d, _, _ in table:
                if self._packed.get(d, ("",))[0] == name:
                    del self._packed[d]
            self._packs_seen.discard(name)
        return max(size - survivors, 0)


def _earlier(name: str, by_ns: int) -> str:
    """A pack name `by_ns` before `name` (for listing from there: names start with the
    time in hex)."""
    stamp = name.removeprefix("packs/").split("-", 1)[0]
    try:
        return f"packs/{max(int(stamp, 16) - by_ns, 0):x}"
    except ValueError:
        return ""
