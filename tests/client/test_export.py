"""The exporter against a real server, pages of two at a time: every post, message and version
arrives once and in order, whatever the page boundaries; a namespace the caller is not in is
refused as missing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from client.chat import ChatClient
from client.errors import ServerError
from client.export import ROOT, Exporter
from client.files import RemoteFiles
from client.social import Social
from protocol import export as wire
from tests.conftest import LiveServer
from tests.files.helpers import device


async def test_every_page_is_exported_once_and_in_order(live: LiveServer, tmp_path: Path) -> None:
    ann = await device(live, tmp_path, "ann", "a1", register=True)
    ben = await device(live, tmp_path, "ben", "b1", register=True)
    try:
        social = Social(ann.client)
        posted = [(await social.post(f"post {i}")).result for i in range(5)]
        chat, theirs = ChatClient(ann.client), ChatClient(ben.client)
        for i in range(3):
            await chat.send("@ben", f"ann {i}")
            await theirs.send("@ann", f"ben {i}")
        notes = tmp_path / "notes.txt"
        remote = RemoteFiles(ann.client)
        for i in range(5):
            notes.write_text(f"draft {i}")
            await remote.put(notes, "notes.txt")

        archive = tmp_path / "ann.zip"
        summary = await Exporter(ann.client, page=2).write(archive)
        assert (summary.posts, summary.messages, summary.versions, summary.files) == (5, 6, 5, 1)
        with zipfile.ZipFile(archive) as z:
            posts = json.loads(z.read(f"{ROOT}/posts.json"))
            [talk] = json.loads(z.read(f"{ROOT}/messages.json"))
            [home] = json.loads(z.read(f"{ROOT}/files.json"))
            assert z.read(f"{ROOT}/files/home/notes.txt") == b"draft 4"
        assert [p["id"] for p in posts] == [p.id for p in posted if p is not None]
        assert [m["seq"] for m in talk["messages"]] == list(range(1, 7))
        assert [m["text"] for m in talk["messages"]][:2] == ["ann 0", "ben 0"]
        assert [v["size"] for v in home["versions"]] == [7] * 5
        assert len({v["version_id"] for v in home["versions"]}) == 5

        [bens_home] = await RemoteFiles(ben.client).namespaces()
        with pytest.raises(ServerError) as refused:
            await ann.client.call("export.versions", wire.ExportVersions(bens_home.id))
        assert refused.value.code == "not_found"
    finally:
        await ann.client.close()
        await ben.client.close()
