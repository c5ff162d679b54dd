"""How the Messages screen looks, at 120x40 and 80x24, painted from a fixed client cache.

Update with `python -m pytest tests/tui/test_snapshots_messages.py --snapshot-update`, and
look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.pilot import Pilot

from client.chat import CONVERSATIONS_CACHE, ChatClient
from client.core import RoostClient
from client.home import ClientHome
from protocol import chat as wire
from tests.tui.test_snapshots import SIZES, cached_home, settle
from tui.app import RoostApp

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def chat_home(path: Path) -> ClientHome:
    """alice's cached home, with three conversations and a morning of messages with bob."""
    home = cached_home(path)
    conversations = [
        wire.Conversation("501", "direct", "bob", ["alice", "bob"], 6, 4, 2),
        wire.Conversation("502", "group", "Allotment", ["alice", "carol", "dan"], 3, 3, 0),
        wire.Conversation("503", "direct", "carol", ["alice", "carol"], 1, 1, 0),
    ]
    lines = [
        ("bob", "Morning! Are you at the allotment today?"),
        ("alice", "Yes, from ten. The bees are busy already."),
        ("bob", "Could you check the second hive? The queen was slow last week."),
        ("alice", "Will do, and I will bring the spare frames."),
        ("bob", "Great, thanks."),
        ("bob", "Also: swarm season. Keep an eye on the apple tree."),
    ]
    messages = [
        wire.Message("501", seq, who, text, AT + timedelta(minutes=7 * seq))
        for seq, (who, text) in enumerate(lines, start=1)
    ]
    group = [
        wire.Message("502", 1, "carol", "Allotment", AT, kind="created"),
        wire.Message("502", 2, "carol", "Seeds swap on Saturday?", AT),
        wire.Message("502", 3, "alice", "Count me in.", AT),
    ]
    receipts = [
        wire.Receipt("501", "bob", 4, 2, "9001"),
        wire.Receipt("501", "alice", 4, 4, "9002"),
    ]

    async def fill() -> None:
        async with RoostClient(home) as client:
            chat = ChatClient(client)
            await client.cache.put(*CONVERSATIONS_CACHE, msgspec.json.encode(conversations))
            for m in messages + group:
                await chat.kept_sent(m, "@bob" if m.conversation == "501" else m.conversation)
            await chat.keep_receipts(receipts)

    asyncio.run(fill())
    return home


def opening_messages(*keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f6")
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_conversation_list(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(chat_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=opening_messages())


@pytest.mark.parametrize("size", SIZES)
def test_open_conversation(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    app = RoostApp(chat_home(tmp_path / "h"), connect=False)
    assert snap_compare(app, terminal_size=size, run_before=opening_messages("enter"))
