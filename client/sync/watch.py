"""Live sync: after the start-up pass, run a pass whenever watchfiles reports a local change
(debounced), the server announces a change to one of our namespaces, or a poll interval passes
(the journal cursor catches anything an event missed, e.g. while disconnected)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import watchfiles

from client.backoff import Backoff
from client.errors import Unreachable
from client.event_bus import EventStream
from client.events import FileIncoming, FilesChanged, ShareInvitationChanged, ShareMembershipChanged
from client.sync.engine import PassReport, SyncEngine
from client.sync.ignore import TEMP_PREFIX

log = logging.getLogger("roost.sync")

DEBOUNCE_MS = 300
POLL_SECONDS = 30.0


async def run_forever(
    engine: SyncEngine,
    stop: asyncio.Event,
    on_report: Callable[[PassReport], None] | None = None,
    on_offline: Callable[[str, float], None] | None = None,
    wake: asyncio.Event | None = None,
) -> None:
    """Sync until `stop`, holding the sync lock all along (`SyncBusy` when another engine has
    it). A caller that already hears the client's events (the TUI) passes its own `wake` and
    sets it on file events; otherwise this listens to `client.events()` itself."""
    async with engine.running(watching=True):
        await _run(engine, stop, on_report, on_offline, wake)


async def _run(
    engine: SyncEngine,
    stop: asyncio.Event,
    on_report: Callable[[PassReport], None] | None,
    on_offline: Callable[[str, float], None] | None,
    wake: asyncio.Event | None,
) -> None:
    listen = wake is None
    wake = wake or asyncio.Event()
    wake.set()
    watcher = asyncio.create_task(_watch_disk(engine, stop, wake))
    # Opened before the first pass connects, so no announcement is missed; it follows the
    # client across reconnects.
    # Files on their way from other devices are heard here in either case.
    listener = asyncio.create_task(_listen(engine, wake if listen else None))
    backoff = Backoff()
    try:
        while not stop.is_set():
            wake.clear()
            try:
                report = await _pass_unless_stopped(engine, stop)
                if report is None:
                    return
                backoff.reset()
            except Unreachable as exc:
                delay = backoff.next_delay()
                if on_offline:
                    on_offline(str(exc), delay)
                if listen:
                    await _sleep_or(stop, delay)
                else:  # the caller wakes us when its connection is back
                    wake.clear()
                    await _wait_any(stop, wake, delay)
                wake.set()
                continue
            if on_report:
                on_report(report)
            await _wait_any(stop, wake, POLL_SECONDS)
    finally:
        watcher.cancel()
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _pass_unless_stopped(engine: SyncEngine, stop: asyncio.Event) -> PassReport | None:
    """One pass, cancelled as soon as `stop` is set (Ctrl-C must not wait for a large
    download to finish; the download keeps what it fetched, `client.sync.partial`): None
    then."""
    running = asyncio.create_task(engine.run_once())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([running, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running  # its cleanup: the partial download kept, the lock released
    return running.result() if not running.cancelled() else None


async def _watch_disk(engine: SyncEngine, stop: asyncio.Event, wake: asyncio.Event) -> None:
    async for changes in watchfiles.awatch(
        engine.root, stop_event=stop, debounce=DEBOUNCE_MS, recursive=True
    ):
        if any(_counts(engine, path) for _, path in changes):
            wake.set()


def _counts(engine: SyncEngine, path: str) -> bool:
    """Whether a change on disk may matter to a pass: not the engine's own temp files, nor
    one the ignore rules leave alone (a browser writing its .crdownload wakes nothing), but
    a rule file's (a rule taken out sends what it kept back)."""
    if TEMP_PREFIX in path:
        return False
    try:
        rel = Path(path).relative_to(engine.root).as_posix()
    except ValueError:
        return True
    return rel == "." or engine.ignore.is_rule_file(rel) or not engine.ignore.ignored(rel)


async def _listen(engine: SyncEngine, wake: asyncio.Event | None) -> None:
    stream: EventStream = engine.client.events()
    async with stream:
        async for event in stream:
            if isinstance(event, FileIncoming):
                engine.on_incoming(event.incoming)
            elif wake is not None and isinstance(
                event, FilesChanged | ShareMembershipChanged | ShareInvitationChanged
            ):
                wake.set()


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _sleep_or(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
