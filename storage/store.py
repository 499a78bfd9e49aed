"""The event store: eventsourcing 9.5's recorders under the ledger's own write path.

Reads (one stream, the notification log, the last position) go through the library's
PostgreSQL and SQLite application recorders. Writes go through `writer()`: one
transaction that may span many batches, taking the library's table lock on PostgreSQL
(so a reader following notification ids never skips an event) and writing the event-id
index and session membership beside the events, so a batch is all or nothing. Each
transaction that wrote ends with a row of `certledger_commits`: its last position and
when it committed, stamped as it holds the write lock (see `_SEAL_PG`), which is what an
as-of answer knows the ledger held at T by.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg
import psycopg_pool
from eventsourcing.persistence import OperationalError, PersistenceError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from ledger.events import CertificationStarted
from ledger.recorded import Recorded, digest_of, ruling_digest, ruling_key_of
from storage import migrate as migrations
from storage.chain import CHAIN_TABLE, chain_up_sqlite
from storage.codec import from_stored, read_state, to_stored
from storage.errors import (
    EventIdAlreadyRecorded,
    InterruptedAfterCommit,
    LedgerNotPrepared,
    NoConnectionInTime,
    StorageError,
    StreamVersionConflict,
    first_line,
)
from storage.urls import DatabaseUrl, sqlite_busy_timeout

log = logging.getLogger(__name__)

# A bulk write of this many rows refreshes the planner's statistics (`refresh_statistics`).
ANALYZE_AFTER_ROWS = 10_000
PG_EVENTS_TABLE = "certledger_events"
SQLITE_EVENTS_TABLE = "stored_events"
COMMITS_TABLE = "certledger_commits"
# How long the pool keeps trying to replace a lost connection before giving up its slot
# (psycopg_pool's default is 5 minutes, on a doubling back-off: 1, 2, 4 … 128 s).
# Given up, the slot is taken again as a request needs it, at once: a server whose
# database was away for a minute served again within seconds of its return, not up to a
# minute after (the next step of the back-off).
RECONNECT_GIVE_UP_SECONDS = 4.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def commit_text(moment: datetime) -> str:
    """A commit instant as SQLite keeps it: UTC text of one width, so it sorts."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


# The row that ends a transaction that wrote: under the write lock, MAX is its own last
# position. Its instant:
# * is taken as the lock is held: on PostgreSQL by the server as it runs the statement,
#   which goes out with the lock's and the inserts' before the lock is granted (the
#   writer's clock would give the time it queued); a store given a clock of its own, a
#   test's, is stamped by it as it sends the statement;
# * is never before the last commit's (a clock set back, or one process's behind
#   another's, cannot make a later commit look earlier), nor before its own events'
#   recorded_at (the application host's clock ahead of the database's).
# Events written without a commit row by a process of a release before 009, left running,
# lie between the last row and this transaction's first event: a row `by_recorded_at`
# covers them first, so as-of answers know them by their recorded_at as before, not from
# this commit. (Under the lock no one else inserts: this transaction's positions are the
# `count` up to its last.)
# On PostgreSQL the statement is `certledger_seal` (migration 015), whose plans use the
# indexes however small the tables were when the connection first planned them.
_SEAL_PG = "SELECT certledger_seal(%s::timestamptz, %s::timestamptz, %s::bigint)"
# A transaction of its own on PostgreSQL: lock, inserts, commit row, check (migration 016).
# Arrays in binary (%b), as the writer sends them (see `_PostgresWriter._write_statements`).
_APPEND_PG = ("SELECT certledger_append(%s::timestamptz, %s::timestamptz, "
              "%b::text[], %b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[], "
              "%b::text[], %b::bigint[], %b::text[], %b::bytea[], %b::text[], %b::bigint[])")
