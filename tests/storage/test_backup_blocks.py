"""Copying the block folder into a backup: every block, nothing in flight, bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from storage.server.backup import _copy_blocks


def test_the_block_copy_skips_writes_in_flight_and_holds_no_list_of_the_files(
    tmp_path: Path,
) -> None:
    source, target = tmp_path / "blocks", tmp_path / "backup"
    for i in range(3000):
        folder = source / f"{i % 256:02x}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:060x}").write_bytes(b"block %d" % i)
    (source / "packs").mkdir()
    (source / "packs" / "1.pack").write_bytes(b"pack")
    (source / "packs" / ".2.pack.tmp").write_bytes(b"half a pack")  # being written
    tracemalloc.start()
    try:
        assert _copy_blocks(source, target) == 3001
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200_000, f"{peak:,} bytes held at once for 3,000 files"
    assert (target / "0b" / f"{11:060x}").read_bytes() == b"block 11"
    assert (target / "packs" / "1.pack").read_bytes() == b"pack"
    assert not (target / "packs" / ".2.pack.tmp").exists()
    assert _copy_blocks(source, target) == 3001  # again: already there, counted, not copied
