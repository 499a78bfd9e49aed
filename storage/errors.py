"""Storage failures a caller can act on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
from eventsourcing import persistence


class StorageError(Exception):
    pass


class StoredEventUnreadable(Exception):
    """A stored event that no longer reads as a recorded fact (its state changed past the
    triggers, or a damaged database): a read that replays it stops here, naming where it
    lies, where an audit, an as-of answer, an export or a rebuild ended in the decoder's
    traceback. Not a StorageError: retrying cannot help (the API would say 503)."""

    def __init__(self, stream: str, version: int | None, position: int | None, error: BaseException):
        named = stream if version is None else f"{stream} v{version}"
        where = named if position is None else f"position {position} ({named})"
        self.position = position
        super().__init__(f"the event stored at {where} cannot be read ({type(error).__name__}: "
                         f"{str(error)[:200]}): the log was changed past its triggers, or the database is damaged; "
                         "`certledger verify` names every such event, and a backup restores them (README: Backups)")


class InterruptedAfterCommit(KeyboardInterrupt):
    """A Ctrl-C that landed once a transaction had committed (as SQLite's COMMIT returned,
    or found so afterwards: `report`, what the import recorded, when known): what it
    wrote is in the ledger. (Its ROLLBACK then failed, "no transaction is active", and an
    import ended in that traceback, exit 1, its events recorded all the same.)"""

    def __init__(self, report: object = None) -> None:
        super().__init__()
        self.report = report


class LedgerNotPrepared(StorageError):
    """The database has no ledger schema, or an old one."""


class LedgerNewerThanRelease(StorageError):
    """The database records migrations this release does not have: a newer certledger
    migrated it. Reading its tables with older code could misread them and writing could
    break what the newer release derives from them, so this release refuses it whole."""


class ForeignDatabase(StorageError):
    """A SQLite file holding another application's tables and no ledger: `init` used to
    add the ledger's fourteen tables beside them, mixing two applications in one file
    (and their backups, their deletions)."""


class DatabaseNotUtf8(StorageError):
    """A new ledger asked of a PostgreSQL database not encoded in UTF-8: facts carry any
    Unicode text, and such a database refused other characters only once a fact held
    one (a raw encoding error in the middle of an import or a request)."""


class WriteConflict(StorageError):
    """The write lost to another writer's: what it was judged on is to be read again,
    judged again and written again."""


class StreamVersionConflict(WriteConflict):
    """Another writer appended to a stream since it was read: re-read, re-validate, retry."""


class EventIdAlreadyRecorded(WriteConflict):
    """An event_id is already in the ledger (a concurrent import of the same line)."""


class NoConnectionInTime(StorageError):
    """No pooled connection came within the pool's timeout (the database away, or every
    connection busy). The pool has waited already: the library's retry of a dropped
    connection, ten attempts, made every request wait ten timeouts (100 s a request,
    `/health` included, while the database was down)."""


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
    for cause in _chain(error):
        if isinstance(cause, sqlite3.OperationalError):
            return getattr(cause, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")
        if isinstance(cause, persistence.OperationalError) and "database is locked" in str(cause):
            return True
    return False


def schema_missing(error: BaseException) -> bool:
    """A table of the ledger is missing: the database was reached but is not (or no
    longer) prepared, a deployment problem to say as one (503 ledger-not-prepared), not
    a bug (a 500 with tracebacks)."""
    return any(isinstance(cause, psycopg.errors.UndefinedTable)
               or (isinstance(cause, sqlite3.OperationalError) and str(cause).startswith("no such table"))
               for cause in _chain(error))


def permission_denied(error: BaseException) -> BaseException | None:
    """PostgreSQL's own refusal when the connecting role lacks a privilege the statement
    needs (SQLSTATE 42501): a deployment's grants to mend, not a bug, so said as one."""
    return next((cause for cause in _chain(error) if isinstance(cause, psycopg.errors.InsufficientPrivilege)), None)


def sqlite_corrupt(error: BaseException) -> bool:
    """The embedded ledger's file is damaged (a copy taken while a server wrote, a backup
    copied over a file beside a newer write-ahead log): for a backup to mend, not a bug."""
    # By the driver's (extended) code, SQLITE_CORRUPT_INDEX and the like included; not by
    # the words: "malformed JSON" is a query's own error.
    return _sqlite_error_named(error, ("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def sqlite_storage_failed(error: BaseException) -> bool:
    """The embedded ledger's file could not be written or read: its disk full, an I/O
    error, a file or file system gone read-only, a file that cannot be opened. The
    machine's to mend, not a bug (a traceback said it was one); nothing of the
    transaction was written."""
    return _sqlite_error_named(error, ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"))


def _sqlite_error_named(error: BaseException, prefixes: tuple[str, ...]) -> bool:
    """Whether the error, or one it was raised from or during, is the driver's with a
    (primary or extended) code among `prefixes`: by the code, not the words."""
    return any(isinstance(cause, sqlite3.DatabaseError)
               and (getattr(cause, "sqlite_errorname", "") or "").startswith(prefixes)
               for cause in _chain(error))


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """The error and those it was raised from or during, in turn: the library may wrap
    the driver's own."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def root_cause(error: BaseException) -> BaseException:
    """The driver's own error under the library's wrappers, which repeat or hide its words
    (a chain that loops back ends where it would)."""
    seen = {id(error)}
    while error.__cause__ is not None and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    return error


def first_line(error: BaseException) -> str:
    """What an operator is told of a storage error: the driver's first line."""
    return (str(root_cause(error)).strip().splitlines() or [type(error).__name__])[0]