# The check of what a write was judged against but does not write (migration 017): every
# PostgreSQL writer's, `certledger_append` included. It raises serialization_failure
# with the message below; SQLite's writer says the same from `_verify`.
_EXPECT_PG = "SELECT certledger_expect(%b::text[], %b::bigint[])"
_MOVED = "streams read by this batch moved meanwhile"
_SEAL_SQLITE = (f"INSERT INTO {COMMITS_TABLE} (last_position, committed_at, by_recorded_at) "
                "SELECT r.p, s.at, r.gap FROM "
                f"(SELECT (SELECT MAX(rowid) FROM {SQLITE_EVENTS_TABLE}) - ? AS p, 1 AS gap "
                f"UNION ALL SELECT (SELECT MAX(rowid) FROM {SQLITE_EVENTS_TABLE}), 0) r, "
                f"(SELECT MAX(?, ?, COALESCE((SELECT MAX(committed_at) FROM {COMMITS_TABLE}), '')) AS at) s "
                f"WHERE r.gap = 0 OR r.p > COALESCE((SELECT MAX(last_position) FROM {COMMITS_TABLE}), 0) "
                "ORDER BY r.p")


@dataclass(frozen=True, slots=True)
class ChainHead:
    position: int  # the last link's: the commit it closes ends there
    digest: str  # hex
    anchor: int  # where the chain starts (migration 014): the events up to it are not covered
    committed_at: str | None  # that commit's time, RFC 3339 UTC


@dataclass(frozen=True, slots=True)
class RawNotification:
    """A log row not yet decoded into a pydantic model: the fast path for projections."""

    position: int
    stream: str
    version: int
    state: bytes

    def decoded(self) -> dict:
        return read_state(self.stream, self.version, self.position, self.state)


class _Reads:
    """Look-ups shared by the store (each on a fresh connection) and by a writer (inside
    its own transaction, so it sees what it wrote and has not committed yet)."""

    backend: str

    def _rows(self, sql: str, params: Sequence) -> list[tuple]:  # pragma: no cover - interface
        raise NotImplementedError

    def _mark(self) -> str:
        return "?" if self.backend == "sqlite" else "%s"

    def event_digests(self, event_ids: Sequence[str]) -> dict[str, str]:
        if not event_ids:
            return {}
        marks = ", ".join([self._mark()] * len(event_ids))
        rows = self._rows(f"SELECT event_id, digest FROM certledger_event_ids WHERE event_id IN ({marks})", list(event_ids))
        return {r[0]: r[1] for r in rows}

    def indexed_at(self, key: str) -> tuple[str, int] | None:
        """(stream, version) of the event an event-id index key names."""
        rows = self._rows("SELECT originator_id, originator_version FROM certledger_event_ids "
                          f"WHERE event_id = {self._mark()}", [key])
        return (rows[0][0], int(rows[0][1])) if rows else None

    def certifications_of_session(self, session_id: str) -> list[str]:
        rows = self._rows(
            "SELECT certification_id FROM certledger_session_certifications "
            f"WHERE session_id = {self._mark()} ORDER BY certification_id",
            [session_id],
        )
        return [r[0] for r in rows]


