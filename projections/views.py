"""The results read model's tables on PostgreSQL and SQLite (migrations/*/003_results.sql).

One page of the log is persisted in one transaction: the view rows that changed, in bulk,
and the projection's position, written by eventsourcing's tracking recorder on the same
cursor. The position is checked first (row-locked on PostgreSQL, under SQLite's write
lock): if another process moved it meanwhile, nothing is written (`PositionMoved`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder
from psycopg.rows import tuple_row

from ledger.streams import RULES_STREAM
from projections.fold import CertState, ResultsFold, SessionInfo, cert_from_row, started_result, utc_iso
from storage.codec import read_state, topic_for
from storage.store import PG_EVENTS_TABLE, SQLITE_EVENTS_TABLE, EventStore

# The projection's name in the tracking and rebuild tables carries its derivation's
# version: a version that derives results differently (migration 007, @2: late incident
# reports rescore, explanations name who decided, an error has no score; migration 008,
# @3: each row's `changed`, `was_published` and `public_changed`, for the change feed;
# migration 010, @4: a question left unanswered at a technical abort and de-neutralised is
# not answered; migration 013, @5: the prose names the jury's decisions and the
# explanation's `jury` record who took them; migration 018, @6: a ruling that lifted a
# rejection or cancellation is named with the one it lifted; migration 020, @7: each
# question says its credit) takes a new name. A process of an older version still
# running after the upgrade writes its own name's position, never this one's, so it
# cannot make this version take rows it derived the old way for its own (it did: an old
# `results` after `migrate` re-derived the dropped view the old way, and the new version
# served it as caught up). This name's first catch-up over a view another derived
# empties it (`ResultsViews.clear_foreign`).
PROJECTION_NAME = "certledger_results@7"
# The derivation's version alone: the change feed's cursors carry it, so that one issued
# before the results were derived again is not taken as if nothing behind it had changed.
DERIVATION = int(PROJECTION_NAME.rpartition("@")[2])
PG_TRACKING_TABLE = "certledger_results_tracking"
SQLITE_TRACKING_TABLE = "tracking"  # fixed by eventsourcing's SQLite recorder
VIEW_TABLES = ("certledger_results", "certledger_result_history", "certledger_scoring_inputs",
               "certledger_result_sessions")

_UPSERT_SESSIONS = (
    "INSERT INTO certledger_result_sessions (session_id, centre_id, finalised, published) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (session_id) DO UPDATE SET centre_id = excluded.centre_id, finalised = excluded.finalised, "
    "published = excluded.published"
)
_UPSERT_INPUTS = (
    "INSERT INTO certledger_scoring_inputs (certification_id, started_at, facts) VALUES (%s, %s, %s) "
    "ON CONFLICT (certification_id) DO UPDATE SET facts = excluded.facts"
)
# A row's `changed` is the position of the last event that changed what it shows: its
# start, a rescoring (`position`), or its session's publication flipping (which is not a
# rescoring, so it moves `changed` and not `position`). The change feed follows it
# (ResultsReader.changes). A page's upserts come before its flips, and a rescoring in a
# page after its flip keeps its own, later, position: hence the CASE.
# `public_changed` is the same for a `reader`, who sees a result only while published: a
# rescoring moves it only when the session is published at the page's end (`published`,
# its session always known here); else (a rescoring of a withdrawn result) the page's
# unpublication, if any, moves it, and nothing else.
_UPSERT_RESULTS = (
    "INSERT INTO certledger_results (certification_id, session_id, candidate_id, centre_id, started_at, status, "
    "pix_score, rule_version, published, seq, result, updated_at, position, changed, was_published, public_changed) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (certification_id) DO UPDATE SET status = excluded.status, pix_score = excluded.pix_score, "
    "rule_version = excluded.rule_version, seq = excluded.seq, result = excluded.result, "
    "updated_at = excluded.updated_at, position = excluded.position, changed = excluded.changed, "
    "public_changed = CASE WHEN excluded.published THEN excluded.public_changed "
    "ELSE certledger_results.public_changed END"
)
_INSERT_HISTORY = (
    "INSERT INTO certledger_result_history (certification_id, seq, cause, detail, recorded_at, position, result) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
# Any stable 64-bit number, distinct from storage.migrate's.
_ADVISORY_LOCK = 7_341_955_303
# Held for a whole background catch-up (`ResultsViews.catch_up_turn`); distinct from the
# page writers' lock, which that catch-up's own pages take on other connections.
_CATCH_UP_TURN_LOCK = 7_341_955_304
_FLIP_PUBLISHED = (
    "UPDATE certledger_results SET published = %s, was_published = (was_published OR %s), "
    "changed = CASE WHEN changed < %s THEN %s ELSE changed END, "
    "public_changed = CASE WHEN public_changed < %s THEN %s ELSE public_changed END WHERE session_id = %s"
)


class PositionMoved(Exception):
    """Another process advanced the projection meanwhile: reload and go on from there."""


def as_text(value: Any) -> str:
    return utc_iso(value) if isinstance(value, datetime) else value


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


_snapshots = threading.local()


def _pins() -> dict[int, Any]:
    """This thread's pinned read connections, by store."""
    return _snapshots.__dict__.setdefault("pins", {})


