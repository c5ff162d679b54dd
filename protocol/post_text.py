"""What a post's text holds besides words: `@mentions` and `#hashtags`, parsed the same way by
server and clients. (What a search's words become is the engine's business:
storage/server/search_query.py.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A mention is @ + a username, not preceded by a word character (so "me@example.com" is not one).
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_@])")
# A hashtag is # + letters, digits or underscores with at least one letter ("#1" is not a tag).
_HASHTAG = re.compile(r"(?<![\w#&])#(\w{1,64})(?!\w)")
MAX_ENTITIES = 20


@dataclass(frozen=True)
class Entities:
    mentions: list[str]  # lower-case usernames, first occurrence order, no repeats
    tags: list[str]  # lower-case tags, first occurrence order, no repeats


def parse_entities(text: str) -> Entities:
    mentions = _unique(m.lower() for m in _MENTION.findall(text))
    tags = _unique(t.lower() for t in _HASHTAG.findall(text) if not t.isdigit())
    return Entities(mentions[:MAX_ENTITIES], tags[:MAX_ENTITIES])


def is_blank(text: str) -> bool:
    return not text.strip()


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
