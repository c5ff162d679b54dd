"""The ignore rules as plain logic, without a server: a workspace's own `.roostignore`, a
shared folder's at its root, the defaults, and how the three combine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.sync.ignore import (
    IGNORE_FILE,
    MAX_RULES,
    MAX_RULES_BYTES,
    Ignore,
    parse_rules,
)


def workspace(root: Path, own: str | None = None, **shared: str) -> Ignore:
    """A workspace with its own rules and shares mounted at `shared`'s keys, with their rules
    (`Team="*.log"`: `root/Team/.roostignore`)."""
    if own is not None:
        (root / IGNORE_FILE).write_text(own)
    for folder, rules in shared.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / IGNORE_FILE).write_text(rules)
    ignore = Ignore(root, workspace=True)
    ignore.shares = set(shared)
    return ignore


def test_a_shared_folders_rules_apply_inside_it_relative_to_it(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, Team="*.log\n/build/\ncache/\n")
    assert ignore.ignored("Team/x.log") and ignore.ignored("Team/deep/er/x.log")
    assert ignore.ignored("Team/build", is_dir=True) and ignore.ignored("Team/build/out.o")
    assert not ignore.ignored("Team/src/build", is_dir=True)  # anchored at the share's root
    assert ignore.ignored("Team/src/cache/x.bin")
    # Nowhere else: not at the top, not in the home's folders, not in another share.
    assert not ignore.ignored("x.log") and not ignore.ignored("build", is_dir=True)
    assert not ignore.ignored("Other/x.log") and not ignore.ignored("Team.log")
    assert not ignore.ignored("Team", is_dir=True)


def test_a_share_mounted_aside_reads_its_rules_from_where_it_is(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, **{"Team (from alice)": "*.log\n"})
    (tmp_path / "Team").mkdir()
    (tmp_path / "Team" / IGNORE_FILE).write_text("*.txt\n")  # my own folder: not rules
    assert ignore.ignored("Team (from alice)/x.log")
    assert not ignore.ignored("Team/x.log") and not ignore.ignored("Team/a.txt")


def test_the_workspaces_own_rule_file_stays_local_and_applies_everywhere(
    tmp_path: Path,
) -> None:
    ignore = workspace(tmp_path, "*.bak\n", Team="")
    assert ignore.ignored(IGNORE_FILE) and ignore.ignored(".RoostIgnore")
    assert ignore.ignored("a.bak") and ignore.ignored("Team/a.bak")
    assert not ignore.ignored("Team/.roostignore")  # the share's own file syncs
    assert not ignore.ignored("docs/.roostignore")  # an ordinary file anywhere else
    # A folder that is no workspace (roost files put) sends its rule file like any file.
    assert not Ignore(tmp_path).ignored(IGNORE_FILE)
    assert Ignore(tmp_path).ignored("a.bak")


def test_a_shares_rule_file_always_syncs_whatever_the_rules_say(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, ".roost*\n", Team="*\n")
    assert ignore.ignored("Team/anything.txt")
    assert not ignore.ignored("Team/.roostignore")
    # ... unless the whole folder is kept off this device.
    ignore = workspace(tmp_path, "Team/\n", Team="")
    assert ignore.ignored("Team/.roostignore")


def test_the_devices_own_rules_have_the_last_word(tmp_path: Path) -> None:
    """A share's negation never makes a device send what its own file keeps back."""
    ignore = workspace(tmp_path, "secret/\n*.iso\n!keep.log\n", Team="!secret/\n!*.iso\n*.log\n")
    assert ignore.ignored("Team/secret", is_dir=True) and ignore.ignored("Team/secret/a.txt")
    assert ignore.ignored("Team/disk.iso")
    assert ignore.ignored("Team/x.log") and not ignore.ignored("Team/keep.log")


def test_a_share_may_undo_a_default(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, Team="!*.part\n")
    assert not ignore.ignored("Team/film.mkv.part")
    assert ignore.ignored("film.mkv.part") and ignore.ignored("Team/draft.tmp")


def test_nothing_inside_an_ignored_folder_is_taken_back(tmp_path: Path) -> None:
    """As in git: else a scan skips the folder while the plan fetches (then deletes) a file
    the server has in it."""
    ignore = workspace(tmp_path, "build/\n!*.c\n", Team="gen/\n")
    assert ignore.ignored("build", is_dir=True) and ignore.ignored("build/x.c")
    assert not ignore.ignored("src/x.c")
    (tmp_path / IGNORE_FILE).write_text("!*.c\n")
    ignore = workspace(tmp_path, None, Team="gen/\n")
    assert ignore.ignored("Team/gen/x.c")


def test_rules_reload_when_either_file_changes(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, "", Team="*.log\n")
    assert ignore.ignored("Team/x.log")
    (tmp_path / "Team" / IGNORE_FILE).write_text("")
    ignore.reload()
    assert not ignore.ignored("Team/x.log")
    (tmp_path / IGNORE_FILE).write_text("*.log\n")
    ignore.reload()
    assert ignore.ignored("Team/x.log") and ignore.ignored("x.log")
    (tmp_path / IGNORE_FILE).unlink()
    (tmp_path / "Team" / IGNORE_FILE).unlink()
    ignore.reload()
    assert not ignore.ignored("x.log") and ignore.problems == []