@contextmanager
def read_snapshot(store: EventStore) -> Iterator[None]:
    """Every read of the views (`ResultsViews.query`) made by this thread on `store`
    inside the block sees one snapshot: one read-only transaction on one connection
    (REPEATABLE READ on PostgreSQL; a deferred transaction on SQLite, whose snapshot is
    taken at its first read). What a report puts together from several reads (an audit
    trail's current result, its history and its events; a what-if's inputs and current
    results) cannot then mix the states before and after a concurrent catch-up.
    Re-entrant; writes are not allowed inside."""
    pins = _pins()
    if id(store) in pins:
        yield
        return
    if store.backend == "postgresql":
        with store.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with _pinned(pins, id(store), conn):
                yield
        return
    # (A file ledger is in WAL mode: writers go on meanwhile, unseen by the snapshot.)
    with store.datastore.get_connection(commit=False) as conn:
        raw: sqlite3.Connection = conn._sqlite_conn  # noqa: SLF001
        raw.execute("BEGIN DEFERRED")
        try:
            with _pinned(pins, id(store), raw):
                yield
        finally:
            raw.execute("ROLLBACK")  # read only: nothing to keep


@contextmanager
def _pinned(pins: dict[int, Any], key: int, conn: Any) -> Iterator[None]:
    pins[key] = conn
    try:
        yield
    finally:
        del pins[key]


