"""The server's schema in PostgreSQL's dialect, as of migration 15 of storage/server/schema.py.

A PostgreSQL database starts at that version: `server_migrations()` hands the engine this whole
schema as migration 15, then every later migration of the one numbered list (each with its
`postgres` text where the SQL differs). The schema mirrors SQLite's table by table: the same
columns in the same order (INTEGER -> BIGINT, BLOB -> BYTEA), the same defaults, checks,
primary and unique keys, foreign keys and indexes (partial ones too), and the running totals of
the "storage use" migration (8) and the per-user social_stats row kept by plpgsql triggers that
fire on the same events as SQLite's. tests/storage/test_postgres_schema.py compares the two
catalogs.

Ids are the application's snowflakes, given explicitly, as on SQLite; only name_repairs lets
the database number its rows (an identity, as SQLite's rowid alias does).

Left out on purpose: SQLite's FTS5 tables (posts_fts, users_fts) and the triggers that fill
users_fts. Search on PostgreSQL builds its own index (tsvector/GIN or pg_trgm) in its own
migration, with the search capability.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.database import Migration
from storage.server.schema import MIGRATIONS

BASELINE_VERSION = 15

SCHEMA = """
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')),
    disabled_at BIGINT,
    deleted_at BIGINT
);
CREATE TABLE devices (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX devices_by_user ON devices(user_id);
CREATE TABLE profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    locked BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    op TEXT NOT NULL,
    result BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);

