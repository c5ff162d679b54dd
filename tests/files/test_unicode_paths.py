"""One name, one file, whatever Unicode form a device writes it in; no control or
text-direction characters in a path. Through the real server and sync engine."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.errors import ClientError, ServerError
from client.files import RemoteFiles
from protocol import files as wire
from protocol.errors import RoostError
from storage.server import schema as server_schema
from storage.sqlite import SqliteDatabase
from tests.conftest import LiveServer, start_server
from tests.files.helpers import Device, device

NFC = "café.txt"
NFD = unicodedata.normalize("NFD", NFC)


def test_the_two_forms_are_different_strings() -> None:
    assert NFC != NFD and len(NFD) == len(NFC) + 1


@given(st.text(max_size=60))
def test_a_valid_path_comes_back_in_nfc_with_one_key_for_every_form(path: str) -> None:
    if wire.path_problem(path) is not None:
        return
    stored = wire.validate_path(path)
    assert stored == unicodedata.normalize("NFC", path)
    decomposed = unicodedata.normalize("NFD", path)
    assert wire.path_problem(decomposed) is None
    assert wire.path_key(decomposed) == wire.path_key(path) == wire.path_key(stored)


@pytest.mark.parametrize(
    "name",
    ["a\x9bb", "a\x85b", "a\u202etxt.exe", "a\u2066b", "a\u2069b", "a\x1b]0;x\x07", "a\x7f"],
)
def test_control_and_text_direction_characters_are_refused_in_paths(name: str) -> None:
    assert wire.path_problem(name) == "control and text-direction characters are not allowed"
    with pytest.raises(RoostError):
        wire.validate_path(f"docs/{name}")


async def test_a_file_put_in_either_form_is_one_file(a_device: Device, tmp_path: Path) -> None:
    files = RemoteFiles(a_device.client)
    local = tmp_path / "local.txt"
    local.write_text("first")
    await files.put(local, NFC)
    local.write_text("second, named in NFD")
    await files.put(local, NFD)
    listed = [r.shown for r in await files.ls(recursive=True)]
    assert listed == [NFC]
    out = tmp_path / "got.txt"
    await files.get(NFD, out)
    assert out.read_text() == "second, named in NFD"


async def test_a_raw_commit_in_nfd_lands_on_the_nfc_file(a_device: Device) -> None:
    """A client that does not normalise (an older one, or a hostile one) makes no twin."""
    a_device.write(NFC, "synced")
    await a_device.sync()
    files = RemoteFiles(a_device.client)
    home = (await files.locate("")).namespace.id
    done: wire.CommitResult = await a_device.client.call(
        "files.commit", wire.Commit(home, [wire.CommitItem(NFD, None, wire.Kind.FILE)])
    )
    [outcome] = done.outcomes
    assert outcome.entry is None and outcome.code == "conflict"
    assert [r.shown for r in await files.ls(recursive=True)] == [NFC]


async def test_a_name_with_a_control_character_is_refused_by_the_server(
    a_device: Device,
) -> None:
    files = RemoteFiles(a_device.client)
    home = (await files.locate("")).namespace.id
    done: wire.CommitResult = await a_device.client.call(
        "files.commit",
        wire.Commit(home, [wire.CommitItem("evil\u202etxt.sh", None, wire.Kind.DIR)]),
    )
    [outcome] = done.outcomes
    assert outcome.code == "invalid_args"
    assert "control and text-direction characters" in (outcome.message or "")
    with pytest.raises(ServerError, match="control and text-direction characters"):
        await a_device.client.call("files.history", wire.History(home, "a\x9bb"))
    with pytest.raises(ClientError, match="control and text-direction characters"):
        await files.locate("a\x1b[2Jb")


async def test_a_file_named_in_nfd_on_disk_syncs_as_one_nfc_file(
    pair: tuple[Device, Device],
) -> None:
    laptop, desktop = pair
    laptop.write(f"Docs/{NFD}", "from a macOS disk")
    report = await laptop.sync()
    assert report.skipped == []
    assert laptop.listing() == ["Docs", f"Docs/{NFC}"]  # renamed to NFC, as Syncthing does
    await desktop.sync()
    assert desktop.listing() == ["Docs", f"Docs/{NFC}"]
    assert desktop.read(f"Docs/{NFC}") == b"from a macOS disk"
    await laptop.sync()
    assert laptop.listing() == ["Docs", f"Docs/{NFC}"]


async def test_both_forms_on_one_disk_keep_the_second_local_and_say_why(
    pair: tuple[Device, Device],
) -> None:
    laptop, desktop = pair
    laptop.write(NFC, "composed")
    laptop.write(NFD, "decomposed")
    report = await laptop.sync()
    assert report.skipped == [
        (NFD, f"{NFC!r} is here too, the same name in another Unicode form: rename one")
    ]
    assert laptop.read(NFD) == b"decomposed"  # nothing lost
    await desktop.sync()
    assert desktop.listing() == [NFC]
    assert desktop.read(NFC) == b"composed"


async def test_paths_stored_before_are_nfc_without_controls_after_the_upgrade(
    tmp_path: Path,
) -> None:
    """A server database written before paths were normalised: the migration renames a path
    stored in NFD, or holding a refused character, in place (its history with it) unless the
    new name is taken, and keys match across forms from then on."""
    before = [m for m in server_schema.MIGRATIONS if m.version < 7]
    db = await SqliteDatabase(tmp_path / "roost.db", before).open()
    await db.close()
    raw = sqlite3.connect(tmp_path / "roost.db")
    raw.executescript(
        "INSERT INTO users VALUES (1, 'alice', 'x', 0);"
        "INSERT INTO namespaces VALUES (10, 'home', 1, '', 5, 0);"
    )
    rows = [
        (1, "ok.txt"), (2, NFD), (3, "twin-" + NFC), (4, "twin-" + NFD),
        (5, "evil\x9b\u202etxt.sh"),
    ]  # fmt: skip
    for vid, path in rows:
        raw.execute(
            "INSERT INTO file_versions VALUES (?, 10, ?, ?, 'file', 0, 0, 0, NULL, 1, 'pc', 0)",
            (vid, path, vid),
        )
        raw.execute(
            "INSERT INTO files_current VALUES (10, ?, ?, ?, ?, 0)",
            (path, path.casefold(), vid, vid),
        )
    raw.commit()
    raw.close()
    server = await start_server(tmp_path)
    await server.stop()
    raw = sqlite3.connect(tmp_path / "roost.db")
    current = dict(raw.execute("SELECT path, path_key FROM files_current ORDER BY version_id"))
    versions = [p for (p,) in raw.execute("SELECT path FROM file_versions ORDER BY id")]
    raw.close()
    assert list(current) == ["ok.txt", NFC, "twin-" + NFC, "twin-" + NFD, "evil__txt.sh"]
    assert versions == list(current)
    assert current["twin-" + NFD] == current["twin-" + NFC] == wire.path_key("twin-" + NFC)


@pytest.fixture
async def a_device(live: LiveServer, tmp_path: Path) -> AsyncIterator[Device]:
    found = await device(live, tmp_path, "alice", "laptop", register=True)
    yield found
    await found.client.close()
