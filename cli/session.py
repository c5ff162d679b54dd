"""Running a command's async body with a client, and reporting what the outbox replay did."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec

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
        output.note(f"sent {output.count(len(report.sent), 'queued write')}")
    for entry, error in report.failed:
        from client.error_wording import plain_message
        from client.write_wording import describe_write

        args = msgspec.json.decode(entry.args)
        what = describe_write(entry.op, args if isinstance(args, dict) else {})
        output.note(
            f"queued #{entry.seq} ({what}) was refused: {plain_message(error.message)}"
            " (see roost outbox)"
        )
