"""What the sync engine leaves alone: `.roostignore` (gitignore syntax), its own temp files
and workspace marker, and folders kept on this device only."""

from __future__ import annotations

from pathlib import Path

import pathspec

TEMP_PREFIX = ".roost-tmp-"
IGNORE_FILE = ".roostignore"
MARKER = ".roost-workspace"  # at the top of a synced folder: it is the one synced before


class Ignore:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._spec: pathspec.GitIgnoreSpec | None = None
        self._mtime: int | None = None
        self.detached: set[str] = set()  # top-level folders kept on this device only
        self.reload()

    def reload(self) -> None:
        path = self._root / IGNORE_FILE
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            self._spec, self._mtime = None, None
            return
        if mtime != self._mtime:
            lines = path.read_text(errors="replace").splitlines()
            self._spec = pathspec.GitIgnoreSpec.from_lines(lines)
            self._mtime = mtime

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        name = rel.rpartition("/")[2]
        if name.startswith(TEMP_PREFIX) or rel == MARKER or rel.partition("/")[0] in self.detached:
            return True
        if self._spec is None:
            return False
        return self._spec.match_file(rel + "/" if is_dir else rel)
