"""Which folder a person may choose as this device's workspace (F7's "w"), as a plain rule:
each refusal is one line saying what to do instead. The folder is made when missing."""

from __future__ import annotations

from pathlib import Path

from client.errors import ClientError

SUGGESTED = "~/Roost"


def check_workspace_folder(text: str, *, client_home: Path, user_home: Path) -> Path:
    """The absolute folder `text` names (`~` allowed), or ClientError saying why not."""
    text = text.strip()
    if not text:
        raise ClientError(f"type a folder, e.g. {SUGGESTED}")
    if "\x00" in text or any(ord(c) < 32 for c in text):
        raise ClientError("a folder name cannot hold control characters")
    path = Path(user_home / text[2:] if text == "~" or text.startswith("~/") else text)
    if text == "~":
        path = user_home
    if not path.is_absolute():
        raise ClientError(f"give the whole path, e.g. {SUGGESTED} or /data/roost")
    path = Path(*path.parts).resolve()  # `..` and symlinks out, as the engine will see it
    if path == Path(path.anchor) or path == user_home.resolve():
        raise ClientError(f"{path} holds far more than your files: choose a folder of its own")
    home = client_home.resolve()
    if path == home or home in path.parents or path in home.parents:
        raise ClientError(f"{path} overlaps Roost's own data folder {home}: choose another")
    if path.exists() and not path.is_dir():
        raise ClientError(f"{path} is a file, not a folder")
    return path


def make_workspace_folder(path: Path) -> bool:
    """Make the folder (and its parents) if missing; True when it was made."""
    if path.is_dir():
        return False
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        if not path.is_dir():
            raise ClientError(f"{path} is a file, not a folder") from None
        return False
    except OSError as exc:
        raise ClientError(f"cannot make {path}: {exc.strerror}") from None
    return True
