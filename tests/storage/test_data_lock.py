"""The data folder's lock: one holder at a time, named in the refusal, free again once let go."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.server.data_lock import (
    SERVE_LOCK,
    DataFolderInUse,
    data_folder_unused,
    lock_data_folder,
)


def test_one_holder_at_a_time_and_free_again_after(tmp_path: Path) -> None:
    held = lock_data_folder(tmp_path)
    with pytest.raises(DataFolderInUse) as refused:
        lock_data_folder(tmp_path)
    assert str(refused.value) == f"another roost serve is using {tmp_path} (pid {os.getpid()})"
    held.release()
    held.release()  # twice is harmless
    lock_data_folder(tmp_path).release()


def test_a_restore_holds_the_folder_against_a_server_and_says_so(tmp_path: Path) -> None:
    with data_folder_unused(tmp_path, holder="roost admin restore", doing="restoring into it"):
        with pytest.raises(DataFolderInUse) as refused:
            lock_data_folder(tmp_path)
    assert str(refused.value) == (f"roost admin restore is using {tmp_path} (pid {os.getpid()})")
    server = lock_data_folder(tmp_path)
    with pytest.raises(DataFolderInUse) as refused:
        with data_folder_unused(tmp_path, holder="roost admin restore", doing="restoring into it"):
            pytest.fail("ran under a server")
    assert str(refused.value).endswith(": stop it before restoring into it")
    server.release()


def test_a_lock_file_that_names_no_one_still_refuses(tmp_path: Path) -> None:
    held = lock_data_folder(tmp_path)
    (tmp_path / SERVE_LOCK).write_bytes(b"\xff garbage")
    with pytest.raises(DataFolderInUse) as refused:
        lock_data_folder(tmp_path)
    assert str(refused.value) == f"another roost serve is using {tmp_path}"
    held.release()


def test_a_folder_that_does_not_exist_yet_needs_no_lock(tmp_path: Path) -> None:
    with data_folder_unused(tmp_path / "new", holder="roost admin restore", doing="it"):
        pass
    assert not (tmp_path / "new").exists()
