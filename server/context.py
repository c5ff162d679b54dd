"""What a handler gets: the server's services, the calling session, and its transaction.

Events a handler emits are held until its transaction commits, so nobody hears of a write
that could still roll back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protocol.envelope import encode_event
from protocol.errors import ErrorCode, RoostError
from protocol.ids import SnowflakeGenerator
from server.accounts.failed_attempts import AuthLimits
from server.accounts.passwords import Passwords
from server.chat.commit import MessageCommitter
from server.chat.presence import Presence
from server.config import ServerConfig
from server.hub import Hub
from server.session import Session
from storage.content.blocks import BlockStore, BlockWriter
from storage.database import Database, Handle
from storage.server.accounts import AccountRepository, Identity
from storage.server.chat import ChatRepository
from storage.server.files import FileRepository
from storage.server.idempotency import IdempotencyRepository
from storage.server.invites import InviteRepository
from storage.server.links import LinkRepository
from storage.server.profiles import ProfileRepository
from storage.server.users import UserDirectory

if TYPE_CHECKING:
    from server.social.services import SocialServices


@dataclass
class Services:
    """Long-lived pieces every handler may use; built once per server."""

    config: ServerConfig
    db: Database
    hub: Hub
    ids: SnowflakeGenerator
    passwords: Passwords
    auth_limits: AuthLimits  # failed logins and registrations per address and account
    accounts: AccountRepository
    profiles: ProfileRepository
    idempotency: IdempotencyRepository
    social: SocialServices
    chat: ChatRepository
    messages: MessageCommitter  # chat.send's group commit
    presence: Presence
    files: FileRepository
    blocks: BlockStore
    block_writer: BlockWriter  # uploads: verified and stored in batches
    invites: InviteRepository
    users: UserDirectory  # usernames <-> ids
    links: LinkRepository  # public links (server/files/links.py)


@dataclass
class OpContext:
    services: Services
    session: Session
    tx: Handle | None = None  # set for write ops: the op's own transaction
    _pending: list[tuple[tuple[int, ...], bytes, Session | None]] = field(default_factory=list)
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def identity(self) -> Identity:
        if self.session.identity is None:  # the router checks first; this guards handlers
            raise RoostError(ErrorCode.UNAUTHENTICATED, "log in first")
        return self.session.identity

    @property
    def conn(self) -> Handle:
        """Where this op reads: its own transaction in a write op, else the reader."""
        return self.tx if self.tx is not None else self.services.db.reader

    @property
    def write_tx(self) -> Handle:
        assert self.tx is not None, "only write ops run inside a transaction"
        return self.tx

    def emit(
        self, user_ids: Iterable[int], event: str, data: Any, *, to_self: bool = False
    ) -> None:
        """Push an event to these users' connections once the op commits."""
        skip = None if to_self else self.session
        self._pending.append((tuple(user_ids), encode_event(event, data), skip))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the op commits (e.g. drop in-memory copies of what changed)."""
        self._after_commit.append(callback)

    def publish_pending(self) -> None:
        for callback in self._after_commit:
            callback()
        self._after_commit.clear()
        for user_ids, frame, skip in self._pending:
            self.services.hub.publish(user_ids, frame, skip=skip)
        self._pending.clear()
