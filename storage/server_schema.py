"""The server database's schema, as numbered migrations. Append; never edit a released one."""

from __future__ import annotations

from storage.database import Migration

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
]