-- social
CREATE TABLE posts (
    id BIGINT PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    reply_to BIGINT,
    repost_of BIGINT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    fanned_out BIGINT NOT NULL,
    mentions TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    like_count BIGINT NOT NULL DEFAULT 0,
    repost_count BIGINT NOT NULL DEFAULT 0,
    reply_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX posts_by_author ON posts(author_id, id);
CREATE INDEX posts_unfanned ON posts(author_id, id) WHERE fanned_out = 0;
CREATE INDEX posts_by_reply_to ON posts(reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX posts_by_repost_of ON posts(repost_of) WHERE repost_of IS NOT NULL;
CREATE UNIQUE INDEX one_live_repost ON posts(author_id, repost_of)
    WHERE repost_of IS NOT NULL AND deleted_at IS NULL;
CREATE TABLE post_mentions (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, user_id)
);
CREATE TABLE post_tags (
    tag TEXT NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (post_id, tag)
);
CREATE INDEX post_tags_by_time ON post_tags(created_at, tag, author_id);
CREATE TABLE likes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, post_id)
);
CREATE TABLE follows (
    follower_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_by_followee ON follows(followee_id, follower_id);
CREATE TABLE social_stats (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    followers BIGINT NOT NULL DEFAULT 0,
    following BIGINT NOT NULL DEFAULT 0,
    posts BIGINT NOT NULL DEFAULT 0,
    has_unfanned BIGINT NOT NULL DEFAULT 0
);
CREATE FUNCTION social_stats_for_new_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO social_stats (user_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER social_stats_for_new_user AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION social_stats_for_new_user();
CREATE TABLE timeline (
    user_id BIGINT NOT NULL,
    post_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX timeline_by_post ON timeline(post_id);
CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    post_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_by_user ON notifications(user_id, id);
CREATE TABLE notification_marks (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    read_up_to BIGINT NOT NULL
);

-- chat
CREATE TABLE conversations (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    name TEXT NOT NULL DEFAULT '',
    direct_key TEXT UNIQUE,
    created_by BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE conversation_members (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_seq BIGINT NOT NULL,
    left_seq BIGINT,
    delivered_seq BIGINT NOT NULL DEFAULT 0,
    read_seq BIGINT NOT NULL DEFAULT 0,
    receipt_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_by_user ON conversation_members(user_id);
CREATE INDEX conversation_members_by_receipt ON conversation_members(receipt_id);
CREATE TABLE messages (
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    sender_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    member_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

-- files
CREATE TABLE namespaces (
    id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    entries BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX namespaces_home ON namespaces(owner_id) WHERE kind = 'home';
CREATE INDEX namespaces_by_owner ON namespaces(owner_id);
CREATE TABLE namespace_members (
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    mount_name TEXT,
    PRIMARY KEY (namespace_id, user_id)
);
CREATE INDEX members_by_user ON namespace_members(user_id);
CREATE TABLE file_versions (
    id BIGINT PRIMARY KEY,
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    size BIGINT NOT NULL,
    mtime_ms BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    parent_id BIGINT,
    user_id BIGINT NOT NULL,
    device_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (namespace_id, seq)
);
CREATE INDEX versions_by_path ON file_versions(namespace_id, path, id);
CREATE TABLE files_current (
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    path_key TEXT NOT NULL,
    version_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    deleted BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, path)
);
CREATE INDEX current_by_seq ON files_current(namespace_id, seq);
CREATE INDEX current_by_key ON files_current(namespace_id, path_key);
CREATE TABLE version_blocks (
    version_id BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (version_id, idx)
);
CREATE INDEX version_blocks_by_hash ON version_blocks(hash);
CREATE TABLE blocks (
    hash TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    stored_size BIGINT NOT NULL,
    refcount BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE block_uploads (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, hash)
);
CREATE INDEX block_uploads_by_age ON block_uploads(created_at);
CREATE TABLE staged_blocks (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    upload_id TEXT NOT NULL,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, upload_id, idx)
);
CREATE INDEX staged_blocks_by_age ON staged_blocks(created_at);
CREATE TABLE attachments (
    id BIGINT PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE attachment_blocks (
    attachment_id BIGINT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (attachment_id, idx)
);
CREATE INDEX attachment_blocks_by_hash ON attachment_blocks(hash);
CREATE TABLE post_attachments (
    post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    idx BIGINT NOT NULL,
    attachment_id BIGINT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, idx)
);
CREATE INDEX post_attachments_by_attachment ON post_attachments(attachment_id);
CREATE TABLE share_invitations (
    id BIGINT PRIMARY KEY,
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    invited_by BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (namespace_id, user_id)
);
CREATE INDEX share_invitations_by_user ON share_invitations(user_id);

-- storage use: running totals per namespace and per user (SQLite's migration 8). Each
-- trigger fires on the same event as SQLite's, so the same rows give the same totals.
CREATE TABLE user_use (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    attachments BIGINT NOT NULL DEFAULT 0,
    attachment_bytes BIGINT NOT NULL DEFAULT 0,
    uncommitted_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE FUNCTION namespace_use_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE namespaces SET entries = entries + 1, bytes = bytes + NEW.size
    WHERE id = NEW.namespace_id;
    RETURN NULL;
END $$;
CREATE TRIGGER namespace_use_added AFTER INSERT ON file_versions
    FOR EACH ROW EXECUTE FUNCTION namespace_use_added();
CREATE FUNCTION namespace_use_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE namespaces SET entries = entries - 1, bytes = bytes - OLD.size
    WHERE id = OLD.namespace_id;
    RETURN NULL;
END $$;
CREATE TRIGGER namespace_use_removed AFTER DELETE ON file_versions
    FOR EACH ROW EXECUTE FUNCTION namespace_use_removed();
CREATE FUNCTION user_use_attachment_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_use (user_id, attachments, attachment_bytes)
        VALUES (NEW.owner_id, 1, NEW.size)
        ON CONFLICT (user_id) DO UPDATE SET attachments = user_use.attachments + 1,
            attachment_bytes = user_use.attachment_bytes + excluded.attachment_bytes;
    RETURN NULL;
END $$;
CREATE TRIGGER user_use_attachment_added AFTER INSERT ON attachments
    FOR EACH ROW EXECUTE FUNCTION user_use_attachment_added();
CREATE FUNCTION user_use_attachment_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_use SET attachments = attachments - 1,
        attachment_bytes = attachment_bytes - OLD.size
    WHERE user_id = OLD.owner_id;
    RETURN NULL;
END $$;
CREATE TRIGGER user_use_attachment_removed AFTER DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION user_use_attachment_removed();
CREATE FUNCTION user_use_uploaded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_use (user_id, uncommitted_bytes)
        VALUES (NEW.user_id, COALESCE((SELECT size FROM blocks WHERE hash = NEW.hash), 0))
        ON CONFLICT (user_id) DO UPDATE SET
            uncommitted_bytes = user_use.uncommitted_bytes + excluded.uncommitted_bytes;
    RETURN NULL;
END $$;
CREATE TRIGGER user_use_uploaded AFTER INSERT ON block_uploads
    FOR EACH ROW EXECUTE FUNCTION user_use_uploaded();
CREATE FUNCTION user_use_upload_settled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_use SET uncommitted_bytes = uncommitted_bytes
        - COALESCE((SELECT size FROM blocks WHERE hash = OLD.hash), 0)
    WHERE user_id = OLD.user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER user_use_upload_settled AFTER DELETE ON block_uploads
    FOR EACH ROW EXECUTE FUNCTION user_use_upload_settled();

-- names changed by SQLite's migration 10 (storage/server/name_repair.py)
CREATE TABLE name_repairs (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    row_id BIGINT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    repaired_at BIGINT NOT NULL
);

-- accounts: blocks and mutes, locked accounts' follow requests, reset codes, invites
CREATE TABLE user_blocks (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, target_id)
);
CREATE INDEX user_blocks_by_target ON user_blocks(target_id, user_id);
CREATE TABLE user_mutes (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, target_id)
);
CREATE INDEX user_mutes_by_target ON user_mutes(target_id, user_id);
CREATE TABLE follow_requests (
    target_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requester_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (target_id, requester_id)
);
CREATE INDEX follow_requests_by_requester ON follow_requests(requester_id, target_id);
CREATE TABLE password_resets (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    issued_by BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    uses BIGINT NOT NULL CHECK (uses >= 1),
    used BIGINT NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= uses),
    revoked_at BIGINT
)
"""


def server_migrations(migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """The server's migrations as PostgreSQL runs them: the whole schema as of version 15 in
    one step, then each migration after it."""
    baseline = next((m for m in migrations if m.version == BASELINE_VERSION), None)
    if baseline is None:
        raise ValueError(f"no migration {BASELINE_VERSION} to start PostgreSQL databases at")
    return [
        Migration(
            BASELINE_VERSION,
            f"the server schema as of migration {BASELINE_VERSION}, in PostgreSQL's dialect"
            f" (storage/server/postgres_schema.py); last step: {baseline.description}",
            "",
            postgres=SCHEMA,
        ),
        *(m for m in migrations if m.version > BASELINE_VERSION),
    ]
