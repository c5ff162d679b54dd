"""The server database's schema, as numbered migrations. Append; never edit a released one."""

from __future__ import annotations

from storage.database import Migration
from storage.name_repair import REPAIRS_TABLE, repair_names

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "accounts, devices, profiles, idempotency keys",
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX devices_by_user ON devices(user_id);
        CREATE TABLE profiles (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            display_name TEXT NOT NULL DEFAULT '',
            bio TEXT NOT NULL DEFAULT '',
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE idempotency_keys (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            client_id TEXT NOT NULL,
            op TEXT NOT NULL,
            result BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, client_id)
        )
        """,
    ),
    Migration(
        2,
        "social: posts, follows, likes, timelines, notifications, search",
        """
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            reply_to INTEGER,
            repost_of INTEGER,
            created_at INTEGER NOT NULL,
            deleted_at INTEGER,
            fanned_out INTEGER NOT NULL,
            mentions TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '',
            like_count INTEGER NOT NULL DEFAULT 0,
            repost_count INTEGER NOT NULL DEFAULT 0,
            reply_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX posts_by_author ON posts(author_id, id);
        CREATE INDEX posts_unfanned ON posts(author_id, id) WHERE fanned_out = 0;
        CREATE INDEX posts_by_reply_to ON posts(reply_to) WHERE reply_to IS NOT NULL;
        CREATE INDEX posts_by_repost_of ON posts(repost_of) WHERE repost_of IS NOT NULL;
        CREATE UNIQUE INDEX one_live_repost ON posts(author_id, repost_of)
            WHERE repost_of IS NOT NULL AND deleted_at IS NULL;
        CREATE TABLE post_mentions (
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            PRIMARY KEY (post_id, user_id)
        ) WITHOUT ROWID;
        CREATE TABLE post_tags (
            tag TEXT NOT NULL,
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (post_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX post_tags_by_time ON post_tags(created_at, tag, author_id);
        CREATE TABLE likes (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, post_id)
        ) WITHOUT ROWID;
        CREATE TABLE follows (
            follower_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            followee_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (follower_id, followee_id)
        ) WITHOUT ROWID;
        CREATE INDEX follows_by_followee ON follows(followee_id, follower_id);
        CREATE TABLE social_stats (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            followers INTEGER NOT NULL DEFAULT 0,
            following INTEGER NOT NULL DEFAULT 0,
            posts INTEGER NOT NULL DEFAULT 0,
            has_unfanned INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO social_stats (user_id) SELECT id FROM users;
        CREATE TRIGGER social_stats_for_new_user AFTER INSERT ON users BEGIN
            INSERT INTO social_stats (user_id) VALUES (NEW.id);
        END;
        CREATE TABLE timeline (
            user_id INTEGER NOT NULL,
            post_id INTEGER NOT NULL,
            author_id INTEGER NOT NULL,
            PRIMARY KEY (user_id, post_id)
        ) WITHOUT ROWID;
        CREATE INDEX timeline_by_post ON timeline(post_id);
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            actor_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            post_id INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX notifications_by_user ON notifications(user_id, id);
        CREATE TABLE notification_marks (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            read_up_to INTEGER NOT NULL
        );
        CREATE VIRTUAL TABLE posts_fts USING fts5(text, content='posts', content_rowid='id');
        CREATE VIRTUAL TABLE users_fts USING fts5(username, display_name, bio);
        INSERT INTO users_fts (rowid, username, display_name, bio)
            SELECT u.id, u.username, p.display_name, p.bio
            FROM users u JOIN profiles p ON p.user_id = u.id;
        CREATE TRIGGER users_fts_insert AFTER INSERT ON profiles BEGIN
            INSERT INTO users_fts (rowid, username, display_name, bio)
                SELECT id, username, NEW.display_name, NEW.bio FROM users WHERE id = NEW.user_id;
        END;
        CREATE TRIGGER users_fts_update AFTER UPDATE ON profiles BEGIN
            DELETE FROM users_fts WHERE rowid = OLD.user_id;
            INSERT INTO users_fts (rowid, username, display_name, bio)
                SELECT id, username, NEW.display_name, NEW.bio FROM users WHERE id = NEW.user_id;
        END;
        CREATE TRIGGER users_fts_delete AFTER DELETE ON profiles BEGIN
            DELETE FROM users_fts WHERE rowid = OLD.user_id;
        END
        """,
    ),
    Migration(
        3,
        "chat: conversations, members with receipts, messages by seq",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
            name TEXT NOT NULL DEFAULT '',
            direct_key TEXT UNIQUE,
            created_by INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            last_seq INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE conversation_members (
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            joined_seq INTEGER NOT NULL,
            left_seq INTEGER,
            delivered_seq INTEGER NOT NULL DEFAULT 0,
            read_seq INTEGER NOT NULL DEFAULT 0,
            receipt_id INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (conversation_id, user_id)
        );
        CREATE INDEX conversation_members_by_user ON conversation_members(user_id);
        CREATE INDEX conversation_members_by_receipt ON conversation_members(receipt_id);
        CREATE TABLE messages (
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            sender_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            member_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        ) WITHOUT ROWID
        """,
    ),
    Migration(
        4,
        "files: namespaces, members, versions (the journal), blocks, uploads, attachments",
        """
        CREATE TABLE namespaces (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            seq INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX namespaces_home ON namespaces(owner_id) WHERE kind = 'home';
        CREATE TABLE namespace_members (
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            PRIMARY KEY (namespace_id, user_id)
        );
        CREATE INDEX members_by_user ON namespace_members(user_id);
        CREATE TABLE file_versions (
            id INTEGER PRIMARY KEY,
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ms INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            parent_id INTEGER,
            user_id INTEGER NOT NULL,
            device_name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (namespace_id, seq)
        );
        CREATE INDEX versions_by_path ON file_versions(namespace_id, path, id);
        CREATE TABLE files_current (
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            path_key TEXT NOT NULL,
            version_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            PRIMARY KEY (namespace_id, path)
        );
        CREATE INDEX current_by_seq ON files_current(namespace_id, seq);
        CREATE INDEX current_by_key ON files_current(namespace_id, path_key);
        CREATE TABLE version_blocks (
            version_id INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (version_id, idx)
        );
        CREATE INDEX version_blocks_by_hash ON version_blocks(hash);
        CREATE TABLE blocks (
            hash TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            stored_size INTEGER NOT NULL,
            refcount INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE block_uploads (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, hash)
        );
        CREATE TABLE staged_blocks (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            upload_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, upload_id, idx)
        );
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE attachment_blocks (
            attachment_id INTEGER NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (attachment_id, idx)
        );
        CREATE INDEX attachment_blocks_by_hash ON attachment_blocks(hash)
        """,
    ),
    Migration(
        5,
        "post attachments: which attachments a post carries, in order",
        """
        CREATE TABLE post_attachments (
            post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            attachment_id INTEGER NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
            PRIMARY KEY (post_id, idx)
        );
        CREATE INDEX post_attachments_by_attachment ON post_attachments(attachment_id)
        """,
    ),
    Migration(
        6,
        "shares: the name each member's workspace mounts a share under",
        """
        ALTER TABLE namespace_members ADD COLUMN mount_name TEXT
        """,
    ),
    Migration(
        7,
        "names: usernames, display, device, group and attachment names without control"
        " characters (storage/name_repair.py; old values kept in name_repairs)",
        REPAIRS_TABLE,
        then=repair_names,
    ),
]
