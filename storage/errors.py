"""Storage failures a caller can act on."""

from __future__ import annotations

import sqlite3

import psycopg
from eventsourcing import persistence


class StorageError(Exception):
    pass


class LedgerNotPrepared(StorageError):
    """The database has no ledger schema, or an old one."""


class StreamVersionConflict(StorageError):
    """Another writer appended to a stream since it was read: re-read, re-validate, retry."""


class EventIdAlreadyRecorded(StorageError):
    """An event_id is already in the ledger (a concurrent import of the same line)."""


class UnsupportedDatabaseUrl(StorageError):
    pass


class BusyTimeoutInvalid(StorageError):
    """$CERTLEDGER_SQLITE_BUSY_TIMEOUT is not a number of seconds from 0 to a day."""


# Errors of the storage rather than of the request (the database cannot be reached, is
# not prepared, or failed the statement): the API answers 503, not 500.
UNAVAILABLE = (
    StorageError, persistence.OperationalError, persistence.InterfaceError,
    persistence.ConnectionUnavailableError, persistence.ConnectionPoolClosedError, psycopg.OperationalError,
)


def sqlite_busy(error: BaseException) -> bool:
    """SQLite's "database is locked" once the busy timeout has passed: another writer (a
    long import) holds the embedded ledger. Only that is the storage being unavailable;
    any other OperationalError (no such table, a syntax error) is a bug, said as one."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # the library may wrap it
        seen.add(id(error))
        if isinstance(error, sqlite3.OperationalError):
            return getattr(error, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")
        if isinstance(error, persistence.OperationalError) and "database is locked" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def schema_missing(error: BaseException) -> bool:
    """A table of the ledger is missing: the database was reached but is not (or no
    longer) prepared, a deployment problem to say as one (503 ledger-not-prepared), not
    a bug (a 500 with tracebacks)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # the library may wrap it
        seen.add(id(error))
        if isinstance(error, psycopg.errors.UndefinedTable):
            return True
        if isinstance(error, sqlite3.OperationalError) and str(error).startswith("no such table"):
            return True
        error = error.__cause__ or error.__context__
    return False
