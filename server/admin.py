"""Who may administer the server: the rule every admin op checks first."""

from __future__ import annotations

from protocol.errors import ErrorCode, RoostError
from server.context import OpContext


def require_admin(ctx: OpContext) -> None:
    """Refuse a caller without the admin role (the server's first account has it)."""
    if not ctx.identity.admin:
        raise RoostError(ErrorCode.FORBIDDEN, "only an admin of this server may do that")