class _PostgresDatastore(PostgresDatastore):
    """The library's datastore, with a pool that recovers promptly from an outage and a
    pool timeout that is not retried (`NoConnectionInTime`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pool.reconnect_timeout = RECONNECT_GIVE_UP_SECONDS

    @contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection]:
        got = False
        try:
            with super().get_connection() as conn:
                got = True
                yield conn
        except OperationalError as failed:
            if not got and isinstance(failed.__cause__, psycopg_pool.PoolTimeout):
                raise NoConnectionInTime(str(failed)) from failed
            raise


class EventStore(_Reads):
    def __init__(self, url: DatabaseUrl, *, create: bool = True, pool_size: int = 2,
                 clock: Callable[[], datetime] | None = None):
        self.url = url
        self.backend = url.backend
        self._checked_at = float("-inf")  # the pool's last check (drop_dead_connections)
        self._checking = False
        self._check_lock = threading.Lock()
        # What stamps each commit: None, the time as the lock is held (the server's clock
        # on PostgreSQL); a test's clock, moved by hand, else.
        self.clock = clock
        missing = migrations.pending(url)
        if create and url.backend == "sqlite" and missing:
            # The embedded ledger is created (and upgraded) on first use. Only then: the
            # migrator takes SQLite's write lock, and every reader opening the ledger
            # waited for any long write to end (failing after the busy timeout).
            migrations.migrate(url)
            missing = migrations.pending(url)
        if missing:
            raise LedgerNotPrepared(
                f"the database {url.redacted()} is not prepared for certledger "
                f"(missing migrations: {', '.join(missing)}): run `certledger migrate --db {url.redacted()}`"
            )
        if url.backend == "sqlite":
            self.datastore = SQLiteDatastore(url.path, originator_id_type="text",
                                           lock_timeout=max(1, round(sqlite_busy_timeout())))
            self.recorder = SQLiteApplicationRecorder(self.datastore, SQLITE_EVENTS_TABLE)
        else:
            self.datastore = _PostgresDatastore(
                dbname=url.dbname, host=url.host, port=url.port, user=url.user,
                password=url.password, pool_size=pool_size, max_overflow=8,
                originator_id_type="text", connect_timeout=10,
            )
            self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name=PG_EVENTS_TABLE)

    def close(self) -> None:
        self.datastore.close()

    def drop_dead_connections(self) -> None:
        """After a storage error: have the pool test its idle connections, replacing the
        dead, in a thread of its own. After a server restart every idle one was dead, and
        the requests given them failed in turn (13 of 35 in a review's run) until each had
        been tried. Checking each as it is taken (`pre_ping`) costs a round trip per
        checkout: 8-17% of ingest, measured. One check at a time, at most one a second;
        not awaited, since a server that stopped answering holds a check until the
        connections time out, and the failed request has its answer (503) already."""
        pool = getattr(self.datastore, "pool", None)
        if pool is None or not hasattr(pool, "check"):
            return  # (SQLite)
        with self._check_lock:
            now = time.monotonic()
            if self._checking or now - self._checked_at < 1.0:
                return
            self._checking, self._checked_at = True, now

        def check() -> None:
            try:
                pool.check()
                # The pool's own error says only that it waited ("couldn't get a connection
                # after 10 s"): a connection of its own says why (a database dropped, a
                # password changed, the server down), for the operator's log.
                with migrations.pg_connect(self.url, connect_timeout=5):
                    pass
            except Exception as failed:  # (the server still down: the next error tries again)
                log.warning("the database cannot be reached: %s", first_line(failed))
            finally:
                self._checking = False

        threading.Thread(target=check, name="certledger-pool-check", daemon=True).start()

    # ------------------------------------------------------------------ reads
    def read_stream(self, stream: str, after: int = 0) -> list[Recorded]:
        return [from_stored(s) for s in self.recorder.select_events(stream, gt=after or None)]

    def read_log(self, after: int = 0, limit: int = 1000) -> list[Recorded]:
        notes = self.recorder.select_notifications(after, limit, inclusive_of_start=False)
        return [from_stored(n, position=n.id) for n in notes]

    def read_log_raw(self, after: int = 0, limit: int = 5000) -> list[RawNotification]:
        notes = self.recorder.select_notifications(after, limit, inclusive_of_start=False)
        return [RawNotification(n.id, str(n.originator_id), n.originator_version, n.state) for n in notes]

    def iter_log(self, after: int = 0, page: int = 2000) -> Iterator[Recorded]:
        while True:
            batch = self.read_log(after, page)
            if not batch:
                return
            yield from batch
            after = batch[-1].position  # type: ignore[assignment]

    def read_streams_in_log_order(self, streams: Sequence[str]) -> list[Recorded]:
        """Several streams' events merged in the order the ledger recorded them."""
        if not streams:
            return []
        if self.backend == "sqlite":
            sql = (f"SELECT rowid, originator_id, originator_version, topic, state FROM {SQLITE_EVENTS_TABLE} "
                   f"WHERE originator_id IN ({', '.join('?' * len(streams))}) ORDER BY rowid")
            with self.datastore.transaction(commit=False) as c:
                c.execute(sql, list(streams))
                rows = [tuple(r) for r in c.fetchall()]
        else:
            sql = (f"SELECT notification_id, originator_id, originator_version, topic, state FROM {PG_EVENTS_TABLE} "
                   "WHERE originator_id = ANY(%s) ORDER BY notification_id")
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(sql, [list(streams)])
                rows = [tuple(r.values()) for r in curs.fetchall()]
        return [
            from_stored(StoredEvent(originator_id=r[1], originator_version=r[2], topic=r[3], state=bytes(r[4])), r[0])
            for r in rows
        ]

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def chain_head(self) -> ChainHead | None:
        """The hash chain's last link as stored (`storage.chain`), for whoever keeps heads
        to check the log against later (`verify --expect-chain`); None before 014, and
        while no commit is linked past the anchor (which vouches for nothing to keep)."""
        rows = self._rows(f"SELECT l.last_position, l.digest, (SELECT MIN(last_position) FROM {CHAIN_TABLE}), "
                          f"c.committed_at FROM {CHAIN_TABLE} l LEFT JOIN {COMMITS_TABLE} c "
                          "ON c.last_position = l.last_position ORDER BY l.last_position DESC LIMIT 1", [])
        if not rows or rows[0][0] == rows[0][2]:
            return None
        last, digest, anchor, when = rows[0]
        if isinstance(when, datetime):
            when = commit_text(when)  # PostgreSQL's timestamptz; SQLite keeps the text
        return ChainHead(int(last), bytes(digest).hex(), int(anchor), when)

    def refresh_statistics(self, changed: int) -> bool:
        """After a bulk write of `changed` rows (an import, a catch-up that derived
        results): on PostgreSQL, `ANALYZE` now, whether the server's autovacuum would
        later or never. Until then the planner misjudges the grown tables (an as-of read
        estimated 434,796 rows against 1,352, and took a parallel scan with JIT: 110–240
        ms instead of 15–32). A sample per table: about a second at millions of events.
        Whether it ran."""
        if self.backend != "postgresql" or changed < ANALYZE_AFTER_ROWS:
            return False
        try:
            with self.datastore.get_connection() as conn:
                # The ledger's own tables only: a bare ANALYZE sampled every table of the
                # database, other applications' too where a database is shared.
                # Those the ledger's own statements name (visible by the search path, as
                # quoted and qualified as needed): not `current_schema()`'s, which is a
                # role's own "$user" schema where one exists, the ledger's in public.
                tables = [row["name"] for row in conn.execute(  # (the pool's rows are dicts)
                    "SELECT c.oid::regclass::text AS name FROM pg_class c WHERE c.relkind IN ('r', 'p') "
                    "AND c.relname LIKE 'certledger\\_%' AND pg_table_is_visible(c.oid) ORDER BY 1").fetchall()]
                if tables:
                    conn.execute("ANALYZE " + ", ".join(tables))
        except (psycopg.Error, PersistenceError) as problem:
            # Statistics only help the planner: what was written stands (an import that
            # committed must not end in a traceback), and the server's autovacuum, or
            # the next bulk write, analyses later.
            # Its first line: libpq's message for a server gone goes on over two indented lines.
            log.warning("ANALYZE after a bulk write failed (%s); the tables are analysed later", first_line(problem))
            return False
        return True

    def _rows(self, sql: str, params: Sequence) -> list[tuple]:
        if self.backend == "sqlite":
            with self.datastore.transaction(commit=False) as c:
                c.execute(sql, params)
                return [tuple(r) for r in c.fetchall()]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return [tuple(r.values()) for r in curs.fetchall()]

    # ----------------------------------------------------------------- writes
    def append(self, records: Sequence[Recorded], *, expect: dict[str, int] | None = None,
               committed_at: datetime | None = None) -> None:
        """One transaction that writes `records` and nothing else, then checks that the
        streams of `expect` (judged against, not written) have not moved, as
        `_Writer.expect` does. `committed_at` stamps its commit instead of the clock (the
        built-in rule versions: held since their own dates, as their `recorded_at` says).
        On PostgreSQL it is one statement (migration 016), whose transaction takes the
        write lock once the server has every row: the lock is never held while the
        server waits for this process, whose thread may be waiting for the GIL."""
        if self.backend == "postgresql" and records:
            return self._append_at_once(records, expect or {}, committed_at)
        with self.writer() as w:
            w.stamp = committed_at
            w.write(records, expect=expect, last=True)

    def _append_at_once(self, records: Sequence[Recorded], expect: dict[str, int],
                        committed_at: datetime | None) -> None:
        ids, links, columns = _encoded(records)
        params = [_pg_stamp(self, committed_at), max(r.recorded_at for r in records),
                  *_arrays(ids, 4), *_arrays(links, 2), *columns,
                  *_expect_arrays({**expect, **_continued_pg(records)})]
        with self.datastore.get_connection() as conn:
            assert conn.autocommit  # the statement is its own transaction (the library's pool sets it)
            with _refusals():
                conn.execute(_APPEND_PG, params)

    @contextmanager
    def writer(self, *, lock: bool = False) -> Iterator[_Writer]:
        """One transaction: everything written through it commits together or not at all.

        `lock=True` takes the write lock at once (PostgreSQL's table lock; SQLite's
        write lock is always taken at once), for writers that judge facts inside the
        transaction; otherwise it is taken at the first write.
        """
        if self.backend == "sqlite":
            with self.datastore.get_connection(commit=True) as conn:
                raw: sqlite3.Connection = conn._sqlite_conn  # noqa: SLF001
                raw.execute("BEGIN IMMEDIATE")
                committing = False
                try:
                    writer = _SQLiteWriter(self, raw)
                    yield writer
                    writer.seal()
                    committing = True
                    raw.execute("COMMIT")
                except BaseException as problem:
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                        raise
                    # A Ctrl-C that landed as COMMIT returned: nothing is left to roll
                    # back, and what was written stands (as `ResultsViews.transaction`).
                    if committing and isinstance(problem, KeyboardInterrupt):
                        raise InterruptedAfterCommit() from None
                    raise
            return
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            writer = _PostgresWriter(self, curs)
            if lock:
                writer.lock()
            yield writer
            writer.seal()


def _index_rows(records: Sequence[Recorded], lines: list[dict]) -> tuple[list[tuple], list[tuple]]:
    ids = [
        (line["event_id"], digest_of(line), r.stream, r.version)
        for r, line in zip(records, lines)
        if "event_id" in line
    ]
    ids += [
        (key, ruling_digest(line), r.stream, r.version)
        for r, line in zip(records, lines)
        if (key := ruling_key_of(r.event)) is not None
    ]
    links = [
        (r.event.certification_id, r.event.session_id)
        for r in records
        if isinstance(r.event, CertificationStarted)
    ]
    return ids, links


def _encoded(records: Sequence[Recorded]) -> tuple[list[tuple], list[tuple], list[list]]:
    """The rows of the event-id index and of the session membership, and the events'
    columns (stream, version, topic, state): what every write of `records` inserts."""
    lines = [r.event.to_line() for r in records]
    ids, links = _index_rows(records, lines)
    stored = [to_stored(r, line) for r, line in zip(records, lines)]
    columns = [
        [s.originator_id for s in stored], [s.originator_version for s in stored],
        [s.topic for s in stored], [s.state for s in stored],
    ]
    return ids, links, columns


def _pg_stamp(store: EventStore, fixed: datetime | None) -> datetime | None:
    """A PostgreSQL commit's instant: `fixed`, else the store's own clock (a test's), else
    None: the server's, as it runs the commit row under the lock."""
    return fixed or (store.clock() if store.clock is not None else None)


def _arrays(rows: list[tuple], width: int) -> list[list]:
    """Rows as one list per column (`width` empty lists when there are none)."""
    return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(width)]


