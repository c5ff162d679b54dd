"""The terminal app's settings that last, kept in the client home's `settings.json` (beside
config.json, which holds the account): the theme, and key choices as binding id -> keys,
e.g. `{"theme": "textual-light", "keys": {"messages": "f6,ctrl+m"}}`.

A damaged or hand-edited file never stops the app: what cannot be read is left at its
default, with a one-line warning naming the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from client.home import ClientHome

FILE = "settings.json"
MAX_BYTES = 64 * 1024  # a settings file is a few lines; refuse to read a huge one


class Settings(msgspec.Struct, omit_defaults=True):
    theme: str | None = None  # a Textual theme name; None: the app's default
    keys: dict[str, str] = {}  # binding id -> comma-separated keys


def settings_path(home: ClientHome) -> Path:
    return home.path / FILE


def load_settings(home: ClientHome) -> tuple[Settings, str | None]:
    """The saved settings, and a warning to show when the file could not be used."""
    path = settings_path(home)
    try:
        if path.stat().st_size > MAX_BYTES:
            return Settings(), f"{path} is too large to be settings; using the defaults"
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings(), None
    except OSError as exc:
        return Settings(), f"cannot read {path} ({exc.strerror}); using the defaults"
    try:
        return msgspec.json.decode(data, type=Settings), None
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return Settings(), f"{path} is not valid ({exc}); using the defaults"


def save_settings(home: ClientHome, settings: Settings) -> None:
    """Write atomically (a temp file renamed), so a crash never leaves half a file."""
    path = settings_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(FILE + ".tmp")
    text = json.dumps(msgspec.to_builtins(settings), indent=2, sort_keys=True) + "\n"
    tmp.write_text(text)
    os.replace(tmp, path)


def unknown_keys(settings: Settings, binding_ids: set[str]) -> list[str]:
    """The key choices naming no binding this version has (a typo, or an older file)."""
    return sorted(set(settings.keys) - binding_ids)
