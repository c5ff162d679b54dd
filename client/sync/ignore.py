"""What the sync engine leaves alone: other programs' temporary files (`DEFAULT_IGNORED`),
the rules of `.roostignore` files (gitignore syntax, which can undo those with `!`), its own
temp files and workspace marker, and folders kept on this device only.

A workspace reads two kinds of rule file. Its own `.roostignore` at the top applies to every
path and stays on this device (never uploaded). A shared folder's `.roostignore` at its root
syncs like any file, so every member has it, and applies inside that folder only, relative to
it. Rules are read in the order defaults, shared folder's, device's own: the last that matches
a path decides, as in gitignore, so a share may undo a default (`!*.part`) but never make a
device send what that device's own file keeps back. A path inside an ignored folder is
ignored whatever a later rule says (gitignore's rule too), so a scan that skips the folder and
the plan that looks at one file in it agree.

The names are the protocol's (`protocol.files`): the server refuses them where they would
collide with these files, and what an older server let through is left alone here, never
read as rules, synced or uploaded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pathspec

from protocol.files import IGNORE_FILE, MARKER, TEMP_PREFIX

__all__ = [
    "DEFAULT_IGNORED",
    "IGNORE_FILE",
    "MARKER",
    "MAX_RULES",
    "MAX_RULES_BYTES",
    "TEMP_PREFIX",
    "Ignore",
    "RuleFile",
    "excluded_by",
    "excluded_notes",
    "parse_rules",
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


MAX_RULES_BYTES = 64 << 10  # a rule file is read whole, on every device of every member
MAX_RULES = 1_000  # every path is matched against each rule, on every scan


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


class RuleFile:
    """One `.roostignore`, read again whenever it changes on disk (size or mtime). A file
    that cannot be used gives no rules and says why in `problem`; it never stops a sync."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown  # how warnings name it: ".roostignore", "Team/.roostignore"
        self.spec: pathspec.GitIgnoreSpec | None = None
        self.problem: str | None = None
        self._stamp: tuple[int, int] | None = None  # (mtime, size) of what `spec` holds
        self._retry = False  # it could not be read: try again next time, changed or not

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload(self) -> bool:
        """Read the file if it changed; whether its rules did."""
        stamp = self._stat()
        if stamp == self._stamp and not self._retry:
            return False
        self._retry = False
        self.spec, self.problem = self._read()
        self._stamp = stamp
        return True

    def _read(self) -> tuple[pathspec.GitIgnoreSpec | None, str | None]:
        try:
            if self.path.is_dir():  # a folder where Roost expects its file: never a crash
                return None, f"{self.shown} is a folder, not a file of ignore rules: " + (
                    "no rules apply, and the folder stays on this device; rename it to have"
                    " your rules back"
                    if "/" not in self.shown
                    else "the shared folder's rules do not apply on this device"
                )
            if not stat.S_ISREG(self.path.stat().st_mode):  # a pipe would block the read
                return None, f"{self.shown} is not a file: its rules do not apply"
            with self.path.open("rb") as f:
                data = f.read(MAX_RULES_BYTES + 1)
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            self._retry = True
            return None, f"{self.shown} cannot be read ({exc.strerror}): its rules do not apply"
        if len(data) > MAX_RULES_BYTES:
            return None, (
                f"{self.shown} is larger than {MAX_RULES_BYTES >> 10} KiB, more than rules"
                " need: its rules do not apply"
            )
        return parse_rules(data.decode(errors="replace"), self.shown)


def parse_rules(text: str, shown: str) -> tuple[pathspec.GitIgnoreSpec | None, str | None]:
    """The rules of a `.roostignore` (gitignore syntax), and what is wrong with it: a line
    that is no pattern (`!` alone, a lone backslash) is skipped, the others still apply; more
    than MAX_RULES rules (another member's file could hold millions, and every path is matched
    against each) and none apply."""
    good: list[str] = []
    bad: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except ValueError:
            bad.append((n, line))
            continue
        if line.strip() and not line.startswith("#"):
            good.append(line)
    if len(good) > MAX_RULES:
        return None, (
            f"{shown} has {len(good):,} rules, more than the {MAX_RULES:,} Roost reads: its"
            " rules do not apply"
        )
    problem = None
    if bad:
        n, line = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        problem = (
            f"{shown} line {n}: {line[:60]!r} is not a gitignore pattern{more}: skipped, the"
            " other rules apply"
        )
    return (pathspec.GitIgnoreSpec.from_lines(good) if good else None), problem