def _classify(error: psycopg.errors.UniqueViolation | sqlite3.IntegrityError) -> StorageError:
    """A unique index refused a row: an event id's (the id index) or a stream version's.
    On PostgreSQL told by the index's name: the message's context may quote a statement
    (migration 016's function) that names either table."""
    message = str(error)
    constraint = error.diag.constraint_name if isinstance(error, psycopg.Error) else None
    if "event_ids" in (constraint or message):
        return EventIdAlreadyRecorded(message)
    return StreamVersionConflict(message)


# An expectation on a session's membership rather than on a stream: a start writes the
# certification's stream and the membership table, not the session's stream, so a
# finalisation judged on the certifications it saw checks, at write time, that no other
# writer started one in the session meanwhile (else it would finalise without it).
MEMBERS_PREFIX = "members:"


def members_key(session_id: str) -> str:
    return MEMBERS_PREFIX + session_id


def _verify(versions: dict[str, int], rows: list[tuple]) -> None:
    """SQLite's check: `rows` are (stream, its latest version) as stored now; each must
    be as judged. (PostgreSQL's is migration 017's `certledger_expect`.)"""
    now = {r[0]: r[1] for r in rows}
    moved = sorted(s for s, v in versions.items() if now.get(s, 0) != v)
    if moved:
        raise StreamVersionConflict(f"{_MOVED}: {', '.join(moved)}")


