"""Ids as people type them: the whole id, a unique suffix of at least 6 digits, or `#N`, the
N-th row of the last listing of that kind on this device.

`resolve_id` is the rule, a plain function; `ListedIds` keeps, per kind of id, the last
listing (for `#N`) and the ids seen lately (for suffixes) in a small file in the client home.
An id this device has never listed is passed on whole: the server knows whether it exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from client.errors import ClientError

MIN_SUFFIX = 6  # digits: short enough to type, long enough to be unique among what one sees
KEEP_SEEN = 2000  # per kind: the newest ids listed on this device, for suffix matching
MAX_DIGITS = 20  # a 64-bit id has at most 20
LISTED_FILE = "listed.json"

# What each kind is called in a message, and the command that lists it (for `#N`).
KINDS: dict[str, tuple[str, str]] = {
    "post": ("post", "roost timeline"),
    "device": ("device", "roost devices"),
    "conversation": ("conversation", "roost chat list"),
    "version": ("file version", "roost files history PATH"),
    "invite": ("invite", "roost admin invites"),
    "invitation": ("invitation", "roost share"),
}


class BadId(ClientError):
    """What was typed names no id (not digits, an `#N` past the listing, or ambiguous)."""


def resolve_id(typed: str, kind: str, listed: Sequence[str] = (), seen: Iterable[str] = ()) -> str:
    """The id `typed` stands for: `listed` is the last listing in order (for `#N`), `seen`
    other ids this device knows (for suffixes). BadId, one line, when it cannot be one."""
    noun, lister = KINDS[kind]
    text = typed.strip()
    if text.startswith("#"):
        number = text[1:]
        if not number.isdigit() or len(number) > 9 or int(number) == 0:
            raise BadId(f"not a {noun} id: {typed}")
        n = int(number)
        if n > len(listed):
            shown = f"has {len(listed)}" if listed else "is not on this device"
            raise BadId(f"no {text}: the last {noun} listing {shown} (list again: {lister})")
        return listed[n - 1]
    if not text.isdigit() or len(text) > MAX_DIGITS or not text.isascii():
        raise BadId(f"not a {noun} id: {typed}")
    known = dict.fromkeys([*listed, *seen])
    if text in known or len(text) < MIN_SUFFIX:
        return text
    matches = [i for i in known if i.endswith(text)]
    if len(matches) > 1:
        raise BadId(f"ambiguous id {text}: matches {', '.join(sorted(matches))}")
    return matches[0] if matches else text


class ListedIds:
    """The last listing and the recently seen ids of each kind, in `listed.json` in the home."""

    def __init__(self, home: Path) -> None:
        self._path = home / LISTED_FILE

    def _load(self) -> dict[str, dict[str, list[str]]]:
        try:
            data = json.loads(self._path.read_text())
        except (FileNotFoundError, ValueError):  # none yet, or damaged: start afresh
            return {}
        return data if isinstance(data, dict) else {}

    def listed(self, kind: str) -> tuple[list[str], list[str]]:
        entry = self._load().get(kind) or {}
        return list(entry.get("listed", [])), list(entry.get("seen", []))

    def resolve(self, kind: str, typed: str) -> str:
        listed, seen = self.listed(kind)
        return resolve_id(typed, kind, listed, seen)

    def remember(self, kind: str, ids: Sequence[str], *, listing: bool = True) -> None:
        """Keep `ids` as seen; as the last listing too unless `listing` is False (an id
        printed alone, such as a new post's, is typeable without renumbering `#N`)."""
        if not self._path.parent.is_dir():
            return  # no home yet (not logged in): nothing to number against
        data = self._load()
        entry = data.get(kind) or {}
        fresh = set(ids)
        seen = [i for i in entry.get("seen", []) if i not in fresh]
        entry["seen"] = (seen + list(ids))[-KEEP_SEEN:]
        if listing:
            entry["listed"] = list(ids)
        data[kind] = entry
        _write_private(self._path, json.dumps(data))


def _write_private(path: Path, text: str) -> None:
    """Via a temp file and a rename, so two roost commands at once never leave half a file."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