class Ignore:
    """What a scan skips and a plan leaves alone in the folder at `root`. A sync workspace
    (`workspace=True`) keeps its own rule file to itself and reads each shared folder's
    (`shares`: the top-level folders shares are mounted at); any other folder (one put with
    `roost files put`) reads its `.roostignore` as rules and sends it like any file."""

    def __init__(self, root: Path, *, workspace: bool = False) -> None:
        self._root = root
        self._workspace = workspace
        self._defaults = pathspec.GitIgnoreSpec.from_lines(DEFAULT_IGNORED)
        self._own = RuleFile(root / IGNORE_FILE, IGNORE_FILE)
        self._mine = self._defaults  # the defaults and then the device's own rules, as one
        self._shared: dict[str, RuleFile] = {}
        self._folders: dict[str, bool] = {}  # folder -> ignored by the rules, until they change
        self.detached: set[str] = set()  # top-level folders kept on this device only
        self.excluded: set[str] = set()  # folders this device does not keep (selective sync)
        self.reload()

    @property
    def shares(self) -> set[str]:
        return set(self._shared)

    @shares.setter
    def shares(self, folders: set[str]) -> None:
        """The folders shares are mounted at; a new one's rules are read at once."""
        if not self._workspace or folders == set(self._shared):
            return
        self._shared = {
            f: self._shared.get(f) or RuleFile(self._root / f / IGNORE_FILE, f"{f}/{IGNORE_FILE}")
            for f in folders
        }
        self.reload()
        self._folders.clear()

    @property
    def problems(self) -> list[str]:
        """Why a rule file's rules are (partly) not in use, one line each."""
        files = [self._own, *(self._shared[f] for f in sorted(self._shared))]
        return [f.problem for f in files if f.problem]

    def reload(self) -> None:
        """Read again each rule file that changed on disk."""
        if self._own.reload():
            own = self._own.spec
            self._mine = self._defaults if own is None else self._defaults + own
            self._folders.clear()
        if any([f.reload() for f in self._shared.values()]):
            self._folders.clear()

    def is_rule_file(self, rel: str) -> bool:
        """Whether `rel` is a rule file this folder reads (its change may change what syncs)."""
        top, _, rest = rel.partition("/")
        if not rest:
            return top.casefold() == IGNORE_FILE
        return rest.casefold() == IGNORE_FILE and top in self._shared

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        if reserved_here(rel, is_dir) or rel.partition("/")[0] in self.detached:
            return True
        if self.excluded and excluded_by(rel, self.excluded) is not None:
            return True
        if self._workspace and rel.casefold() == IGNORE_FILE:
            return True  # this device's own rules: never sent, nor the server's copy fetched
        slash = rel.find("/")
        while slash != -1:  # each folder above it
            if self._folder_ignored(rel[:slash]):
                return True
            slash = rel.find("/", slash + 1)
        if self._workspace and self.is_rule_file(rel):
            return False  # a share's rules reach every member whatever the rules say
        return self._matches(rel, is_dir)

    def _folder_ignored(self, folder: str) -> bool:
        known = self._folders.get(folder)
        if known is None:
            known = self._folders[folder] = self._matches(folder, True)
        return known

    def _matches(self, rel: str, is_dir: bool) -> bool:
        """The last rule that matches decides: defaults, then the share's, then the device's."""
        slash = "/" if is_dir else ""
        top, _, rest = rel.partition("/")
        shared = self._shared.get(top) if rest else None
        if shared is None or shared.spec is None:  # most paths: one match, as fast as before
            return self._mine.match_file(rel + slash)
        if self._own.spec is not None:  # latest first: the first that has a say decides
            if (said := self._own.spec.check_file(rel + slash).include) is not None:
                return said
        if (said := shared.spec.check_file(rest + slash).include) is not None:
            return said
        return self._defaults.match_file(rel + slash)
