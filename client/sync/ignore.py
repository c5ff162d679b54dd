"""What the sync engine leaves alone: other programs' temporary files (`DEFAULT_IGNORED`),
`.roostignore` (gitignore syntax, which can undo those with `!`), its own temp files and
workspace marker, and folders kept on this device only.

The names are the protocol's (`protocol.files`): the server refuses them where they would
collide with these files, and what an older server let through is left alone here, never
read as rules, synced or uploaded."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

from protocol.files import IGNORE_FILE, MARKER, TEMP_PREFIX

__all__ = [
    "DEFAULT_IGNORED",
    "IGNORE_FILE",
    "MARKER",
    "TEMP_PREFIX",
    "Ignore",
    "excluded_by",
    "excluded_notes",
    "reserved_here",
]

# Files editors, office suites, browsers and desktops write beside the real ones and then
# rename or delete: syncing them only sends half-written bytes around. A `.roostignore` line
# such as `!*.part` syncs them again (its rules come after these, as in gitignore).
DEFAULT_IGNORED = (
    "*.tmp",
    "*.part",
    "*.crdownload",
    "~$*",
    ".#*",
    "*.swp",
    ".DS_Store",
    "Thumbs.db",
)


def reserved_here(rel: str, is_dir: bool = False) -> bool:
    """Whether a workspace path is the engine's own and never syncs: a temp file's name
    anywhere, the marker (and anything inside a marker that is a folder), a folder named like
    the ignore file and anything inside it. The ignore file, a file, syncs. Case-folded, as the
    server refuses these names (`protocol.files.reserved_problem`) and other disks see them."""
    parts = rel.casefold().split("/")
    if parts[0] == MARKER or any(p.startswith(TEMP_PREFIX) for p in parts):
        return True
    return parts[0] == IGNORE_FILE and (len(parts) > 1 or is_dir)


def excluded_by(rel: str, excluded: set[str]) -> str | None:
    """The excluded folder `rel` is (or is inside), else None."""
    parts = rel.split("/")
    for n in range(1, len(parts) + 1):
        if (folder := "/".join(parts[:n])) in excluded:
            return folder
    return None


EXCLUDED_HERE = (
    "excluded on this device (roost sync include {folder} syncs it): kept here, not uploaded"
)


def excluded_notes(root: Path, excluded: set[str]) -> list[tuple[str, str]]:
    """(folder, why) for each excluded folder that has files on this disk again."""
    out = []
    for folder in sorted(excluded):
        path = root / folder
        if path.is_dir() and any(files for _, _, files in os.walk(path)):
            out.append((folder, EXCLUDED_HERE.format(folder=folder)))
    return out


class Ignore:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._defaults = pathspec.GitIgnoreSpec.from_lines(DEFAULT_IGNORED)
        self._spec: pathspec.GitIgnoreSpec = self._defaults
        self._mtime: int | None = None
        self.detached: set[str] = set()  # top-level folders kept on this device only
        self.excluded: set[str] = set()  # folders this device does not keep (selective sync)
        self.problem: str | None = None  # why the ignore file's rules are not in use
        self.reload()

    def reload(self) -> None:
        path = self._root / IGNORE_FILE
        try:
            st = path.stat()
            if path.is_dir():
                raise IsADirectoryError(path)
            if st.st_mtime_ns != self._mtime:
                lines = path.read_text(errors="replace").splitlines()
                self._spec = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_IGNORED, *lines])
                self._mtime = st.st_mtime_ns
            self.problem = None
        except FileNotFoundError:
            self._spec, self._mtime, self.problem = self._defaults, None, None
        except IsADirectoryError:  # a folder where Roost expects its file: never a crash
            self._spec, self._mtime = self._defaults, None
            self.problem = (
                f"{IGNORE_FILE} is a folder, not a file of ignore rules: no rules apply, and the"
                " folder stays on this device; rename it to have your rules back"
            )
        except OSError as exc:
            self._spec, self._mtime = self._defaults, None
            self.problem = f"{IGNORE_FILE} cannot be read ({exc.strerror}): no rules apply"

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        if reserved_here(rel, is_dir) or rel.partition("/")[0] in self.detached:
            return True
        if self.excluded and excluded_by(rel, self.excluded) is not None:
            return True
        return self._spec.match_file(rel + "/" if is_dir else rel)
