"""Where the client's own storage meets its callers: a `StorageError` from the client home's
database (a schema newer than this Roost, a full disk, a locked or damaged file) leaves the
client as `LocalDataError`, a `ClientError` the CLI and the TUI already know how to show.

`translate_storage_errors` wraps every public coroutine method of a client class, so the
capability objects (`client.social`, `client.chat`, `client.files`, `client.sync(root)`) and
`RoostClient` itself raise nothing from `storage`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from client.errors import LocalDataError
from storage.errors import StorageError

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)


def translated(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except StorageError as exc:
            raise LocalDataError(f"this device's Roost data: {exc}") from exc

    return wrapper


def translate_storage_errors(cls: C) -> C:
    """The class, its public coroutine methods (and `__aenter__`) translating storage errors."""
    for name, member in list(vars(cls).items()):
        public = not name.startswith("_") or name == "__aenter__"
        if public and inspect.iscoroutinefunction(member):
            wrapped: Any = translated(member)
            setattr(cls, name, wrapped)
    return cls