def _continued(records: Sequence[Recorded]) -> dict[str, int]:
    """Each stream written, at the version its first record continues. A stream's key
    refuses a version taken, not one past the end: SQLite's `.restore` of an older backup
    under a running server left the server's cached states ahead of the restored log,
    and its next fact on such a stream was appended past the end, a gap in the log for
    good. Checked under the write lock (SQLite's, held from
    BEGIN), the stream is found moved, and the fact judged again on fresh reads."""
    first: dict[str, int] = {}
    for r in records:
        first.setdefault(r.stream, r.version - 1)
    return first


# certledger_expect's key (migration 022): the stream holds that version.
HOLDS_PREFIX = "holds:"


def _continued_pg(records: Sequence[Recorded]) -> dict[str, int]:
    """`_continued` as PostgreSQL checks it: after the inserts (016 sends them and the
    check in one statement), so not as the stream's end, which they moved, but as the
    version before the first one written, which the stream must hold."""
    return {HOLDS_PREFIX + stream: version for stream, version in _continued(records).items() if version > 0}


def _expect_arrays(versions: dict[str, int]) -> list[list]:
    """`certledger_expect`'s two arrays: the keys and the versions (or counts) expected."""
    keys = sorted(versions)
    return [keys, [versions[k] for k in keys]]