def test_a_new_share_reads_its_rules_at_once_and_a_gone_one_stops(tmp_path: Path) -> None:
    ignore = workspace(tmp_path)
    (tmp_path / "Team").mkdir()
    (tmp_path / "Team" / IGNORE_FILE).write_text("*.log\n")
    assert not ignore.ignored("Team/x.log")
    ignore.shares = {"Team"}
    assert ignore.ignored("Team/x.log") and ignore.is_rule_file("Team/.roostignore")
    ignore.shares = set()
    assert not ignore.ignored("Team/x.log") and not ignore.is_rule_file("Team/.roostignore")


def test_a_bad_line_is_skipped_and_said_the_others_apply(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, "!\n*.bak\n", Team="# notes\n\x1b\\\n!\n*.log\n!\n")
    assert ignore.ignored("Team/x.log") and ignore.ignored("x.bak")
    own, shared = ignore.problems
    assert own == (
        ".roostignore line 1: '!' is not a gitignore pattern: skipped, the other rules apply"
    )
    assert shared == (
        "Team/.roostignore line 2: '\\x1b\\\\' is not a gitignore pattern (and 2 more): skipped,"
        " the other rules apply"
    )
    assert "\x1b" not in "".join(ignore.problems)  # another member's bytes, never raw


def test_an_unusable_shared_rule_file_is_a_warning_never_a_crash(tmp_path: Path) -> None:
    ignore = workspace(tmp_path, Team="", Big="", Many="", Folder="", Loop="", Pipe="")
    (tmp_path / "Big" / IGNORE_FILE).write_text("*.log\n" + "#" * MAX_RULES_BYTES)
    (tmp_path / "Many" / IGNORE_FILE).write_text("".join(f"f{n}\n" for n in range(MAX_RULES + 1)))
    (tmp_path / "Folder" / IGNORE_FILE).unlink()
    (tmp_path / "Folder" / IGNORE_FILE).mkdir()
    (tmp_path / "Loop" / IGNORE_FILE).unlink()
    (tmp_path / "Loop" / IGNORE_FILE).symlink_to(IGNORE_FILE)  # a link to itself
    (tmp_path / "Pipe" / IGNORE_FILE).unlink()
    os.mkfifo(tmp_path / "Pipe" / IGNORE_FILE)  # reading it would wait for ever
    ignore.reload()
    problems = ignore.problems
    assert [p.partition("/")[0] for p in problems] == ["Big", "Folder", "Loop", "Many", "Pipe"]
    assert problems[0] == (
        "Big/.roostignore is larger than 64 KiB, more than rules need: its rules do not apply"
    )
    assert problems[1] == (
        "Folder/.roostignore is a folder, not a file of ignore rules: the shared folder's rules"
        " do not apply on this device"
    )
    assert problems[3] == (
        "Many/.roostignore has 1,001 rules, more than the 1,000 Roost reads: its rules do not apply"
    )
    assert problems[2] == (
        "Loop/.roostignore cannot be read (Too many levels of symbolic links): its rules do"
        " not apply"
    )
    assert problems[4] == "Pipe/.roostignore is not a file: its rules do not apply"
    assert not ignore.ignored("Big/x.log") and ignore.ignored("Big/x.tmp")  # defaults hold
    (tmp_path / "Loop" / IGNORE_FILE).unlink()
    (tmp_path / "Loop" / IGNORE_FILE).write_text("*.log\n")
    ignore.reload()
    assert ignore.ignored("Loop/x.log")


LINES = st.lists(
    st.sampled_from(
        ["*.log", "!*.log", "build/", "/build", "!build/", "a/", "!a/b", "**/c", "*", "!*",
         "a/**", "!x.c", "x.c", "*.part", "!*.part", "# note", "", "!", "\\"]
    ),
    max_size=6,
)  # fmt: skip
PATHS = st.lists(st.sampled_from(["a", "b", "build", "c", "x.c", "x.log", "y.part"]), min_size=1,
                 max_size=4).map("/".join)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(own=LINES, shared=LINES, path=PATHS)
def test_a_folder_that_is_ignored_keeps_all_it_holds_ignored(
    tmp_path_factory: pytest.TempPathFactory, own: list[str], shared: list[str], path: str
) -> None:
    root = tmp_path_factory.mktemp("ws")
    ignore = workspace(root, "\n".join(own), Team="\n".join(shared))
    full = f"Team/{path}"
    parts = full.split("/")
    for n in range(1, len(parts)):
        if ignore.ignored("/".join(parts[:n]), is_dir=True):
            assert ignore.ignored(full) and ignore.ignored(full, is_dir=True)


@settings(max_examples=150, deadline=None)
@given(own=LINES, shared=LINES, path=PATHS)
def test_a_shares_rules_never_reach_outside_it(
    tmp_path_factory: pytest.TempPathFactory, own: list[str], shared: list[str], path: str
) -> None:
    root = tmp_path_factory.mktemp("ws")
    with_share = workspace(root, "\n".join(own), Team="\n".join(shared))
    without = Ignore(root, workspace=True)
    for rel in (path, f"Other/{path}", "Team"):
        assert with_share.ignored(rel) == without.ignored(rel)
        assert with_share.ignored(rel, is_dir=True) == without.ignored(rel, is_dir=True)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_to_rules_or_one_line_why_not(text: str) -> None:
    spec, problem = parse_rules(text, "Team/.roostignore")
    assert problem is None or ("\n" not in problem and problem.startswith("Team/.roostignore"))
    if spec is not None:
        spec.check_file("a/b.txt")
