"""Group commit: commands submitted concurrently are judged one by one and written in one
transaction.

    committer = enable_group_commit(ledger.service)   # record() now goes through it
    ledger.service.record(events, by="centre:42")      # from any number of threads
    committer.close()

Why: every `LedgerService.record` commits its own transaction under the library's
EXCLUSIVE table lock (notification ids in commit order), after a few reads to catch its
streams up. A process then commits at most a few hundred commands a second, whatever
the number of its threads; the commit (a WAL flush) and the round trips, not the
validation, are the cost.

How: one committer thread per `LedgerService` takes every command waiting (up to
`max_events` events), catches all the streams they name up with the store in one query,
judges each command in turn against the states left by the commands before it (the
overlay of `commands.recording`), and writes the records of the accepted ones in one
transaction. Each caller gets its own outcome:

* a refused command (`BatchRejected`, or any error while judging it) is answered with its
  error and its effects are taken back from the overlay before the next command is
  judged: it affects no other command, and nothing of it is written;
* a command's batch stays all or nothing, judged exactly as `record` judges it;
* optimistic concurrency is unchanged: if another writer appended to one of the group's
  streams meanwhile, the write fails on the stream versions, the streams are re-read and
  every command of the group is judged again (at most MAX_RETRIES times); outcomes are
  given only once the group's transaction has committed.

Judged unread: when every stream a group names is already in the committer's states
(kept up to date by its own writes), the group is judged on them without the read, event
ids taken as new. The write checks all of it under its lock: a stream written must not
hold that version yet, an event id must not be recorded yet, and a stream or membership
judged against must be as judged (`certledger_expect`). If a check fails, or any command
is refused (a refusal may come of a state or an id not read: a re-sent batch is skipped,
not refused), the group is judged again on fresh reads, as a read attempt, before anyone
is answered. The read was a round trip per group, whose wall time (the server's answer,
then the GIL back among the clients' threads) was a third of the committer's. Another
writer on the same streams makes such attempts miss; past `_Unread.MAX_MISSES` misses in
the last `_Unread.WINDOW` attempts, groups are read first again for `_Unread.PAUSE` groups.

The committer has its own stream states, used by its thread only, so `record` becomes
safe to call from many threads (the API's write lock is then not needed for it).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from eventsourcing.persistence import DataError, IntegrityError, StoredEvent
from psycopg.rows import tuple_row

from commands.recording import (
    MAX_RETRIES,
    BatchRejected,
    Guard,
    LedgerService,
    RecordReport,
    StateCache,
    _new_state,
    _UnitOfWork,
    identity_keys,
)
from ledger.events import CertificationStarted, LedgerEvent
from ledger.streams import RULES_STREAM, candidate_stream, session_stream, stream_of
from storage.codec import from_stored
from storage.errors import WriteConflict
from storage.store import PG_EVENTS_TABLE, EventStore

MAX_GROUP_EVENTS = 2000  # events judged and written in one transaction, at most

# The group's one read: the event ids already recorded (kind 0) and the events appended
# to its streams since the versions the committer knows (kind 1). Arrays in binary (%b):
# psycopg's text form quotes each element in Python (see storage.store's writer).
_READ_GROUP = (
    "SELECT 0 AS kind, event_id AS a, NULL::bigint AS b, digest AS c, NULL::bytea AS d "
    "FROM certledger_event_ids WHERE event_id = ANY(%b::text[]) "
    "UNION ALL "
    "SELECT 1, e.originator_id, e.originator_version, e.topic, e.state "
    "FROM unnest(%b::text[], %b::bigint[]) AS s(stream, after) "
    f"JOIN {PG_EVENTS_TABLE} e ON e.originator_id = s.stream AND e.originator_version > s.after"
)


@dataclass
class _Command:
    events: Sequence[LedgerEvent]
    by: str
    guard: Guard | None = None  # the writer's own limit (an API token's), judged with the rules
    future: Future = field(default_factory=Future)


class _Unread:
    """Whether a group may be judged unread: not while such attempts keep missing."""

    WINDOW, MAX_MISSES, PAUSE = 64, 8, 256

    def __init__(self) -> None:
        self.recent: deque[bool] = deque(maxlen=self.WINDOW)  # True: missed
        self.paused = 0  # groups still to read first

    def allowed(self) -> bool:
        if self.paused:
            self.paused -= 1
            return False
        return True

    def note(self, missed: bool) -> None:
        self.recent.append(missed)
        if missed and sum(self.recent) > self.MAX_MISSES:
            self.paused, self.recent = self.PAUSE, deque(maxlen=self.WINDOW)


class _RefusedUnread(Exception):
    """A command refused in a group judged unread: the group is judged again, read."""


@dataclass
class GroupStats:
    groups: int = 0
    commands: int = 0
    events: int = 0
    retries: int = 0
    isolated: int = 0  # groups whose write failed, then retried command by command
    refused: int = 0
    unread: int = 0  # groups written as judged unread (no read first)
    unread_missed: int = 0  # attempts judged unread, then judged again on fresh reads
    read_s: float = 0.0  # catching the group's streams up (and its event ids)
    judge_s: float = 0.0
    write_s: float = 0.0  # the transaction: lock, inserts, commit


class _GroupCache(StateCache):
    """Stream states caught up with the store once per attempt, many streams per query."""

    def __init__(self) -> None:
        super().__init__()
        self.fresh: set[str] = set()

    def peek(self, stream: str):
        return self._states.get(stream)

    def load(self, store: EventStore, stream: str):
        state = self._states.get(stream) if stream in self.fresh else None
        if state is not None:
            self._states.move_to_end(stream)
            return state
        # Not caught up, or dropped since: loading a stream the group did not name drops
        # the least recently used state, which may be one it named. Read it again.
        state = super().load(store, stream)
        self.fresh.add(stream)
        return state

    def keep(self, streams: Iterable[str]) -> None:
        """Make `streams` the most recently used: the group about to be judged needs them."""
        for stream in streams:
            if stream in self._states:
                self._states.move_to_end(stream)

    def forget(self, streams: Iterable[str]) -> None:
        streams = list(streams)
        super().forget(streams)
        self.fresh.difference_update(streams)

    def holds(self, streams: Iterable[str]) -> bool:
        return all(s in self._states for s in streams)

    def catch_up(self, store: EventStore, streams: set[str], event_ids: list[str]) -> dict[str, str]:
        """Bring `streams` up to date and return the digests of those of `event_ids`
        already recorded: on PostgreSQL in one query."""
        streams = streams - self.fresh
        if store.backend != "postgresql":
            for stream in streams:
                self.load(store, stream)
            return store.event_digests(event_ids)
        states = {s: self._states.get(s) or _new_state(s) for s in streams}
        names = sorted(states)
        with store.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            # Never prepared: a generic plan made while the log was small would scan it all.
            curs.execute(_READ_GROUP, [event_ids, names, [states[s].version for s in names]], prepare=False)
            rows = curs.fetchall()
        known = {a: c for kind, a, _, c, _ in rows if kind == 0}
        appended = sorted((a, b, c, bytes(d)) for kind, a, b, c, d in rows if kind == 1)
        for stream, version, topic, state in appended:
            stored = StoredEvent(originator_id=stream, originator_version=version, topic=topic, state=state)
            states[stream].apply(from_stored(stored).event)
        self._states.update(states)
        self.keep(names)
        self.fresh.update(names)
        return known


class _GroupUnit(_UnitOfWork):
    """One attempt at a group: the overlay of `commands.recording`, with savepoints."""

    def __init__(self, store: EventStore, cache: _GroupCache, now, known: dict[str, str]):
        super().__init__(store, cache, now, by="")
        self.known = known

    def prefetch_ids(self, events: Sequence[LedgerEvent]) -> dict[str, str]:
        return self.known  # read once for the whole group

    def mark(self) -> tuple[int, int, int]:
        return len(self.records), len(self.seen_ids), len(self.members)

    def rollback_to(self, mark: tuple[int, int, int]) -> None:
        """Take back what was judged since `mark`: its records, ids, finalisations'
        memberships and state changes."""
        n_records, n_ids, n_members = mark
        undone, self.records = self.records[n_records:], self.records[:n_records]
        for event_id in list(self.seen_ids)[n_ids:]:
            del self.seen_ids[event_id]
        for session_id in list(self.members)[n_members:]:
            del self.members[session_id]
        for rec in undone:
            if isinstance(rec.event, CertificationStarted):
                self.new_certs[rec.event.session_id].remove(rec.event.certification_id)
        streams = {rec.stream for rec in undone}
        self.cache.forget(streams)
        for stream in streams:
            state = self.cache.load(self.store, stream)  # as committed
            for rec in self.records:
                if rec.stream == stream:
                    state.apply(rec.event)  # and as the group's earlier commands left it
            self.loaded[stream] = state


def _streams_named(events: Iterable[LedgerEvent], cache: _GroupCache) -> set[str]:
    """The streams judging these events will read, as far as the events tell."""
    streams = {RULES_STREAM}
    for event in events:
        stream = stream_of(event)
        streams.add(stream)
        session_id = getattr(event, "session_id", None)
        if session_id:
            streams.add(session_stream(session_id))
        if isinstance(event, CertificationStarted):
            streams.add(candidate_stream(event.candidate_id))
        known = cache.peek(stream)
        if getattr(known, "session_id", None):
            streams.add(session_stream(known.session_id))
    return streams


class GroupCommitter:
    """Takes commands from any thread; one thread judges and writes them in groups."""

    def __init__(self, service: LedgerService, *, max_events: int = MAX_GROUP_EVENTS,
                 max_retries: int = MAX_RETRIES, start: bool = True):
        self.service, self.store, self.clock = service, service.store, service.clock
        self.max_events, self.max_retries = max_events, max_retries
        self.cache = _GroupCache()
        self.stats = GroupStats()
        self.unread = _Unread()
        self._judged_unread = False  # the attempt being judged skipped the read
        self._pending: deque[_Command] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="certledger-group-commit", daemon=True)
        if start:
            self._thread.start()

    def start(self) -> None:
        """Start the committer's thread (when built with `start=False`: what was submitted
        before forms its first group)."""
        self._thread.start()

    # ------------------------------------------------------------------ callers
    def submit(self, events: Sequence[LedgerEvent], *, by: str, guard: Guard | None = None) -> Future:
        command = _Command(list(events), by, guard)
        with self._wake:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self._pending.append(command)
            self._wake.notify()
        return command.future

    def record(self, events: Sequence[LedgerEvent], *, by: str, guard: Guard | None = None) -> RecordReport:
        return self.submit(events, by=by, guard=guard).result()

    def close(self) -> None:
        """Commit what was submitted, then stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()  # never started: commit what is pending all the same
        self._thread.join()
        if self.service.committer is self:
            self.service.committer = None

    # ------------------------------------------------------------------- thread
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                group, size = [], 0
                while self._pending and (not group or size + len(self._pending[0].events) <= self.max_events):
                    command = self._pending.popleft()
                    if command.future.set_running_or_notify_cancel():  # a cancelled one is dropped
                        group.append(command)
                        size += len(command.events)
            try:
                self._commit(group)
            except BaseException as error:  # a bug here must not leave callers waiting forever
                for command in group:
                    if not command.future.done():
                        command.future.set_exception(error)

    def _commit(self, group: list[_Command]) -> None:
        live = list(group)
        attempt = 0
        unread = self.unread.allowed()
        while live:
            outcomes: dict[int, RecordReport | BaseException] = {}
            uow = None
            try:
                uow = self._judge(live, outcomes, unread=unread)
                if self._judged_unread and any(isinstance(o, BaseException) for o in outcomes.values()):
                    raise _RefusedUnread
                began = time.perf_counter()
                if uow.records:
                    # and the streams judged against, unwritten, must not have moved
                    self.store.append(uow.records, expect=uow.read_only_versions())
                self.stats.write_s += time.perf_counter() - began
            except BaseException as error:  # nothing of the group is written
                if isinstance(error, _JudgeFailed):
                    self.cache.forget(error.touched)
                else:
                    self.cache.forget(uow.touched if uow is not None else ())
                if self._judged_unread and isinstance(error, _UNREAD_MISSES):
                    self.unread.note(missed=True)
                    self.stats.unread_missed += 1
                    if isinstance(error, WriteConflict):
                        self.stats.retries += 1  # a write retried (the limit counts read attempts only)
                    unread = False  # judged again on fresh reads
                    continue
                if isinstance(error, WriteConflict):
                    attempt += 1
                    self.stats.retries += 1
                    if attempt < self.max_retries:
                        continue  # someone else wrote meanwhile: re-read, judge everything again
                    return self._answer(live, {id(c): error for c in live})
                if isinstance(error, _JudgeFailed):  # not a refusal: a fault while judging one command
                    live.remove(error.command)
                    self._answer([error.command], {id(error.command): error.error})
                    continue
                # The write failed otherwise.
                if len(live) > 1 and isinstance(error, (DataError, IntegrityError)):
                    # A value the database refuses (one only it checks) is one command's
                    # fault: each is written alone, so it takes none of the others down.
                    # (Not for a lost connection or a timeout: that would make every
                    # caller wait out the failure once per command.)
                    self.stats.isolated += 1
                    for command in live:
                        self._commit([command])
                    return None
                return self._answer(live, {id(c): error for c in live})
            if self._judged_unread:
                self.unread.note(missed=False)
                self.stats.unread += 1
            self.stats.groups += 1
            self.stats.events += len(uow.records)
            return self._answer(live, outcomes)

    def _judge(self, live: list[_Command], outcomes: dict, *, unread: bool = False) -> _GroupUnit:
        """Judge `live` in turn; `unread`: on the cached states alone, if they hold every
        stream the commands name (see the module's doc)."""
        began = time.perf_counter()
        self.cache.fresh = set()
        events = [e for c in live for e in c.events]
        named = _streams_named(events, self.cache)
        self._judged_unread = unread and self.cache.holds(named)
        if self._judged_unread:
            self.cache.keep(named)
            self.cache.fresh.update(named)
            known: dict[str, str] = {}  # event ids taken as new: the id index refuses a recorded one
        else:
            known = self.cache.catch_up(self.store, named, identity_keys(events))
        uow = _GroupUnit(self.store, self.cache, self.clock(), known)
        judging = time.perf_counter()
        self.stats.read_s += judging - began
        for command in live:
            mark = uow.mark()
            uow.by, uow.guard = command.by, command.guard
            uow.command_ids = set()  # this command's own ids (a repeated one is said to be its own)
            try:
                report = self.service._judge_all(uow, command.events, first_line=1)  # noqa: SLF001
            except Exception as error:
                if not isinstance(error, BatchRejected):
                    raise _JudgeFailed(command, error, uow.touched) from error
                try:
                    uow.rollback_to(mark)
                except Exception as failure:
                    # It reads the store. Failed, the unit's states are forgotten with it:
                    # they may hold records of commands judged before, never written.
                    raise _JudgeFailed(command, failure, uow.touched) from failure
                outcomes[id(command)] = error
                continue
            report.streams = {r.stream for r in uow.records[mark[0]:]}
            outcomes[id(command)] = report
        self.stats.judge_s += time.perf_counter() - judging
        return uow

    def _answer(self, live: list[_Command], outcomes: dict) -> None:
        for command in live:
            outcome = outcomes[id(command)]
            self.stats.commands += 1
            if isinstance(outcome, BaseException):
                self.stats.refused += 1
                command.future.set_exception(outcome)
            else:
                command.future.set_result(outcome)


class _JudgeFailed(Exception):
    def __init__(self, command: _Command, error: BaseException, touched: set[str]):
        super().__init__(str(error))
        self.command, self.error, self.touched = command, error, touched


# What makes a group judged unread be judged again, read: a refusal or a fault that a
# state not read may explain, or the write's checks of what was not read.
_UNREAD_MISSES = (_RefusedUnread, _JudgeFailed, WriteConflict)


def enable_group_commit(service: LedgerService, **options) -> GroupCommitter:
    """Route `service.record` through a new group committer; `close()` it when done."""
    if service.committer is not None:
        raise RuntimeError("this service already has a group committer")
    committer = GroupCommitter(service, **options)
    service.committer = committer
    return committer


__all__ = ["GroupCommitter", "GroupStats", "enable_group_commit", "MAX_GROUP_EVENTS"]