@contextmanager
def _refusals() -> Iterator[None]:
    """A PostgreSQL write's refusals as the store's errors: a unique key taken, or a
    stream judged against that moved (`certledger_expect`)."""
    try:
        yield
    except psycopg.errors.UniqueViolation as e:
        raise _classify(e) from e
    except psycopg.errors.SerializationFailure as e:
        message = e.diag.message_primary or str(e)
        if message.startswith(_MOVED):
            raise StreamVersionConflict(message) from e
        raise


class _Writer(_Reads):
    store: EventStore
    sealed = False  # the commit row is written
    stamp: datetime | None = None  # its instant, if not the clock's
    recorded: datetime | None = None  # the latest recorded_at written: the stamp's floor
    count = 0  # events written in this transaction (any: it ends with a commit row)

    def write(self, records: Sequence[Recorded], expect: dict[str, int] | None = None, *,
              last: bool = False) -> None:
        """Append `records`; with `expect`, then check those streams as `expect()` does.
        `last`: no other write follows in this transaction, so its commit row may go
        with these statements (on PostgreSQL, in the same round trip)."""
        raise NotImplementedError  # pragma: no cover - interface

    def _note(self, records: Sequence[Recorded]) -> None:
        self.count += len(records)
        latest = max((r.recorded_at for r in records), default=None)
        if latest is not None and (self.recorded is None or latest > self.recorded):
            self.recorded = latest

    def seal(self) -> None:
        """The commit row, unless written already or nothing was (see `writer`)."""
        if self.count and not self.sealed:
            self._execute(*self._seal())
            self.sealed = True

    def _seal(self) -> tuple[str, list]:
        raise NotImplementedError  # pragma: no cover - interface

    def _execute(self, sql: str, params: list) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def lock(self) -> None:  # SQLite holds its write lock from BEGIN IMMEDIATE
        pass

    def expect(self, versions: dict[str, int]) -> None:
        """Refuse to commit if a stream the facts were judged against, without being
        written to, moved since it was read. Checked under the write lock, which
        serialises writers, so the check cannot race."""
        if not versions:
            return
        self.lock()
        self._check_expected(versions)

    def _check_expected(self, versions: dict[str, int]) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def read_stream(self, stream: str, after: int = 0) -> list[Recorded]:
        table = SQLITE_EVENTS_TABLE if self.backend == "sqlite" else PG_EVENTS_TABLE
        m = self._mark()
        rows = self._rows(
            f"SELECT originator_version, topic, state FROM {table} "
            f"WHERE originator_id = {m} AND originator_version > {m} ORDER BY originator_version",
            [stream, after],
        )
        return [
            from_stored(StoredEvent(originator_id=stream, originator_version=r[0], topic=r[1], state=bytes(r[2])))
            for r in rows
        ]


