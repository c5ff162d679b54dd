"""Storage exceptions.

StorageError          anything the database layer could not do
├── MigrationError    the schema on disk is newer than this code, or a migration failed
└── Duplicate         a unique key already exists (e.g. a username)
"""

from __future__ import annotations


class StorageError(Exception):
    pass


class MigrationError(StorageError):
    pass


class Duplicate(StorageError):
    pass
