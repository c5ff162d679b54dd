"""Storage exceptions. Engines raise these in place of their driver's errors, so nothing above
storage/ needs to know which database it runs on.

StorageError          anything the database layer could not do
├── MigrationError    the schema on disk is newer than this code, or a migration failed
├── Duplicate         a unique key already exists (e.g. a username), as a repository reports it
├── UniqueViolation   a statement broke a unique constraint (the engine's report)
└── Unavailable       the database cannot be reached (refused, lost, shutting down)
"""

from __future__ import annotations


class StorageError(Exception):
    pass


class MigrationError(StorageError):
    pass


class Duplicate(StorageError):
    pass


class UniqueViolation(StorageError):
    pass


class Unavailable(StorageError):
    pass