class _SQLiteWriter(_Writer):
    backend = "sqlite"

    def __init__(self, store: EventStore, conn: sqlite3.Connection):
        self.store, self.conn = store, conn

    def _rows(self, sql: str, params: Sequence) -> list[tuple]:
        return [tuple(r) for r in self.conn.execute(sql, list(params)).fetchall()]

    def _seal(self) -> tuple[str, list]:
        moment = self.stamp or (self.store.clock or _utc_now)()  # (SQLite's lock is held from BEGIN)
        return _SEAL_SQLITE, [self.count, commit_text(moment), commit_text(self.recorded or moment)]

    def _check_expected(self, versions: dict[str, int]) -> None:
        # (stream, latest version) of the expected streams, and (members_key(session), how
        # many certifications it has) of the expected memberships.
        streams = [k for k in versions if not k.startswith(MEMBERS_PREFIX)]
        sessions = [k[len(MEMBERS_PREFIX):] for k in versions if k.startswith(MEMBERS_PREFIX)]
        parts, params = [], []
        if streams:
            parts.append(f"SELECT originator_id, MAX(originator_version) FROM {SQLITE_EVENTS_TABLE} "
                         f"WHERE originator_id IN ({', '.join('?' * len(streams))}) GROUP BY originator_id")
            params += streams
        if sessions:
            parts.append("SELECT ? || session_id, COUNT(*) FROM certledger_session_certifications "
                         f"WHERE session_id IN ({', '.join('?' * len(sessions))}) GROUP BY session_id")
            params += [MEMBERS_PREFIX, *sessions]
        _verify(versions, self._rows(" UNION ALL ".join(parts), params))

    def seal(self) -> None:
        linked = self.sealed
        super().seal()
        if self.sealed and not linked:
            chain_up_sqlite(self.conn, SQLITE_EVENTS_TABLE)  # (PostgreSQL's trigger does it there)

    def _execute(self, sql: str, params: list) -> None:
        self.conn.execute(sql, params)

    def write(self, records: Sequence[Recorded], expect: dict[str, int] | None = None, *,
              last: bool = False) -> None:
        self._note(records)
        self.expect(_continued(records))
        ids, links, columns = _encoded(records)
        try:
            self.conn.executemany("INSERT INTO certledger_event_ids VALUES (?,?,?,?)", ids)
            self.conn.executemany("INSERT INTO certledger_session_certifications VALUES (?,?)", links)
            self.conn.executemany(f"INSERT INTO {SQLITE_EVENTS_TABLE} VALUES (?,?,?,?)", zip(*columns))
        except sqlite3.IntegrityError as e:
            raise _classify(e) from e
        self.expect(expect or {})


