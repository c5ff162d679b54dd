"""A client home is its owner's alone: other local users cannot read cached messages or the
token. New homes are made private, and homes an older Roost made 0755 are fixed on start."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from client.home import ClientHome
from tests.helpers import Home, ServerProcess


def modes(folder: Path) -> dict[str, int]:
    return {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in [folder, *folder.iterdir()]
        if not p.name.endswith(".tmp")
    }


async def test_a_new_home_and_everything_in_it_is_private(
    alice_and_bob_cli: tuple[Home, Home], tmp_path: Path
) -> None:
    alice, bob = alice_and_bob_cli
    await bob.ok("chat", "send", "@alice", "the door code is 4711")
    await alice.ok("chat", "history", "@bob")
    found = modes(alice.path)
    assert found.pop(alice.path.name) == 0o700
    assert {"config.json", "token", "client.db"} <= set(found)
    assert all(mode == 0o600 for mode in found.values()), found


async def test_a_home_an_older_roost_left_readable_is_fixed_on_start(
    server_process: ServerProcess, make_home: Callable[[str, str], Home]
) -> None:
    alice = make_home("alice", server_process.url)
    await alice.register("alice")
    await alice.ok("timeline")
    os.chmod(alice.path, 0o755)
    for p in alice.path.iterdir():
        os.chmod(p, 0o644)
    await alice.ok("whoami")
    found = modes(alice.path)
    assert found.pop(alice.path.name) == 0o700
    assert all(mode == 0o600 for mode in found.values()), found


def test_a_shared_folder_named_as_home_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    ClientHome(shared).make_private()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "client.db").stat().st_mode) == 0o600
