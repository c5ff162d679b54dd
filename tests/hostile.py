"""Hostile text for the tests of issue 19, item 1: what a malicious member would write to take
over someone's terminal, and how to tell whether any of it got through."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect

# The actual sequences: set the window title, write the clipboard, clear the screen, end an
# OSC early (a message starting with BEL), C1 CSI, and a right-to-left override.
SEQUENCES: dict[str, str] = {
    "osc-title": "\x1b]0;pwned\x07",
    "osc52-clipboard": "\x1b]52;c;cHduZWQ=\x07",
    "clear-screen": "\x1b[2J",
    "bel-first": "\x07\x1b]0;pwned\x07",
    "c1-csi": "\x9b2J",
    "rtl-override": "\u202egnp.exe",
}
EVERYTHING = "".join(SEQUENCES.values())
# Markup a rich or Textual view would obey if it read someone's words as markup: an action run
# on a click, a link that hides its target, a style.
MARKUP = "[@click=app.quit]click me[/] [link=https://evil.example]docs[/link] [bold]loud[/]"
# Placeholders written through the API, and what an older server let them be: `plant()` puts
# these into a server's database, as a pre-fix server would have stored them.
HOSTILE = {
    "FINDME-POST": "findme post " + EVERYTHING,
    "DM-TEXT": SEQUENCES["bel-first"] + " a message starting with BEL " + EVERYTHING,
    "GROUP-NAME": "group " + MARKUP + " " + EVERYTHING + "\nsecond line",
    "DISPLAY-NAME": "Mallory " + MARKUP + " " + EVERYTHING + "\n",
    "BIO-TEXT": "bio " + EVERYTHING,
    "ATTACH-NAME.txt": "attach" + EVERYTHING + ".txt",
    "FILE-NAME.txt": "file\x9b\u202ename.txt",  # C0 never passed the path rule
    "alice-laptop": "laptop " + MARKUP + " " + EVERYTHING,
}
PLANTED_IN = [
    ("posts", "text"),
    ("messages", "text"),
    ("conversations", "name"),
    ("profiles", "display_name"),
    ("profiles", "bio"),
    ("attachments", "name"),
    ("file_versions", "path"),
    ("files_current", "path"),
    ("devices", "name"),
    ("file_versions", "device_name"),
]


def plant(database: Path) -> None:
    """Replace every placeholder in a (stopped) server's database by its hostile value."""
    db = sqlite3.connect(database)
    try:
        for table, column in PLANTED_IN:
            for placeholder, value in HOSTILE.items():
                db.execute(
                    f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (placeholder, value)
                )
        db.commit()
    finally:
        db.close()


# The free-text fields of the op table: anything but control characters (and newlines and
# tabs where a text has lines).
FREE_TEXT = {
    ("auth.register", "device_name"),
    ("auth.login", "device_name"),
    ("profile.set", "display_name"),
    ("profile.set", "bio"),
    ("post.create", "text"),
    ("search.query", "query"),
    ("chat.send", "text"),
    ("chat.group.create", "name"),
    ("files.attach", "name"),
}
MULTI_LINE = {("profile.set", "bio"), ("post.create", "text"), ("chat.send", "text")}
# What must never reach a terminal from someone else's words (newline and tab may).
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def unsafe_in(text: str) -> list[str]:
    """The unsafe characters in `text`, as their code points (an empty list: safe)."""
    return [f"U+{ord(c):04X}" for c in UNSAFE.findall(text)]


def str_fields(kind: type[msgspec.Struct], prefix: str = "") -> dict[str, Any]:
    """Every place an args struct holds text (directly, optional, in a list, or in a nested
    struct such as a commit's items), named like `items[].path`, each with the msgspec type
    of the text itself."""
    out: dict[str, Any] = {}
    for field in msgspec.inspect.type_info(kind).fields:  # type: ignore[attr-defined]
        name = prefix + field.name
        if (text := _text_type(field.type)) is not None:
            out[name] = text
        elif (nested := _struct_type(field.type)) is not None:
            out.update(str_fields(nested.cls, f"{name}[]."))
    return out


def _struct_type(t: Any) -> Any:
    if isinstance(t, msgspec.inspect.Metadata):
        return _struct_type(t.type)
    if isinstance(t, msgspec.inspect.StructType):
        return t
    if isinstance(t, msgspec.inspect.ListType):
        return _struct_type(t.item_type)
    if isinstance(t, msgspec.inspect.UnionType):
        return next((x for x in map(_struct_type, t.types) if x is not None), None)
    return None


def _text_type(t: Any) -> Any:
    if isinstance(t, msgspec.inspect.Metadata):
        return t if isinstance(t.type, msgspec.inspect.StrType) else None
    if isinstance(t, msgspec.inspect.StrType):
        return t
    if isinstance(t, msgspec.inspect.UnionType):
        return next((x for x in map(_text_type, t.types) if x is not None), None)
    if isinstance(t, msgspec.inspect.ListType):
        return _text_type(t.item_type)
    return None


def pattern_of(t: Any) -> str | None:
    inner = t.type if isinstance(t, msgspec.inspect.Metadata) else t
    return inner.pattern if isinstance(inner, msgspec.inspect.StrType) else None
