"""The plain rules of `roost export`: archive names, where a namespace's files go, and a
modification time a zip entry can hold."""

from __future__ import annotations

import posixpath
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from client.export import archive_name, attachment_path, member_path, zip_time
from protocol.files import Namespace


def _ns(kind: str, name: str) -> Namespace:
    return Namespace(id="1", name=name, kind=kind, role="owner", owner="alice", seq=0)


def test_names() -> None:
    assert archive_name("alice", datetime(2026, 12, 4, 9, 5, 7)) == (
        "roost-export-alice-20261204-090507.zip"
    )
    assert member_path(_ns("home", ""), "a/b.txt") == "roost-export/files/home/a/b.txt"
    assert member_path(_ns("shared", "team (from bob)"), "plan.txt") == (
        "roost-export/files/shared/team (from bob)/plan.txt"
    )


@given(st.text(min_size=1, max_size=80))
def test_an_attachment_never_lands_outside_its_folder(name: str) -> None:
    """Whatever name an attachment was given (`../../.bashrc`), unpacking the archive puts
    it in its own folder, under one plain name."""
    path = attachment_path("42", name)
    folder, last = posixpath.split(path)
    assert folder == "roost-export/attachments/42"
    assert last not in ("", ".", "..") and not last.startswith(".") and "\\" not in last
    assert posixpath.normpath(path) == path


def test_an_attachment_keeps_a_plain_name() -> None:
    assert attachment_path("7", "hive photo.jpg") == "roost-export/attachments/7/hive photo.jpg"
    assert attachment_path("7", "../../.bashrc") == "roost-export/attachments/7/bashrc"


@given(st.integers(min_value=-(1 << 62), max_value=1 << 62))
def test_any_time_fits_a_zip_entry(mtime_ms: int) -> None:
    year, month, day, hour, minute, second = zip_time(mtime_ms)
    assert 1980 <= year <= 2107 and 1 <= month <= 12 and 1 <= day <= 31
    assert 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60