class ResultsViews:
    """SQL access to the read model, the same statements on both backends."""

    def __init__(self, store: EventStore):
        self.store = store
        self.pg = store.backend == "postgresql"
        if self.pg:
            self.tracker: Any = PostgresTrackingRecorder(store.datastore, tracking_table_name=PG_TRACKING_TABLE)
            self.tracking_table = PG_TRACKING_TABLE
        else:
            self.tracker = SQLiteTrackingRecorder(store.datastore)
            self.tracking_table = SQLITE_TRACKING_TABLE
        # The event log's table and its position column, for the queries of this module
        # and of the verify modules (`projections.verify_log`, `verify_chain`).
        self.log_table, self.log_key = ((PG_EVENTS_TABLE, "notification_id") if self.pg
                                        else (SQLITE_EVENTS_TABLE, "rowid"))

    # ------------------------------------------------------------------------ reads
    def sql(self, text: str) -> str:
        return text if self.pg else text.replace("%s", "?")

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        pinned = _pins().get(id(self.store))  # inside read_snapshot: its one connection
        if self.pg:
            connection = nullcontext(pinned) if pinned is not None else self.store.datastore.get_connection()
            with connection as conn, conn.cursor(row_factory=tuple_row) as curs:
                curs.execute(text, list(params))
                return curs.fetchall()
        if pinned is not None:
            return [tuple(r) for r in pinned.execute(self.sql(text), list(params)).fetchall()]
        with self.store.datastore.transaction(commit=False) as c:
            c.execute(self.sql(text), list(params))
            return [tuple(r) for r in c.fetchall()]

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        if self.pg:
            return f"{column} = ANY(%s)", [list(values)]
        return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)

    def has_rows(self) -> bool:
        return bool(self.query("SELECT 1 FROM certledger_results LIMIT 1"))

    def clear_foreign(self) -> bool:
        """Empty the read model if this projection's position is still 0 (a view another
        derived: see PROJECTION_NAME); whether it did. Judged and done under the writers'
        lock: a first page another process commits meanwhile (its rows with its
        position) is never emptied as foreign."""
        with self.transaction() as curs:
            if self._locked_position(curs):
                return False
            self._empty(curs)
            return True

    def forget_lost_view(self) -> bool:
        """Start again from the first event if the results are gone while the position
        says they were derived: a certification started at or before the position, and no
        result row (a restore that left the read models out but kept their position, on
        which every result was a 404 and `/health` said lag 0). Whether it did. Judged
        under the writers' lock: a rebuild's first page is never taken for a lost view."""
        with self.transaction() as curs:
            position = self._locked_position(curs)
            curs.execute("SELECT 1 FROM certledger_results LIMIT 1")
            if not position or curs.fetchone() is not None:
                return False
            curs.execute(self.sql(f"SELECT 1 FROM {self.log_table} WHERE topic = %s AND {self.log_key} <= %s LIMIT 1"),
                         [topic_for("CertificationStarted"), position])
            if curs.fetchone() is None:
                return False
            self._empty(curs)  # (what is left of it: its sessions, histories, inputs)
            curs.execute(self.sql(f"DELETE FROM {self.tracking_table} WHERE application_name = %s"), [PROJECTION_NAME])
            return True

    def _empty(self, curs: Any) -> None:
        if self.pg:
            curs.execute(f"TRUNCATE {', '.join(VIEW_TABLES)}")
        else:
            for table in VIEW_TABLES:
                curs.execute(f"DELETE FROM {table}")

    def position(self) -> int:
        rows = self.query(f"SELECT notification_id FROM {self.tracking_table} WHERE application_name = %s",
                          [PROJECTION_NAME])
        return rows[0][0] if rows and rows[0][0] is not None else 0

    def event_at(self, position: int) -> bytes | None:
        """The stored event (its JSON) at a log position, None if there is none."""
        rows = self.query(f"SELECT state FROM {self.log_table} WHERE {self.log_key} = %s", [position])
        return bytes(rows[0][0]) if rows else None

    def events_after(self, position: int, at_most: int | None = None) -> int:
        """The events recorded after `position` (counted up to `at_most`, if given: a
        bounded index scan however long the log)."""
        text = f"SELECT {self.log_key} FROM {self.log_table} WHERE {self.log_key} > %s"
        if at_most is None:
            return self.query(f"SELECT count(*) FROM ({text}) AS pending", [position])[0][0]
        return self.query(f"SELECT count(*) FROM ({text} LIMIT %s) AS pending", [position, int(at_most)])[0][0]

    def pending_rescorings(self, position: int, at_most: int) -> int:
        """About how many certifications the rule versions recorded after `position` will
        rescore, counted up to `at_most`: one event of the log, it may be most of the
        catch-up's work. A version takes over the starts from its effective_from up to the
        next version's (the fold rescores those whose version in force changes: these,
        but for a tie with a version pending too); each is a bounded count on the
        started_at index. The rules stream is a few events, read as dates alone."""
        at = ("convert_from(state, 'UTF8')::jsonb #>> '{event,effective_from}'" if self.pg
              else "json_extract(CAST(state AS TEXT), '$.event.effective_from')")
        rows = self.query(f"SELECT {self.log_key}, {at} FROM {self.log_table} WHERE originator_id = %s "
                          f"ORDER BY {self.log_key}", [RULES_STREAM])
        starts = sorted(as_datetime(text) for p, text in rows if p <= position)
        total = 0
        for _, text in (row for row in rows if row[0] > position):
            since = as_datetime(text)
            until = next((start for start in starts if start > since), None)
            where = "seq > 0 AND started_at >= %s" + ("" if until is None else " AND started_at < %s")
            params = [since, *([] if until is None else [until])]
            total += self.query(f"SELECT count(*) FROM (SELECT 1 FROM certledger_results WHERE {where} LIMIT %s) "
                                "AS taken_over", [*(params if self.pg else map(utc_iso, params)), at_most - total])[0][0]
            if total >= at_most:
                break
            starts = sorted([*starts, since])
        return total

    def log_rows(self, after: int, limit: int) -> list[tuple[int, str, bytes]]:
        """The next page of the log after `after`, undecoded: (position, stream, JSON);
        the fold decodes each row as it comes to it (`ResultsFold.apply_encoded`).

        The query of eventsourcing's `select_notifications` (notification ids are handed
        out in commit order, so following them skips nothing), without its per-row
        objects, in binary on PostgreSQL: the projection's hot read path."""
        if self.pg:
            text = (f"SELECT notification_id, originator_id, state FROM {PG_EVENTS_TABLE} "
                    "WHERE notification_id > %s ORDER BY notification_id LIMIT %s")
            with self.store.datastore.get_connection() as conn, \
                    conn.cursor(row_factory=tuple_row, binary=True) as curs:
                curs.execute(text, [after, limit], prepare=True)
                return curs.fetchall()
        text = f"SELECT rowid, originator_id, state FROM {SQLITE_EVENTS_TABLE} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        with self.store.datastore.transaction(commit=False) as c:
            c.execute(text, [after, limit])
            return [tuple(r) for r in c.fetchall()]

    def stream_entries(self, streams: Sequence[str]) -> list[tuple[int, str, dict]]:
        """Several streams' entries, decoded, in log order: (position, stream, state)."""
        if not streams:
            return []
        if self.pg:
            text = (f"SELECT notification_id, originator_id, originator_version, state FROM {PG_EVENTS_TABLE} "
                    "WHERE originator_id = ANY(%s) ORDER BY notification_id")
        else:
            text = (f"SELECT rowid, originator_id, originator_version, state FROM {SQLITE_EVENTS_TABLE} "
                    f"WHERE originator_id IN ({', '.join(['%s'] * len(streams))}) ORDER BY rowid")
        params = [list(streams)] if self.pg else list(streams)
        return [(p, s, read_state(s, v, p, state)) for p, s, v, state in self.query(text, params)]

    def load_certs(self, ids: set[str]) -> list[CertState]:
        certs = []
        for chunk in chunks(sorted(ids), 500):
            where, params = self.in_list("r.certification_id", chunk)
            rows = self.query(
                "SELECT r.certification_id, i.started_at, i.facts, r.result, r.seq, r.updated_at, r.position "
                "FROM certledger_results r JOIN certledger_scoring_inputs i ON i.certification_id = r.certification_id "
                f"WHERE {where}", params,
            )
            for cert_id, started_at, facts, result, seq, updated_at, position in rows:
                certs.append(cert_from_row(cert_id, as_datetime(started_at), orjson.loads(facts),
                                           result if seq else None, seq, as_text(updated_at), position))
        return certs

    def load_sessions(self, ids: set[str]) -> list[SessionInfo]:
        sessions: dict[str, SessionInfo] = {}
        for chunk in chunks(sorted(ids), 500):
            where, params = self.in_list("session_id", chunk)
            for sid, centre, finalised, published in self.query(
                f"SELECT session_id, centre_id, finalised, published FROM certledger_result_sessions WHERE {where}",
                params,
            ):
                sessions[sid] = SessionInfo(sid, centre, bool(finalised), bool(published))
            for sid, cert_id in self.query(
                f"SELECT session_id, certification_id FROM certledger_results WHERE {where} ORDER BY position, "
                "certification_id", params,
            ):
                sessions.setdefault(sid, SessionInfo(sid)).certifications.append(cert_id)
        return list(sessions.values())

    def rule_candidates(self, since: datetime) -> list[tuple[str, datetime, str | None]]:
        rows = self.query(
            "SELECT certification_id, started_at, rule_version FROM certledger_results "
            "WHERE seq > 0 AND started_at >= %s", [since if self.pg else utc_iso(since)],
        )
        return [(c, as_datetime(s), v) for c, s, v in rows]

    # ----------------------------------------------------------------------- writes
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction: a cursor with `execute(sql, params)` / `executemany`."""
        if id(self.store) in _pins():
            # A catch-up in a snapshot would read its own position from the pinned past
            # and never see what it writes: it would start again from there, forever.
            raise RuntimeError("the views are written outside read_snapshot, never in it")
        if self.pg:
            with self.store.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
                yield curs
            return
        with self.store.datastore.get_connection(commit=True) as conn:
            raw: sqlite3.Connection = conn._sqlite_conn  # noqa: SLF001
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteCursor(raw.cursor())
                raw.execute("COMMIT")
            except BaseException:
                # A Ctrl-C may land once COMMIT is done: nothing is left to roll back, and
                # "cannot rollback - no transaction is active" replaced the interruption
                # (a traceback where `rebuild` says how to resume).
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise

    def write_rows(self, rows: PageRows, expected: int, new: int) -> None:
        """A page's rows (`page_rows`) and the position `new`, in one transaction, if the
        position is still `expected` (else `PositionMoved`)."""
        with self.transaction() as curs:
            self._move_position(curs, expected, new)
            # executemany (pipelined by psycopg) beat one unnest() over arrays here: the
            # server parses large JSON texts in array literals slowly.
            for name, statement in (("sessions", _UPSERT_SESSIONS), ("inputs", _UPSERT_INPUTS),
                                    ("results", _UPSERT_RESULTS), ("history", _INSERT_HISTORY),
                                    ("published", _FLIP_PUBLISHED)):
                if rows[name]:
                    curs.executemany(self.sql(statement), rows[name])

    def _locked_position(self, curs: Any) -> int:
        """This projection's position, read under the writers' lock (on SQLite, the write
        transaction's own) for the rest of the transaction."""
        lock = ""
        if self.pg:  # one projection writer at a time, even before the tracking row exists
            curs.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
            lock = " FOR UPDATE"
        curs.execute(self.sql(f"SELECT notification_id FROM {self.tracking_table} WHERE application_name = %s{lock}"),
                     [PROJECTION_NAME])
        row = curs.fetchone()
        return ((row["notification_id"] if self.pg else row[0]) if row else 0) or 0

    def _move_position(self, curs: Any, expected: int, new: int) -> None:
        current = self._locked_position(curs)
        if current != expected:
            raise PositionMoved(f"the results projection is at {current}, not {expected}")
        try:
            self.tracker._insert_tracking(curs, Tracking(PROJECTION_NAME, new))  # noqa: SLF001
        except IntegrityError as e:
            raise PositionMoved(str(e)) from e

    def reset(self, target: int, started_at: str) -> None:
        """Empty the read model and its position, and record a rebuild in progress."""
        with self.transaction() as curs:
            # Under the writers' lock, as every page write: emptied first, the tables were
            # locked in the other order than a page's (position, then rows), and a rebuild
            # started beside a server's catch-up deadlocked with it (PostgreSQL aborted one).
            self._locked_position(curs)
            self._empty(curs)
            curs.execute(self.sql(f"DELETE FROM {self.tracking_table} WHERE application_name = %s"), [PROJECTION_NAME])
            curs.execute(self.sql("DELETE FROM certledger_rebuilds WHERE projection = %s"), [PROJECTION_NAME])
            curs.execute(self.sql("INSERT INTO certledger_rebuilds (projection, started_at, target) VALUES (%s, %s, %s)"),
                         [PROJECTION_NAME, started_at, target])

    @contextmanager
    def catch_up_turn(self) -> Iterator[bool]:
        """Whether this process may run a long catch-up now: False while another process
        runs one (PostgreSQL: a session lock on its own pooled connection, released at the
        end, or by the server should the process die). Each of a server's workers started
        its own after an upgrade: the same derivation N times over, each page racing the
        others'. (On SQLite, always True: its writers take turns page by page anyway.)"""
        if not self.pg:
            yield True
            return
        with self.store.datastore.get_connection() as conn:
            held = conn.execute("SELECT pg_try_advisory_lock(%s) AS held", [_CATCH_UP_TURN_LOCK]).fetchone()["held"]
            try:
                yield held
            finally:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [_CATCH_UP_TURN_LOCK])

    def catch_up_running(self) -> bool:
        """Whether some process of this database holds the turn (`catch_up_turn`): a long
        catch-up runs. Read off the server's lock table, so every worker sees it as it is,
        not as it was when it last looked. (SQLite: never known; False.)"""
        if not self.pg:
            return False
        rows = self.query(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid = %s AND objid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [_CATCH_UP_TURN_LOCK >> 32, _CATCH_UP_TURN_LOCK & 0xFFFF_FFFF],
        )
        return bool(rows)

    def rebuild_in_progress(self) -> tuple[str, int] | None:
        rows = self.query("SELECT started_at, target FROM certledger_rebuilds WHERE projection = %s", [PROJECTION_NAME])
        return (as_text(rows[0][0]), rows[0][1]) if rows else None

    def rebuild_done(self) -> None:
        with self.transaction() as curs:
            curs.execute(self.sql("DELETE FROM certledger_rebuilds WHERE projection = %s"), [PROJECTION_NAME])