class _PostgresWriter(_Writer):
    backend = "postgresql"

    def __init__(self, store: EventStore, curs: psycopg.Cursor):
        self.store, self.curs = store, curs
        self.locked = False

    def _rows(self, sql: str, params: Sequence) -> list[tuple]:
        self.curs.execute(sql, list(params))
        return [tuple(r.values()) for r in self.curs.fetchall()]

    def lock(self) -> None:
        if not self.locked:
            # The library's EXCLUSIVE lock and NOTIFY: ids are handed out in commit order.
            self.store.recorder._lock_table(self.curs)  # noqa: SLF001
            self.store.recorder._notify_channel(self.curs)  # noqa: SLF001
            self.locked = True

    def _seal(self) -> tuple[str, list]:
        return _SEAL_PG, [_pg_stamp(self.store, self.stamp), self.recorded, self.count]

    def _execute(self, sql: str, params: list) -> None:
        self.curs.execute(sql, params)

    def _check_expected(self, versions: dict[str, int]) -> None:
        with _refusals():
            self._execute(_EXPECT_PG, _expect_arrays(versions))

    def write(self, records: Sequence[Recorded], expect: dict[str, int] | None = None, *,
              last: bool = False) -> None:
        if not records:
            return self.expect(expect or {})
        self._note(records)
        expect = {**(expect or {}), **_continued_pg(records)}
        ids, links, columns = _encoded(records)
        # Pipelined: the lock's three statements, the inserts and the version check go
        # out together and are answered at once. Each round trip is paid while the
        # table lock is held (every other writer waits), and in a process whose other
        # threads hold the GIL each one can cost milliseconds to resume.
        with _refusals(), self.curs.connection.pipeline():
            self._write_statements(ids, links, columns)
            if last:  # the commit row goes out with the inserts: no round trip of its own
                self.seal()
            if expect:
                self._check_expected(expect)  # (its refusal arrives as the pipeline ends)

    def _write_statements(self, ids: list[tuple], links: list[tuple], columns: list[list]) -> None:
        # Every array goes in binary (%b): psycopg's text form quotes each element with
        # regular expressions in Python, and the pipeline sends the LOCK at once, so these
        # are dumped while the lock is held. 32 rows of events: 596 µs of client CPU in
        # text, 193 in binary (2026-11-27's tenth host).
        self.lock()
        if ids:
            self.curs.execute(
                "INSERT INTO certledger_event_ids SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[])",
                _arrays(ids, 4),
            )
        if links:
            self.curs.execute(
                "INSERT INTO certledger_session_certifications SELECT * FROM unnest(%b::text[], %b::text[])",
                _arrays(links, 2),
            )
        # Plain typed arrays, not the library's composite type: psycopg adapts a
        # composite array as escaped text, costly while the table lock is held.
        self.curs.execute(
            f"INSERT INTO {PG_EVENTS_TABLE} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::bytea[])",
            columns,
        )
