"""Running a command's async body with a client, and reporting what the outbox replay did."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cli import output
from client.core import RoostClient
from client.home import ClientHome

T = TypeVar("T")


def with_client(body: Callable[[RoostClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with RoostClient(ClientHome.from_env()) as client:
            try:
                return await body(client)
            finally:
                report_replay(client)

    return asyncio.run(main())


def report_replay(client: RoostClient) -> None:
    report = client.last_replay
    if report is None:
        return
    if report.sent:
        output.note(f"sent {len(report.sent)} queued write(s)")
    for entry, error in report.failed:
        output.note(
            f"queued {entry.op} #{entry.seq} was refused: {error.message} (see roost outbox)"
        )
