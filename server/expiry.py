"""The server's timer for storage.server.expiry: every few minutes, forget the uploads and staged
lists that waited too long for a commit and the idempotency keys past their age."""

from __future__ import annotations

import asyncio
import logging

from server.config import Limits
from storage.database import Database, now_ms
from storage.server.expiry import Ages, expire

log = logging.getLogger("roost.server")


async def expire_forever(db: Database, limits: Limits, every: float) -> None:
    """One pass now (a server that was down catches up), then one every `every` seconds,
    until cancelled. A failed pass is logged and tried again at the next."""
    ages = Ages(limits.upload_age_ms, limits.idempotency_age_ms)
    while True:
        try:
            done = await expire(db, now_ms(), ages)
        except Exception:
            log.exception("could not forget expired uploads and keys")
        else:
            if done:
                log.info(
                    "forgot %d upload(s) and %d staged block(s) never committed,"
                    " %d idempotency key(s) past their age",
                    done.uploads, done.staged, done.idempotency_keys,
                )  # fmt: skip
        await asyncio.sleep(every)
