"""Devices for file tests: a logged-in RoostClient per (user, device) with its own home and
workspace folder, synced through the real server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

from client.core import RoostClient
from client.files import RemoteFiles
from client.home import Account, ClientHome
from client.sync.engine import PassReport, SyncEngine
from client.sync.ignore import MARKER
from protocol import files as wire
from tests.conftest import LiveServer
from tests.helpers import SECOND, Home, roost_command


class ProcessServer(LiveServer):
    """LiveServer's protocol helpers (register, login, connect), for a `roost serve` child
    process at `url`."""

    def __init__(self, url: str) -> None:
        self.url = url


class Device:
    def __init__(self, client: RoostClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.engine = SyncEngine(client, root)

    @property
    def username(self) -> str:
        return self.client.home.require_account().username

    async def sync(self) -> PassReport:
        return await self.engine.run_once()

    @property
    def sent(self) -> int:
        t = self.engine.transfer
        return t.counters.blocks_sent if t else 0

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def listing(self) -> list[str]:
        """Every path in the workspace but its marker file."""
        out = []
        for dirpath, dirs, files in os.walk(self.root):
            for name in dirs + files:
                out.append(str((Path(dirpath) / name).relative_to(self.root)))
        return sorted(p for p in out if p != MARKER)


async def share_with(owner: Device, folder: str, member: Device, role: str) -> wire.ShareInfo:
    """The owner invites the member, who accepts: the share as the member now sees it."""
    await RemoteFiles(owner.client).share(folder, member.username, role)
    [invitation] = [
        i for i in await RemoteFiles(member.client).invitations() if i.owner == owner.username
    ]
    return await RemoteFiles(member.client).accept(invitation.id)


async def device(
    live: LiveServer, tmp: Path, user: str, name: str, *, register: bool = False
) -> Device:
    session = await (live.register(user, name) if register else live.login(user, name))
    home = ClientHome(tmp / "homes" / f"{user}-{name}")
    home.save(
        Account(live.url, session.user_id, session.username, session.device_id, name),
        session.token,
    )
    client = RoostClient(home, open_timeout=2.0)
    await client.__aenter__()
    return Device(client, tmp / "ws" / f"{user}-{name}")


class Watcher:
    """`roost sync DIR` left running, as in another terminal; its stderr read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, home: Home, ws: Path) -> Watcher:
        """Once it says it syncs (so it holds the lock). Kill it when done."""
        proc = await asyncio.create_subprocess_exec(
            *roost_command(), "sync", str(ws),
            env=home.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        watcher = cls(proc)
        try:
            await watcher.wait_for("Ctrl-C to stop")
        except BaseException:
            await watcher.kill()
            raise
        return watcher

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def wait_for(self, text: str) -> None:
        assert self.proc.stderr is not None
        async with asyncio.timeout(30 * SECOND):
            while not any(text in line for line in self.lines):
                line = (await self.proc.stderr.readline()).decode()
                if not line:
                    raise AssertionError(f"roost sync exited: {''.join(self.lines)}")
                self.lines.append(line)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of ours runs, as when a sync is killed."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
