"""Two devices of one user, through the real server: first sync, edit, delete, rename, empty."""

from __future__ import annotations

import os

from tests.files.helpers import Device


async def test_first_sync_edit_delete_rename_and_empties(pair: tuple[Device, Device]) -> None:
    a, b = pair
    big = os.urandom(3 << 20)
    a.write("notes/hello.txt", "hello")
    a.write("photos/big.bin", big)
    a.write("empty.txt", b"")
    (a.root / "empty-folder").mkdir(parents=True)
    await a.sync()
    await b.sync()
    assert b.read("notes/hello.txt") == b"hello"
    assert b.read("photos/big.bin") == big
    assert b.read("empty.txt") == b""
    assert (b.root / "empty-folder").is_dir()

    b.write("notes/hello.txt", "hello again")
    await b.sync()
    await a.sync()
    assert a.read("notes/hello.txt") == b"hello again"

    sent_before = a.sent
    os.rename(a.root / "photos/big.bin", a.root / "photos/moved.bin")
    (a.root / "notes/hello.txt").unlink()
    await a.sync()
    assert a.sent == sent_before  # the rename re-used every block: no bytes moved
    await b.sync()
    assert not (b.root / "notes/hello.txt").exists()
    assert not (b.root / "photos/big.bin").exists()
    assert b.read("photos/moved.bin") == big
    assert a.listing() == b.listing()
