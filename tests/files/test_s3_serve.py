"""File sync with blocks in a real S3 bucket (SeaweedFS), through the real server: one
in-process server on each database engine, two `roost serve` processes sharing a bucket and a
PostgreSQL database, the refusals of `roost serve --blocks`, and the admin commands."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from client.errors import ServerError
from client.files import RemoteFiles
from client.sync.transfer import Transfer
from server.app import RoostServer
from server.config import ServerConfig
from storage.content.s3_blocks import S3BlockStore, open_store
from storage.server import space
from tests.conftest import LiveServer
from tests.files.helpers import ProcessServer, device
from tests.helpers import ServerProcess, roost_command
from tests.seaweed import SeaweedServer


@pytest.fixture
async def s3_live(
    tmp_path: Path, database_url: str | None, s3_bucket: str
) -> AsyncIterator[LiveServer]:
    config = ServerConfig(
        data_dir=tmp_path / "server", database_url=database_url, blocks_url=s3_bucket,
        port=0, shutdown_grace=5.0, registration="open",
    )  # fmt: skip
    server = RoostServer(config)
    await server.start()
    try:
        yield LiveServer(server)
    finally:
        await server.stop()


async def test_files_sync_through_blocks_in_s3(s3_live: LiveServer, tmp_path: Path) -> None:
    """Big and small files reach another device; nothing lands in the data folder; purged
    small files are collected from their packs and the rest still syncs."""
    laptop = await device(s3_live, tmp_path, "alice", "laptop", register=True)
    phone = await device(s3_live, tmp_path, "alice", "phone")
    try:
        big = os.urandom(5 << 20)  # several blocks, each an object of its own
        laptop.write("big.bin", big)
        for i in range(40):
            laptop.write(f"notes/n{i}.bin", os.urandom(3000))
        await laptop.sync()
        services = s3_live.server._services
        assert services is not None and isinstance(services.blocks, S3BlockStore)
        assert not (s3_live.server.config.data_dir / "blocks").exists()
        assert services.blocks.packs(), "small files were not stored together"
        assert await s3_live.metric("roost_block_index_entries") >= 40  # + a small tail of big
        await phone.sync()
        assert phone.read("big.bin") == big
        assert phone.listing() == laptop.listing()

        for i in range(30):
            (laptop.root / f"notes/n{i}.bin").unlink()
        await laptop.sync()
        files = RemoteFiles(laptop.client)
        for i in range(30):
            await files.purge(f"notes/n{i}.bin")
        done = await space.collect_garbage(
            services.db, services.blocks, grace_seconds=0, now=time.time() + 2
        )
        assert done.blocks == 30
        tablet = await device(s3_live, tmp_path, "alice", "tablet")
        try:
            await tablet.sync()
            assert tablet.listing() == laptop.listing()
            assert tablet.read("big.bin") == big
            assert all(tablet.read(f"notes/n{i}.bin") == laptop.read(f"notes/n{i}.bin")
                       for i in range(30, 40))  # fmt: skip
        finally:
            await tablet.client.close()
    finally:
        await laptop.client.close()
        await phone.client.close()


@pytest.mark.engines("postgresql")
async def test_a_block_uploaded_through_one_process_is_read_through_another(
    tmp_path: Path, database_url: str, s3_bucket: str, redis_url: str
) -> None:
    bus = redis_url.rsplit("/", 1)[0] + "/9"  # a Roost of its own on the session's Redis
    args = ("--blocks", s3_bucket, "--bus", bus)  # several processes need a bus
    one = ServerProcess(tmp_path / "one", extra_args=args, database_url=database_url)
    two = ServerProcess(tmp_path / "two", extra_args=args, database_url=database_url)
    try:
        await one.start()
        await two.start()
        laptop = await device(ProcessServer(one.url), tmp_path, "alice", "laptop", register=True)
        phone = await device(ProcessServer(two.url), tmp_path, "alice", "phone")
        try:
            big, small = os.urandom(3 << 20), [os.urandom(2000 + i) for i in range(20)]
            laptop.write("big.bin", big)
            for i, data in enumerate(small):
                laptop.write(f"small/{i}.bin", data)
            await laptop.sync()  # through process one
            await phone.sync()  # through process two: packs it never wrote, found by listing
            assert phone.read("big.bin") == big
            assert [phone.read(f"small/{i}.bin") for i in range(20)] == small
        finally:
            await laptop.client.close()
            await phone.client.close()
    finally:
        for proc in (one, two):
            if proc.proc is not None and proc.proc.returncode is None:
                await proc.kill()
    for folder in (tmp_path / "one", tmp_path / "two"):
        assert not (folder / "blocks").exists()


async def test_files_sync_through_roost_serve_with_blocks_in_s3(
    tmp_path: Path, database_url: str | None, s3_bucket: str
) -> None:
    server = await ServerProcess(
        tmp_path / "data", extra_args=("--blocks", s3_bucket), database_url=database_url
    ).start()
    try:
        assert any("blocks in s3://" in line for line in server.log)
        laptop = await device(ProcessServer(server.url), tmp_path, "alice", "laptop", register=True)
        phone = await device(ProcessServer(server.url), tmp_path, "alice", "phone")
        try:
            laptop.write("photo.raw", os.urandom(2 << 20))
            laptop.write("notes/todo.txt", "milk")
            await laptop.sync()
            await phone.sync()
            assert phone.listing() == laptop.listing()
            assert phone.read("photo.raw") == laptop.read("photo.raw")
        finally:
            await laptop.client.close()
            await phone.client.close()
    finally:
        await server.kill()
    assert not (tmp_path / "data" / "blocks").exists()


async def roost(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *roost_command(), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_serve_refuses_a_bucket_it_cannot_use_in_one_line(
    tmp_path: Path, seaweed: SeaweedServer, s3_bucket: str
) -> None:
    data = str(tmp_path / "data")
    base = ("serve", "--data", data, "--port", "0")
    code, _, err = await roost(*base, "--blocks", "s3://Bad_Name?endpoint=http://127.0.0.1:1")
    assert code == 2 and "--blocks" in err and "is not a bucket name" in err
    cases = [
        (seaweed.url("no-such-bucket"), os.environ, "no such bucket 'no-such-bucket'"),
        (s3_bucket, {**os.environ, "AWS_SECRET_ACCESS_KEY": "bad"}, "credentials were refused"),
        ("s3://bucket?endpoint=http://127.0.0.1:9", os.environ, "unreachable"),
    ]
    for url, env, says in cases:
        code, _, err = await roost(*base, "--blocks", url, env=dict(env))
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1, err
        assert "cannot start the server: blocks: s3://" in lines[0] and says in lines[0], err
    code, out, _ = await roost(*base, "--blocks", s3_bucket, "--print-config")
    assert code == 0 and s3_bucket in out


async def test_admin_commands_on_a_server_with_blocks_in_s3(
    s3_live: LiveServer, tmp_path: Path, database_url: str | None
) -> None:
    laptop = await device(s3_live, tmp_path, "alice", "laptop", register=True)
    try:
        laptop.write("a.txt", "first")
        await laptop.sync()
        laptop.write("a.txt", "second")
        await laptop.sync()
        await RemoteFiles(laptop.client).purge("a.txt")
    finally:
        await laptop.client.close()
    folder = str(s3_live.server.config.data_dir)
    db = ("--db", database_url) if database_url else ()
    code, _, err = await roost("admin", "gc", "--data", folder, "--grace", "0s", *db)
    assert code == 0, err
    assert "freed 1 block(s)" in err and "in s3://" in err  # the first version's block
    code, _, err = await roost("admin", "du", "--data", folder, *db)
    assert code == 1 and "keeps its blocks in s3://" in err and len(err.strip().splitlines()) == 1
    code, _, err = await roost("admin", "backup", str(tmp_path / "b"), "--data", folder,
                               "--blocks-only")  # fmt: skip
    assert code == 1 and "back up the bucket with its own tools" in err
    async with s3_live.server._services.db.reader.execute(  # type: ignore[union-attr]
        "SELECT COUNT(*) FROM blocks", ()
    ) as cur:
        assert (await cur.fetchone())[0] == 1  # the current version's block stays


async def test_a_bucket_gone_while_serving_answers_unavailable_and_loses_nothing(
    s3_live: LiveServer, tmp_path: Path
) -> None:
    laptop = await device(s3_live, tmp_path, "alice", "laptop", register=True)
    phone = await device(s3_live, tmp_path, "alice", "phone")
    services = s3_live.server._services
    assert services is not None and isinstance(services.blocks, S3BlockStore)
    store = services.blocks
    working = store._store
    try:
        laptop.write("later.bin", os.urandom(600 << 10))
        laptop.write("small.txt", "a small one")
        gone = replace(store.location, endpoint="http://127.0.0.1:9")  # nothing listens there
        store._store = open_store(gone)
        with pytest.raises(ServerError) as refused:
            await laptop.sync()
        assert refused.value.code == "unavailable"
        assert "block storage is unavailable" in str(refused.value)
        store._store = working  # the bucket is back: the next pass sends what was refused
        await laptop.sync()
        await phone.sync()
        assert phone.read("later.bin") == laptop.read("later.bin")
        assert phone.read("small.txt") == b"a small one"
    finally:
        store._store = working
        await laptop.client.close()
        await phone.client.close()


async def test_a_folder_whose_blocks_are_in_s3_refuses_to_start_without_them(
    s3_live: LiveServer, s3_bucket: str
) -> None:
    folder = s3_live.server.config.data_dir
    await s3_live.server.stop()
    code, _, err = await roost("serve", "--data", str(folder), "--port", "0")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "keeps its blocks in s3://" in err and f"start it with --blocks {s3_bucket}" in err


async def test_in_s3_a_hash_claim_grants_nothing_and_bad_bytes_store_nothing(
    s3_live: LiveServer, tmp_path: Path
) -> None:
    alice = await device(s3_live, tmp_path, "alice", "a1", register=True)
    mallory = await device(s3_live, tmp_path, "mallory", "m1", register=True)
    services = s3_live.server._services
    assert services is not None and isinstance(services.blocks, S3BlockStore)
    try:
        secret = os.urandom(100_000)
        alice.write("secret.bin", secret)
        await alice.sync()
        h = hashlib.sha256(secret).hexdigest()
        conn = await mallory.client.connect()
        thief = Transfer(conn)
        assert await thief.missing(None, [h]) == [h]  # in the bucket, but not for her
        with pytest.raises(ServerError) as refused:
            await thief.fetch_block(h)
        assert refused.value.code == "not_found"
        fake = os.urandom(300_000)  # large: its own object, verified before any claim
        with pytest.raises(ServerError) as bad:  # bytes that are not the block they claim
            await thief.put_block(hashlib.sha256(b"x").hexdigest(), fake)
        assert bad.value.code == "invalid_args"
        assert not services.blocks.has(hashlib.sha256(b"x").digest())
        await thief.put_block(h, secret)  # sending the bytes herself works, stored once
        assert await thief.missing(None, [h]) == []
        assert len([d for d, _, _ in services.blocks.digests()]) == 0  # packed, not loose
        assert services.blocks.indexed() == 1
    finally:
        await alice.client.close()
        await mallory.client.close()
