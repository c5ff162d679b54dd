"""The server database's schema, as numbered migrations. Append; never edit a released one."""

from __future__ import annotations

from storage.database import Migration
from storage.server.name_repair import REPAIRS_TABLE, repair_names
from storage.server.path_repair import repair_paths

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
        "paths: keys that match across Unicode forms; paths in another form or with control"
        " characters renamed to NFC without them (storage/server/path_repair.py)",
        "",
        then=repair_paths,
    ),
    Migration(
        8,
        "storage use: sizes counted from blocks, running totals per namespace and user,"
        " ages of what waits for a commit",
        """
        UPDATE file_versions SET size = (
            SELECT SUM(b.size) FROM version_blocks vb JOIN blocks b ON b.hash = vb.hash
            WHERE vb.version_id = file_versions.id)
        WHERE EXISTS (SELECT 1 FROM version_blocks vb WHERE vb.version_id = file_versions.id)
            AND NOT EXISTS (SELECT 1 FROM version_blocks vb WHERE vb.version_id = file_versions.id
                AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.hash = vb.hash));
        UPDATE attachments SET size = (
            SELECT SUM(b.size) FROM attachment_blocks ab JOIN blocks b ON b.hash = ab.hash
            WHERE ab.attachment_id = attachments.id)
        WHERE EXISTS (SELECT 1 FROM attachment_blocks ab WHERE ab.attachment_id = attachments.id)
            AND NOT EXISTS (SELECT 1 FROM attachment_blocks ab
                WHERE ab.attachment_id = attachments.id
                AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.hash = ab.hash));

        ALTER TABLE namespaces ADD COLUMN entries INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE namespaces ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
        UPDATE namespaces SET
            entries = (SELECT COUNT(*) FROM file_versions v WHERE v.namespace_id = namespaces.id),
            bytes = (SELECT COALESCE(SUM(v.size), 0) FROM file_versions v
                WHERE v.namespace_id = namespaces.id);
        CREATE INDEX namespaces_by_owner ON namespaces(owner_id);
        CREATE TRIGGER namespace_use_added AFTER INSERT ON file_versions BEGIN
            UPDATE namespaces SET entries = entries + 1, bytes = bytes + NEW.size
            WHERE id = NEW.namespace_id;
        END;
        CREATE TRIGGER namespace_use_removed AFTER DELETE ON file_versions BEGIN
            UPDATE namespaces SET entries = entries - 1, bytes = bytes - OLD.size
            WHERE id = OLD.namespace_id;
        END;

        DELETE FROM block_uploads WHERE EXISTS (
                SELECT 1 FROM version_blocks vb JOIN file_versions v ON v.id = vb.version_id
                JOIN namespace_members m ON m.namespace_id = v.namespace_id
                WHERE vb.hash = block_uploads.hash AND m.user_id = block_uploads.user_id)
            OR EXISTS (
                SELECT 1 FROM attachment_blocks ab JOIN attachments a ON a.id = ab.attachment_id
                WHERE ab.hash = block_uploads.hash AND a.owner_id = block_uploads.user_id);
        CREATE TABLE user_use (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            attachments INTEGER NOT NULL DEFAULT 0,
            attachment_bytes INTEGER NOT NULL DEFAULT 0,
            uncommitted_bytes INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO user_use (user_id, attachments, attachment_bytes, uncommitted_bytes)
            SELECT u.id,
                (SELECT COUNT(*) FROM attachments a WHERE a.owner_id = u.id),
                (SELECT COALESCE(SUM(a.size), 0) FROM attachments a WHERE a.owner_id = u.id),
                (SELECT COALESCE(SUM(b.size), 0) FROM block_uploads bu
                    JOIN blocks b ON b.hash = bu.hash WHERE bu.user_id = u.id)
            FROM users u;
        CREATE TRIGGER user_use_attachment_added AFTER INSERT ON attachments BEGIN
            INSERT INTO user_use (user_id, attachments, attachment_bytes)
                VALUES (NEW.owner_id, 1, NEW.size)
                ON CONFLICT (user_id) DO UPDATE SET attachments = attachments + 1,
                    attachment_bytes = attachment_bytes + excluded.attachment_bytes;
        END;
        CREATE TRIGGER user_use_attachment_removed AFTER DELETE ON attachments BEGIN
            UPDATE user_use SET attachments = attachments - 1,
                attachment_bytes = attachment_bytes - OLD.size
            WHERE user_id = OLD.owner_id;
        END;
        CREATE TRIGGER user_use_uploaded AFTER INSERT ON block_uploads BEGIN
            INSERT INTO user_use (user_id, uncommitted_bytes)
                VALUES (NEW.user_id, COALESCE((SELECT size FROM blocks WHERE hash = NEW.hash), 0))
                ON CONFLICT (user_id) DO UPDATE SET
                    uncommitted_bytes = uncommitted_bytes + excluded.uncommitted_bytes;
        END;
        CREATE TRIGGER user_use_upload_settled AFTER DELETE ON block_uploads BEGIN
            UPDATE user_use SET uncommitted_bytes = uncommitted_bytes
                - COALESCE((SELECT size FROM blocks WHERE hash = OLD.hash), 0)
            WHERE user_id = OLD.user_id;
        END;

        CREATE INDEX block_uploads_by_age ON block_uploads(created_at);
        CREATE INDEX staged_blocks_by_age ON staged_blocks(created_at);
        CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at)
        """,
    ),
    Migration(
        9,
        "shares: invitations a user accepts before they become a member",
        # Members until now joined without being asked; they stay members (accepted), as they
        # have been syncing the share. Only new shares wait for an answer.
        """
        CREATE TABLE share_invitations (
            id INTEGER PRIMARY KEY,
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            invited_by INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            UNIQUE (namespace_id, user_id)
        );
        CREATE INDEX share_invitations_by_user ON share_invitations(user_id)
        """,
    ),
    Migration(
        10,
        "names: usernames, display, device, group and attachment names without control"
        " characters (storage/server/name_repair.py; old values kept in name_repairs)",
        REPAIRS_TABLE,
        then=repair_names,
    ),
    Migration(
        11,
        "accounts: a role (member or admin) and a disabled mark; the oldest account becomes"
        " the admin of a server that has none",
        # A server made before roles had nobody to administer it: its first account (the
        # person who set it up, as on a new server) becomes its admin.
        """
        ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
            CHECK (role IN ('member', 'admin'));
        ALTER TABLE users ADD COLUMN disabled_at INTEGER;
        UPDATE users SET role = 'admin'
            WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1)
        """,
    ),
    Migration(
        12,
        "blocks and mutes: whom each user has blocked or muted (private to that user)",
        # One table per list: a person may be both blocked and muted, and each is undone on
        # its own. The index by target answers "who has blocked or muted this author".
        """
        CREATE TABLE user_blocks (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            target_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, target_id)
        ) WITHOUT ROWID;
        CREATE INDEX user_blocks_by_target ON user_blocks(target_id, user_id);
        CREATE TABLE user_mutes (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            target_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, target_id)
        ) WITHOUT ROWID;
        CREATE INDEX user_mutes_by_target ON user_mutes(target_id, user_id)
        """,
    ),
    Migration(
        13,
        "locked accounts: a profile may be locked; follows of it wait in follow_requests",
        # The rule that reads these (whose posts a reader may see) is storage/server/visibility.py.
        """
        ALTER TABLE profiles ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE follow_requests (
            target_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            requester_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (target_id, requester_id)
        ) WITHOUT ROWID;
        CREATE INDEX follow_requests_by_requester ON follow_requests(requester_id, target_id)
        """,
    ),
    Migration(
        14,
        "accounts: a deleted account keeps its row as a tombstone (its name stays taken, what"
        " others kept still names it); one-time password reset codes, stored as hashes",
        """
        ALTER TABLE users ADD COLUMN deleted_at INTEGER;
        CREATE TABLE password_resets (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL UNIQUE,
            issued_by INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        )
        """,
    ),
    Migration(
        15,
        "invites: codes an admin hands out for registering on an invite-only server (only"
        " their SHA-256 is kept), with a use count and an expiry",
        """
        CREATE TABLE invites (
            id TEXT PRIMARY KEY,
            code_hash TEXT NOT NULL UNIQUE,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            uses INTEGER NOT NULL CHECK (uses >= 1),
            used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0 AND used <= uses),
            revoked_at INTEGER
        )
        """,
    ),
    Migration(
        16,
        "search: words match their forms (the porter stemmer over unicode61); the searcher's"
        " own chat messages, the names of their files and hashtags become searchable",
        # posts_fts and users_fts are made again with the stemming tokenizer and refilled from
        # their tables, so an upgraded server finds old posts by any form of their words.
        # messages_fts keeps its own copy of each text message with where it is (messages has
        # no rowid to point at). A message is indexed shortly after its commit, not in it:
        # the chat commit only queues it in messages_to_index (an FTS5 insert row by row, from
        # a trigger, costs several times the CPU of a queue row and a batched insert later),
        # and SearchRepository.index_waiting_messages() indexes the queue, on a timer and
        # before a search. files_fts holds the name (last path component) of each live
        # current entry under its version id; triggers on files_current queue each change in
        # files_to_index (in order: a name out when its entry changes or goes, in when it is
        # live), which is indexed the same way as messages. Each row also
        # holds its conversation ('c' || id) or namespace ('n' || id) as a token, so a search
        # reads only the searcher's own rows out of the index. The queries that read these are
        # storage/server/search.py.
        """
        DROP TRIGGER users_fts_insert;
        DROP TRIGGER users_fts_update;
        DROP TRIGGER users_fts_delete;
        DROP TABLE users_fts;
        DROP TABLE posts_fts;
        CREATE VIRTUAL TABLE posts_fts USING fts5(
            text, content='posts', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2');
        INSERT INTO posts_fts (rowid, text)
            SELECT id, text FROM posts WHERE deleted_at IS NULL AND text != '';
        CREATE VIRTUAL TABLE users_fts USING fts5(
            username, display_name, bio, tokenize='porter unicode61 remove_diacritics 2');
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
        END;

        CREATE VIRTUAL TABLE messages_fts USING fts5(
            text, conversation, conversation_id UNINDEXED, seq UNINDEXED,
            tokenize='porter unicode61 remove_diacritics 2');
        INSERT INTO messages_fts (text, conversation, conversation_id, seq)
            SELECT text, 'c' || conversation_id, conversation_id, seq
            FROM messages WHERE kind = 'text';
        CREATE TABLE messages_to_index (
            conversation_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        ) WITHOUT ROWID;
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN NEW.kind = 'text' BEGIN
            INSERT INTO messages_to_index (conversation_id, seq)
                VALUES (NEW.conversation_id, NEW.seq);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, kind ON messages BEGIN
            DELETE FROM messages_fts WHERE rowid IN (SELECT rowid FROM messages_fts
                WHERE messages_fts MATCH 'conversation : "c' || OLD.conversation_id || '"'
                AND seq = OLD.seq);
            INSERT OR IGNORE INTO messages_to_index (conversation_id, seq)
                SELECT NEW.conversation_id, NEW.seq WHERE NEW.kind = 'text';
        END;
        CREATE TRIGGER messages_fts_conversation_gone AFTER DELETE ON conversations BEGIN
            DELETE FROM messages_fts WHERE rowid IN (SELECT rowid FROM messages_fts
                WHERE messages_fts MATCH 'conversation : "c' || OLD.id || '"');
            DELETE FROM messages_to_index WHERE conversation_id = OLD.id;
        END;

        CREATE VIRTUAL TABLE files_fts USING fts5(
            name, namespace, content='', tokenize='porter unicode61 remove_diacritics 2');
        INSERT INTO files_fts (rowid, name, namespace)
            SELECT version_id, substr(path, length(rtrim(path, replace(path, '/', ''))) + 1),
                'n' || namespace_id
            FROM files_current WHERE deleted = 0;
        CREATE TABLE files_to_index (
            id INTEGER PRIMARY KEY,
            version_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            namespace TEXT NOT NULL,
            gone INTEGER NOT NULL
        );
        CREATE TRIGGER files_fts_insert AFTER INSERT ON files_current WHEN NEW.deleted = 0 BEGIN
            INSERT INTO files_to_index (version_id, name, namespace, gone)
                VALUES (NEW.version_id,
                    substr(NEW.path, length(rtrim(NEW.path, replace(NEW.path, '/', ''))) + 1),
                    'n' || NEW.namespace_id, 0);
        END;
        CREATE TRIGGER files_fts_update AFTER UPDATE ON files_current BEGIN
            INSERT INTO files_to_index (version_id, name, namespace, gone)
                SELECT OLD.version_id,
                    substr(OLD.path, length(rtrim(OLD.path, replace(OLD.path, '/', ''))) + 1),
                    'n' || OLD.namespace_id, 1
                WHERE OLD.deleted = 0;
            INSERT INTO files_to_index (version_id, name, namespace, gone)
                SELECT NEW.version_id,
                    substr(NEW.path, length(rtrim(NEW.path, replace(NEW.path, '/', ''))) + 1),
                    'n' || NEW.namespace_id, 0
                WHERE NEW.deleted = 0;
        END;
        CREATE TRIGGER files_fts_delete AFTER DELETE ON files_current WHEN OLD.deleted = 0 BEGIN
            INSERT INTO files_to_index (version_id, name, namespace, gone)
                VALUES (OLD.version_id,
                    substr(OLD.path, length(rtrim(OLD.path, replace(OLD.path, '/', ''))) + 1),
                    'n' || OLD.namespace_id, 1);
        END;

        CREATE INDEX post_tags_by_tag ON post_tags(tag, author_id)
        """,
        # PostgreSQL searches with indexes on the expressions its queries use
        # (storage/server/search_postgres.py), not these FTS5 tables and queues.
        postgres="""
        CREATE INDEX posts_search ON posts USING GIN (to_tsvector('english', text))
            WHERE deleted_at IS NULL;
        CREATE INDEX messages_search ON messages USING GIN (to_tsvector('english', text))
            WHERE kind = 'text';
        CREATE INDEX files_search ON files_current
            USING GIN (to_tsvector('english', regexp_replace(path, '^.*/', '')))
            WHERE deleted = 0;
        CREATE INDEX post_tags_by_tag ON post_tags ((tag COLLATE "C"), author_id)
        """,
    ),
    Migration(
        17,
        "node leases: each server process holds a snowflake node id of its own while it runs"
        " (released on exit, free again once a dead process's lease expires)",
        """
        CREATE TABLE node_leases (
            node_id INTEGER PRIMARY KEY CHECK (node_id >= 0 AND node_id < 1024),
            holder TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        )
        """,
        postgres="""
        CREATE TABLE node_leases (
            node_id BIGINT PRIMARY KEY CHECK (node_id >= 0 AND node_id < 1024),
            holder TEXT NOT NULL,
            expires_at BIGINT NOT NULL
        )
        """,
    ),
    Migration(
        18,
        "file moves: a path renamed or moved (files.move) records where its first new version"
        " came from, so the new path's history goes on through the old one's",
        """
        CREATE TABLE file_moves (
            version_id INTEGER PRIMARY KEY,
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            from_path TEXT NOT NULL,
            from_version_id INTEGER NOT NULL
        )
        """,
        postgres="""
        CREATE TABLE file_moves (
            version_id BIGINT PRIMARY KEY,
            namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            from_path TEXT NOT NULL,
            from_version_id BIGINT NOT NULL
        )
        """,
    ),
    Migration(
        19,
        "public links: a token (stored hashed) that lets anyone download one version of one"
        " file over plain HTTP, until it expires or is removed; a password is argon2-hashed",
        """
        CREATE TABLE file_links (
            id INTEGER PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            version_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            created_by INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            password_hash TEXT
        );
        CREATE INDEX file_links_by_creator ON file_links (created_by, id)
        """,
        postgres="""
        CREATE TABLE file_links (
            id BIGINT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            version_id BIGINT NOT NULL,
            path TEXT NOT NULL,
            created_by BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT,
            password_hash TEXT
        );
        CREATE INDEX file_links_by_creator ON file_links (created_by, id)
        """,
    ),
    Migration(
        20,
        "files on their way: an announced upload lets a namespace's members fetch the blocks"
        " its uploader has staged and stored before the commit that makes the version current",
        """
        CREATE TABLE announced_uploads (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            upload_id TEXT NOT NULL,
            namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, upload_id)
        );
        CREATE INDEX announced_uploads_by_created_at ON announced_uploads (created_at);
        CREATE INDEX staged_blocks_by_hash ON staged_blocks (hash)
        """,
        postgres="""
        CREATE TABLE announced_uploads (
            user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            upload_id TEXT NOT NULL,
            namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (user_id, upload_id)
        );
        CREATE INDEX announced_uploads_by_created_at ON announced_uploads (created_at);
        CREATE INDEX staged_blocks_by_hash ON staged_blocks (hash)
        """,
    ),
]
