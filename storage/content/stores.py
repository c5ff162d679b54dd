"""Where a server's blocks live: the data folder (DATA/blocks), unless `--blocks s3://…` names
a bucket. Like storage/engines.py for the database."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from storage.content.blocks import Claim, LocalBlockStore
from storage.content.s3_blocks import S3BlockStore
from storage.content.s3_location import BadLocation, parse_s3_url
from storage.database import Database, now_ms
from storage.errors import StorageError

BlockStores = LocalBlockStore | S3BlockStore
log = logging.getLogger("roost.server")


def block_store(url: str | None, data_dir: Path) -> BlockStores:
    """The store the URL names (None: the data folder's). BadLocation if it cannot be one;
    an S3 store is not contacted yet (see `S3BlockStore.check`)."""
    if url is None:
        return LocalBlockStore(data_dir / "blocks")
    return S3BlockStore(parse_s3_url(url))


def where(url: str | None, data_dir: Path) -> str:
    """Where the blocks are, for a person: never a credential."""
    if url is None:
        return str(data_dir / "blocks")
    try:
        return parse_s3_url(url).describe()
    except BadLocation:
        return url


MARKER = "blocks-location"  # in the data folder: where its server keeps blocks, if not here


def record_location(data_dir: Path, url: str | None) -> None:
    """Called by `roost serve` once it holds the folder, so the admin commands that work on
    the folder's blocks (gc, du, backup) know they are in a bucket, not in DATA/blocks."""
    marker = data_dir / MARKER
    if url is None:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text(url + "\n")


def recorded_location(data_dir: Path) -> str | None:
    """The --blocks URL the folder's server last ran with, or None (DATA/blocks)."""
    try:
        return (data_dir / MARKER).read_text().strip() or None
    except FileNotFoundError:
        return None


def refuse_a_forgotten_bucket(data_dir: Path, url: str | None) -> None:
    """Without --blocks, a folder whose server kept its blocks in a bucket would quietly serve
    an empty DATA/blocks: refuse in one line, saying what to run."""
    if url is None and (bucket := recorded_location(data_dir)) is not None:
        raise StorageError(
            f"the server on {data_dir} keeps its blocks in {where(bucket, data_dir)}: start it"
            f" with --blocks {bucket} (to keep blocks in this folder instead, remove"
            f" {data_dir / MARKER})"
        )


async def open_blocks(url: str | None, data_dir: Path) -> BlockStores:
    """The server's block store, ready to serve: a bucket answered (S3Unreachable in one
    line otherwise); a folder swept of temp files an interrupted write left."""
    refuse_a_forgotten_bucket(data_dir, url)
    store = block_store(url, data_dir)
    if isinstance(store, S3BlockStore):
        folder = data_dir / "blocks"
        if folder.is_dir() and any(folder.iterdir()):
            log.warning(
                "%s holds blocks this server does not serve (its blocks are in %s): copy them"
                " into the bucket (docs/OPERATIONS.md, Blocks in S3), then remove the folder",
                folder, store.describe(),
            )  # fmt: skip
        await asyncio.to_thread(store.check)
        log.info("blocks in %s (%d packed blocks indexed)", store.describe(), store.indexed())
    elif swept := await asyncio.to_thread(store.sweep_temp_files):
        log.info("removed %d block temp files left by an interrupted write", swept)
    record_location(data_dir, url)
    return store


def block_claims(store: BlockStores, db: Database) -> Claim | None:
    """What BlockWriter commits before storing, for a store that needs it (S3)."""
    if not getattr(store, "needs_claims", False):
        return None

    async def claim(blocks: list[tuple[bytes, int, int]]) -> None:
        from storage.server.space import claim_blocks  # storage.server imports this module

        await claim_blocks(db, blocks, now_ms())

    return claim
