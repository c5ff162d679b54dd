"""Blocks through the real server: no access by hash claim, damaged uploads refused,
dedup across users, attachments, commit checks."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from client.errors import ServerError
from client.files import RemoteFiles
from client.social import Social
from client.sync.transfer import Transfer
from protocol import files as wire
from storage.content.blocks import LocalBlockStore, encode_block
from tests.conftest import LiveServer
from tests.files.helpers import device


async def test_a_hash_claim_grants_nothing(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    mallory = await device(live, tmp_path, "mallory", "m1", register=True)
    try:
        secret = os.urandom(100_000)
        alice.write("secret.bin", secret)
        await alice.sync()
        h = hashlib.sha256(secret).hexdigest()
        conn = await mallory.client.connect()
        thief = Transfer(conn)
        assert await thief.missing(None, [h]) == [h]  # held by the server, but not for her
        with pytest.raises(ServerError) as refused:
            await thief.fetch_block(h)
        assert refused.value.code == "not_found"
        home = next(n for n in await RemoteFiles(mallory.client).namespaces())
        result: wire.CommitResult = await conn.call(
            "files.commit",
            wire.Commit(
                home.id, [wire.CommitItem("stolen.bin", None, size=len(secret), blocks=[h])]
            ),
        )
        assert result.outcomes[0].code == "not_found" and result.outcomes[0].entry is None
        # Sending the bytes herself works, and the server still stores them once.
        await thief.put_block(h, secret)
        assert await thief.missing(None, [h]) == []
        blocks = list((live.server.config.data_dir / "blocks").rglob("*"))
        assert sum(1 for p in blocks if p.is_file()) == 1
    finally:
        await alice.client.close()
        await mallory.client.close()


async def test_a_damaged_block_is_refused_and_not_stored(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        conn = await alice.client.connect()
        data = b"hello block " * 1000
        digest = hashlib.sha256(data).digest()
        codec, payload = encode_block(data)
        damaged = bytearray(payload)
        damaged[len(damaged) // 2] ^= 0xFF
        for body in (bytes(damaged), payload[:-5]):
            with pytest.raises(ServerError) as refused:
                await conn.call_binary(
                    lambda rid, body=body: wire.encode_block_frame(
                        wire.PUT, rid, digest, codec, body
                    )
                )
            assert refused.value.code == "invalid_args"
        wrong = hashlib.sha256(b"other").digest()
        with pytest.raises(ServerError, match="do not match"):
            await conn.call_binary(
                lambda rid: wire.encode_block_frame(wire.PUT, rid, wrong, codec, payload)
            )
        assert await Transfer(conn).missing(None, [digest.hex()]) == [digest.hex()]
        assert not any(p.is_file() for p in (live.server.config.data_dir / "blocks").rglob("*"))
        await alice.client.call("auth.whoami")  # the connection is still fine
    finally:
        await alice.client.close()


async def test_commit_checks_parent_case_and_paths(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        home = (await RemoteFiles(alice.client).namespaces())[0]

        async def commit(*items: wire.CommitItem) -> list[wire.Outcome]:
            r: wire.CommitResult = await alice.client.call(
                "files.commit", wire.Commit(home.id, list(items))
            )
            return r.outcomes

        [ok] = await commit(wire.CommitItem("Readme.md", None))
        assert ok.entry is not None and ok.entry.seq == 1
        [stale, clash, bad] = await commit(
            wire.CommitItem("Readme.md", None),
            wire.CommitItem("README.md", None),
            wire.CommitItem("../etc/passwd", None),
        )
        assert stale.code == "conflict" and "current version" in (stale.message or "")
        assert clash.code == "conflict" and "only by case" in (clash.message or "")
        assert bad.code == "invalid_args"
        [next_] = await commit(wire.CommitItem("Readme.md", ok.entry.version_id, deleted=True))
        assert next_.entry is not None and next_.entry.seq == 2  # gap-free: refusals take no seq
    finally:
        await alice.client.close()


async def test_attachments_upload_through_the_block_store(live: LiveServer, tmp_path: Path) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    bob = await device(live, tmp_path, "bob", "b1", register=True)
    try:
        photo = tmp_path / "cat.jpg"
        photo.write_bytes(os.urandom(2 << 20))
        att = await RemoteFiles(alice.client).attach(photo)
        assert (att.name, att.size, att.owner) == ("cat.jpg", 2 << 20, "alice")
        await Social(alice.client).post("my cat", attachments=[att.id])  # now anyone's to read
        got, out = await RemoteFiles(bob.client).media_get(att.id, tmp_path / "got.jpg")
        assert out.read_bytes() == photo.read_bytes() and got.blocks == att.blocks
        with pytest.raises(ServerError) as missing:
            await RemoteFiles(bob.client).media_get("12345", tmp_path / "x")
        assert missing.value.code == "not_found"
    finally:
        await alice.client.close()
        await bob.client.close()


async def test_refcounts_let_blocks_of_purged_versions_be_collected(
    live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        alice.write("f.bin", b"one" * 1000)
        await alice.sync()
        [first] = (await RemoteFiles(alice.client).history("f.bin"))[0].blocks
        alice.write("g.bin", b"one" * 1000)  # same content elsewhere: dedup, refcount 2
        await alice.sync()
        services = live.server._services
        assert services is not None
        assert await services.files.refcount(first) == 2
        alice.write("f.bin", b"two" * 1000)
        await alice.sync()
        (alice.root / "g.bin").unlink()
        await alice.sync()
        versions = await RemoteFiles(alice.client).history("f.bin")
        g_versions = await RemoteFiles(alice.client).history("g.bin")
        async with services.db.write() as tx:  # purge every old version that used the block
            for v in [versions[-1], g_versions[-1]]:
                await services.files.release_version(tx, int(v.version_id))
            assert await services.files.collectable(tx, older_than=2**62) == [first]
        services.blocks.delete(bytes.fromhex(first))
        assert await services.files.refcount(first) is None
        assert not services.blocks.has(bytes.fromhex(first))
    finally:
        await alice.client.close()


async def test_a_commit_batch_acts_as_its_items_in_order(live: LiveServer, tmp_path: Path) -> None:
    """The batch is checked set-based, but each item still sees the ones before it."""
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    try:
        home = (await RemoteFiles(alice.client).namespaces())[0]

        async def commit(*items: wire.CommitItem) -> list[wire.Outcome]:
            r: wire.CommitResult = await alice.client.call(
                "files.commit", wire.Commit(home.id, list(items))
            )
            return r.outcomes

        [a, twin, again, b] = await commit(
            wire.CommitItem("Notes.md", None),
            wire.CommitItem("NOTES.md", None),  # a case twin of an item earlier in the batch
            wire.CommitItem("Notes.md", None),  # the path now exists: a stale parent
            wire.CommitItem("b.md", None),
        )
        assert a.entry is not None and b.entry is not None
        assert twin.code == "conflict" and "only by case" in (twin.message or "")
        assert again.code == "conflict" and "current version" in (again.message or "")
        assert [a.entry.seq, b.entry.seq] == [1, 2]  # refusals take no seq
        [gone, renamed, edit] = await commit(
            wire.CommitItem("Notes.md", a.entry.version_id, deleted=True),
            wire.CommitItem("NOTES.md", None),  # the twin is deleted just before: allowed
            wire.CommitItem("b.md", b.entry.version_id, kind=wire.Kind.DIR),
        )
        assert gone.entry is not None and renamed.entry is not None and edit.entry is not None
        assert [gone.entry.seq, renamed.entry.seq, edit.entry.seq] == [3, 4, 5]
        assert edit.entry.parent_id == b.entry.version_id
    finally:
        await alice.client.close()


async def test_blocks_uploaded_together_are_verified_each(live: LiveServer, tmp_path: Path) -> None:
    """Blocks arriving at once are stored in one batch; a damaged one among them is refused
    alone, and each stored one can be committed by its uploader only."""
    alice = await device(live, tmp_path, "alice", "a1", register=True)
    mallory = await device(live, tmp_path, "mallory", "m1", register=True)
    try:
        conn = await alice.client.connect()
        blocks = [f"small block {i} ".encode() * 50 for i in range(40)]
        hashes = [hashlib.sha256(b).hexdigest() for b in blocks]

        async def put(i: int) -> BaseException | None:
            codec, payload = encode_block(blocks[i])
            if i == 7:
                payload = payload[:-3]  # damaged
            try:
                await conn.call_binary(
                    lambda rid: wire.encode_block_frame(
                        wire.PUT, rid, bytes.fromhex(hashes[i]), codec, payload
                    )
                )
            except ServerError as exc:
                return exc
            return None

        results = await asyncio.gather(*(put(i) for i in range(len(blocks))))
        assert [i for i, r in enumerate(results) if r is not None] == [7]
        assert isinstance(results[7], ServerError) and results[7].code == "invalid_args"
        assert await Transfer(conn).missing(None, hashes) == [hashes[7]]
        store = live.server.config.data_dir / "blocks"
        assert not any(p.name.endswith(".tmp") for p in store.rglob("*"))
        kept = LocalBlockStore(store)
        assert [i for i, h in enumerate(hashes) if not kept.has(bytes.fromhex(h))] == [7]
        # Stored for alice is not readable by mallory: the hash-claim rule holds for batches.
        theirs = Transfer(await mallory.client.connect())
        assert sorted(await theirs.missing(None, hashes)) == sorted(hashes)
    finally:
        await alice.client.close()
        await mallory.client.close()
