"""The server's timer that indexes chat messages and file names for search shortly after they
are committed (commits only queue them: storage/server/search.py, `index_waiting_messages`
and `index_waiting_files`)."""

from __future__ import annotations

import asyncio
import logging

from storage.database import Database
from storage.server.search import search_repository

log = logging.getLogger("roost.server")

INDEX_EVERY = 1.0  # seconds: what waits is about a second of commits


async def index_for_search_forever(db: Database, every: float = INDEX_EVERY) -> None:
    """Index what waits now (what a server that stopped had queued), then every `every`
    seconds, until cancelled. A failed pass is logged and tried again at the next."""
    search = search_repository(db)
    while True:
        try:
            await search.index_waiting_messages()
            await search.index_waiting_files()
        except Exception:
            log.exception("could not index new messages or file names for search")
        await asyncio.sleep(every)
