"""Ids as arguments: a Typer callback per kind that turns what was typed (a whole id, a unique
suffix of 6+ digits, `#N` from the last listing) into the id, and what listings remember."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from client.home import ClientHome
from client.ids import ListedIds


def _listed() -> ListedIds:
    return ListedIds(ClientHome.from_env().path)


def resolve(kind: str, typed: str) -> str:
    return _listed().resolve(kind, typed)


def callback(kind: str, *, allow_local: bool = False) -> Callable[[str | None], str | None]:
    """A Typer callback resolving an id argument or option of this kind (None stays None);
    `allow_local`: a `local:N` id of a write still in the outbox passes as it is."""

    def resolve_typed(value: str | None) -> str | None:
        if value is None or (allow_local and value.startswith("local:")):
            return value
        return resolve(kind, value)

    return resolve_typed


def remember(kind: str, ids: Sequence[str], *, listing: bool = True) -> None:
    """Number a listing just printed (`#1` is its first row) and keep its ids typeable."""
    _listed().remember(kind, ids, listing=listing)


def listed(kind: str) -> list[str]:
    """The ids of the last listing of this kind, in order (`#1` first)."""
    return _listed().listed(kind)[0]
