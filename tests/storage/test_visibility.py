"""The locked-account rule: `can_see()`, the SQL of `author_visible()` and
`hidden_authors()` agree for every reader and author, locked or not, followed or not (a
waiting request counts as not followed)."""

from __future__ import annotations

import itertools
from pathlib import Path

from storage.server import schema as server_schema
from storage.server.visibility import VisibilityRepository, author_visible, can_see
from storage.sqlite import SqliteDatabase

# (name, locked); ann follows cat, cat follows bob, dan asked to follow bob (waiting)
PEOPLE = [("ann", False), ("bob", True), ("cat", True), ("dan", False)]
FOLLOWS = {(1, 3), (3, 2)}
REQUESTS = {(4, 2)}


def test_the_rule() -> None:
    assert can_see(1, 2, locked=False, follows=False)
    assert can_see(2, 2, locked=True, follows=False)  # always oneself
    assert can_see(1, 2, locked=True, follows=True)
    assert not can_see(1, 2, locked=True, follows=False)


async def test_sql_and_lookup_agree_with_the_rule(tmp_path: Path) -> None:
    db = await SqliteDatabase(tmp_path / "s.db", server_schema.MIGRATIONS).open()
    try:
        async with db.write() as tx:
            for uid, (name, locked) in enumerate(PEOPLE, start=1):
                await tx.execute(
                    "INSERT INTO users (id, username, password_hash, created_at)"
                    " VALUES (?, ?, 'x', 0)",
                    (uid, name),
                )
                await tx.execute(
                    "INSERT INTO profiles (user_id, updated_at, locked) VALUES (?, 0, ?)",
                    (uid, int(locked)),
                )
            for follower, followee in FOLLOWS:
                await tx.execute(
                    "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, 0)",
                    (follower, followee),
                )
            for requester, target in REQUESTS:
                await tx.execute(
                    "INSERT INTO follow_requests (target_id, requester_id, created_at)"
                    " VALUES (?, ?, 0)",
                    (target, requester),
                )
        repo = VisibilityRepository()
        ids = range(1, len(PEOPLE) + 1)
        for reader, author in itertools.product(ids, ids):
            expected = can_see(
                reader, author, locked=PEOPLE[author - 1][1], follows=(reader, author) in FOLLOWS
            )
            async with db.reader.execute(
                f"SELECT {author_visible('x.a', 'x.r')} FROM (SELECT ? AS a, ? AS r) x",
                (author, reader),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None and bool(row[0]) == expected, (reader, author)
            assert await repo.may_see(db.reader, reader, author) == expected, (reader, author)
        assert await repo.hidden_authors(db.reader, 4, ids) == {2, 3}  # a request is not a follow
        assert await repo.hidden_authors(db.reader, 1, ids) == {2}
    finally:
        await db.close()
