"""The client database's schema (cache + outbox), as numbered migrations. Append only."""

from __future__ import annotations

from storage.database import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "outbox and a keyed cache",
        """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            client_id TEXT NOT NULL UNIQUE,
            op TEXT NOT NULL,
            args BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            failed_code TEXT,
            failed_message TEXT
        );
        CREATE TABLE cache (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value BLOB NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (kind, key)
        )
        """,
    ),
    Migration(
        2,
        "outbox entries that refer to earlier ones by local id",
        """
        ALTER TABLE outbox ADD COLUMN refs TEXT;
        CREATE TABLE outbox_ids (
            local_id TEXT PRIMARY KEY,
            server_id TEXT NOT NULL,
            created_at INTEGER NOT NULL
        )
        """,
    ),
    Migration(
        3,
        "chat: cached messages, catch-up cursors, targets",
        """
        CREATE TABLE chat_messages (
            conversation TEXT NOT NULL,
            seq INTEGER NOT NULL,
            body BLOB NOT NULL,
            PRIMARY KEY (conversation, seq)
        ) WITHOUT ROWID;
        CREATE TABLE chat_cursors (
            conversation TEXT PRIMARY KEY,
            seq INTEGER NOT NULL
        );
        CREATE TABLE chat_targets (
            target TEXT PRIMARY KEY,
            conversation TEXT NOT NULL
        )
        """,
    ),
    Migration(
        4,
        "file sync: workspace, local hash cache, synced base, remote view, cursors",
        """
        CREATE TABLE sync_workspace (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            root TEXT NOT NULL
        );
        CREATE TABLE sync_local (
            path TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            blocks TEXT NOT NULL
        );
        CREATE TABLE sync_synced (
            namespace_id TEXT NOT NULL,
            path TEXT NOT NULL,
            version_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            deleted INTEGER NOT NULL,
            blocks TEXT NOT NULL,
            PRIMARY KEY (namespace_id, path)
        );
        CREATE TABLE sync_remote (
            namespace_id TEXT NOT NULL,
            path TEXT NOT NULL,
            version_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ms INTEGER NOT NULL,
            deleted INTEGER NOT NULL,
            blocks TEXT NOT NULL,
            PRIMARY KEY (namespace_id, path)
        );
        CREATE TABLE sync_cursors (
            namespace_id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL
        )
        """,
    ),
    Migration(
        5,
        "file sync: the folder each share is mounted under; unshared copies kept here only",
        """
        CREATE TABLE sync_mounts (
            namespace_id TEXT PRIMARY KEY,
            folder TEXT NOT NULL
        );
        CREATE TABLE sync_detached (
            folder TEXT PRIMARY KEY
        )
        """,
    ),
    Migration(
        6,
        "selective sync: workspace folders this device keeps off its disk (roost sync exclude)",
        """
        CREATE TABLE sync_excluded (
            path TEXT PRIMARY KEY
        )
        """,
    ),
]
