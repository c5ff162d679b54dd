"""The client home folder: config, device token and the client database.

`ROOST_HOME` picks the folder, so several users and devices can live on one machine.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from client.errors import NotLoggedIn

DEFAULT_SERVER = "ws://127.0.0.1:7447"
# What a home holds that nobody else may read.
PRIVATE_FILES = (
    "config.json", "token", "client.db", "client.db-wal", "client.db-shm", "sync.lock",
    "listed.json",  # the ids of the last listings (client/ids.py)
)  # fmt: skip


@dataclass(frozen=True)
class Account:
    server: str
    user_id: str
    username: str
    device_id: str
    device_name: str
    ca: str | None = None  # CA file trusted for this server (a self-signed wss:// server)


class ClientHome:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_env(cls) -> ClientHome:
        env = os.environ.get("ROOST_HOME")
        return cls(Path(env) if env else Path(platformdirs.user_data_dir("roost")))

    @property
    def database_path(self) -> Path:
        return self.path / "client.db"

    @property
    def _config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def _token_path(self) -> Path:
        return self.path / "token"

    def account(self) -> Account | None:
        try:
            data = json.loads(self._config_path.read_text())
            return Account(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise NotLoggedIn(
                f"{self._config_path} is damaged ({exc}); run roost login again"
            ) from None

    def require_account(self) -> Account:
        account = self.account()
        if account is None or self.token() is None:
            raise NotLoggedIn("not logged in; run roost register USER or roost login USER")
        return account

    def token(self) -> str | None:
        try:
            return self._token_path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def make_private(self) -> None:
        """Create the home readable by its owner only (0700, its files 0600: the cache holds
        messages and the token is a password), and tighten a home an older Roost made 0755; a
        shared folder (sticky, as /tmp) or the user's own home folder keeps its mode. The
        database is created 0600 before SQLite opens it, whose WAL and shared-memory files
        then take the same mode."""
        try:
            self.path.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            st = self.path.stat()
            shared = st.st_mode & stat.S_ISVTX or self.path.resolve() == Path.home().resolve()
            if not shared and stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(self.path, 0o700)
        for name in PRIVATE_FILES:
            try:
                os.chmod(self.path / name, 0o600)
            except FileNotFoundError:
                pass
        os.close(os.open(self.database_path, os.O_WRONLY | os.O_CREAT, 0o600))

    def save(self, account: Account, token: str) -> None:
        self.make_private()
        _write_private(self._token_path, token)
        _write_private(self._config_path, json.dumps(asdict(account), indent=2))

    def forget(self) -> None:
        """Log this home out: the token and account go, the cache and outbox too."""
        for path in (
            self.path / "listed.json",
            self._token_path,
            self._config_path,
            self.database_path,
            self.database_path.with_name("client.db-wal"),
            self.database_path.with_name("client.db-shm"),
        ):
            path.unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    """Write via a temp file and rename, readable by the owner only (the token is a password)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