PageRows = dict[str, list[tuple]]  # table -> rows, plain values (they go to a writer process)


def page_rows(fold: ResultsFold) -> PageRows:
    """What a page changed, as rows, from the fold's state at the page's end."""
    dumps = orjson.dumps
    sessions = [
        (s.session_id, s.centre_id, s.finalised, s.published)
        for s in (fold.sessions[sid] for sid in sorted(fold.dirty_sessions))
    ]
    inputs = [
        (c.certification_id, utc_iso(c.started_at), dumps(c.facts).decode())
        for c in (fold.certs[cid] for cid in sorted(fold.dirty_facts))
    ]
    results = []
    for cid in sorted(fold.dirty_rows):
        c = fold.certs[cid]
        # A row is created when its certification starts, its session held then; a state
        # loaded back later comes with its session (`ResultsFold.ensure_row_sessions`): the
        # upsert leaves a row's centre and publication to the session's own statements,
        # but its `public_changed` depends on the publication.
        session = fold.sessions.get(c.session_id)
        outcome = c.outcome if c.outcome is not None else started_result(cid)
        results.append((
            cid, c.session_id, c.candidate_id, session.centre_id if session else None, utc_iso(c.started_at),
            outcome["status"], outcome["pix_score"], outcome["rule_version"], bool(session and session.published),
            c.seq, c.result_json if c.result_json is not None else dumps(outcome).decode(), c.updated_at, c.position,
            c.position, bool(session and session.published),
            c.position if session and session.published else 0,  # (0: never seen by a reader yet)
        ))
    history = [
        (h.certification_id, h.seq, h.cause, h.detail, h.recorded_at, h.position, dumps(h.result).decode())
        for h in fold.new_history
    ]
    published = [(fold.sessions[sid].published, seen, at, at, at, at, sid)
                 for sid, (at, seen) in sorted(fold.published_changed.items())]
    return {"sessions": sessions, "inputs": inputs, "results": results, "history": history, "published": published}


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
