"""The server's timer that indexes chat messages for search shortly after they are committed
(the chat commit only queues them: storage/server/search.py, `index_waiting_messages`)."""

from __future__ import annotations

import asyncio
import logging

from storage.database import Database
from storage.server.search import SearchRepository

log = logging.getLogger("roost.server")

INDEX_EVERY = 1.0  # seconds: what waits is a second of messages, indexed in a few ms


async def index_messages_forever(db: Database, every: float = INDEX_EVERY) -> None:
    """Index what waits now (messages a server that stopped had queued), then every `every`
    seconds, until cancelled. A failed pass is logged and tried again at the next."""
    search = SearchRepository(db)
    while True:
        try:
            await search.index_waiting_messages()
        except Exception:
            log.exception("could not index new messages for search")
        await asyncio.sleep(every)
