"""Public links: ops to make, list and remove a link that lets anyone with its URL download
one version of one file over plain HTTP (`GET /l/TOKEN` on the server's own port)."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from protocol.files import Path
from protocol.spec import OpSpec
from protocol.types import Count, Id

TOKEN_BYTES = 16  # 128 random bits
# base64url without padding: 16 bytes are 22 characters
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
LINK_PATH_PREFIX = "/l/"
MAX_EXPIRY_SECONDS = 10 * 365 * 86400  # ten years: past that, "never" says it better
MAX_LINKS_LISTED = 1000

LinkPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Seconds = Annotated[int, msgspec.Meta(ge=1, le=MAX_EXPIRY_SECONDS)]


class CreateLink(msgspec.Struct, forbid_unknown_fields=True):
    namespace_id: Id
    path: Path  # a file in the namespace: its current version is the one the link serves
    expires_in_s: Seconds | None = None  # None: until removed
    password: LinkPassword | None = None


class Link(msgspec.Struct):
    id: str
    namespace_id: str
    version_id: str
    path: str  # inside the namespace
    size: int
    created_at_ms: int
    expires_at_ms: int | None
    has_password: bool
    expired: bool


class CreatedLink(msgspec.Struct):
    link: Link
    token: str  # shown once: the server keeps only its hash
    url_path: str  # /l/TOKEN
    url: str | None  # the whole URL when the server knows its public address (--public-url)


class ListLinks(msgspec.Struct, forbid_unknown_fields=True):
    limit: Count = MAX_LINKS_LISTED


class Links(msgspec.Struct):
    links: list[Link]  # newest first


class RemoveLink(msgspec.Struct, forbid_unknown_fields=True):
    # the token (or the whole URL's last part), or the link's id from link.list
    link: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RemovedLink(msgspec.Struct):
    id: str


SPECS = [
    OpSpec("link.create", CreateLink, CreatedLink, summary="a public link to a file's version"),
    OpSpec("link.list", ListLinks, Links, summary="the links the caller made"),
    OpSpec("link.remove", RemoveLink, RemovedLink, summary="take a link down"),
]
EVENTS: dict[str, type[msgspec.Struct]] = {}


def is_token(text: str) -> bool:
    return TOKEN_PATTERN.fullmatch(text) is not None
