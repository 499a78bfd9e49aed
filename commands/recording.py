"""Recording facts: load the states a fact is judged against, check it, append it.

A batch is all or nothing: every fact is checked against the ledger as it would be with
the batch's earlier facts applied (an overlay of stream states); if any fact is refused,
nothing is written and every refusal is reported with its line and field. The write is
one transaction; if another writer appended to one of the batch's streams meanwhile,
the batch is re-read and re-validated, then retried. A refusal judged while another
writer committed is judged once more on fresh reads (its ids and streams are read apart).

Facts carrying an `event_id` already in the ledger with the same content are skipped (a
re-import appends nothing new); the same id with other content is refused.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ledger import errors as E
from ledger.aggregates import CandidateState, CertificationState, PlainStream, SessionState
from ledger.decisions import Context, check
from ledger.events import (
    CertificationStarted,
    JuryRuling,
    LedgerEvent,
    ResultsPublished,
    ResultsUnpublished,
    RuleVersionChanged,
    SessionFinalised,
    SessionOpened,
)
from ledger.recorded import RULING_KEY_PREFIX, UNINDEXED_DIGEST, Recorded, digest_of, ruling_digest, ruling_key_of
from ledger.rule_stream import GENESIS_RECORDER, RulesState, genesis_events
from ledger.scoring.proposal_warnings import proposal_warnings
from ledger.streams import (
    JURY_STREAM,
    RULES_STREAM,
    candidate_stream,
    certification_stream,
    session_stream,
    stream_of,
)
from ledger.vocabulary import CANDIDATE_DECISIONS
from storage.errors import InterruptedAfterCommit, WriteConflict
from storage.store import EventStore, members_key

Clock = Callable[[], datetime]
# A writer's own limit, checked with the rules: raises a DomainError (e.g. OutOfScope).
Guard = Callable[[LedgerEvent, Context], None]
MAX_RETRIES = 5
MAX_REPORTED_ERRORS = 50
# Stream states an import keeps in memory; older ones are re-read inside its transaction.
IMPORT_CACHE_STREAMS = 20_000


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based position in the batch or file
    field: str | None
    message: str
    code: str
    # The stream the refused line would have opened (("certification", id), ("session",
    # id)), and how many later lines about it are refused with it (see Refusals).
    opens: tuple[str, str] | None = None
    followers: int = 0
    # The event type a line names when it is a known one but the line does not validate:
    # who may append that type is judged before its fields (a centre's malformed jury
    # ruling is a 403, not a 422 about the jury's items).
    kind: str | None = None

    @property
    def detail(self) -> str:
        if not self.followers or self.opens is None:
            return self.message
        kind, name = self.opens
        return f"{self.message} (so {self.followers} later line(s) about {kind} {name} are refused with it)"

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.detail}"


# The lines that open a stream, with its kind and the field naming it; and the refusals
# a line meets when the stream it names was never opened.
OPENS = {"CertificationStarted": ("certification", "certification_id"), "SessionOpened": ("session", "session_id")}
_FOLLOWS = {E.UnknownCertification.code: OPENS["CertificationStarted"], E.UnknownSession.code: OPENS["SessionOpened"]}


def opened_by(kind: str, fields: Any) -> tuple[str, str] | None:
    """(stream kind, id) a line of type `kind` opens: `fields` is its event or its dict."""
    opens = OPENS.get(kind)
    if opens is None:
        return None
    name = fields.get(opens[1]) if isinstance(fields, dict) else getattr(fields, opens[1], None)
    return (opens[0], name) if isinstance(name, str) else None


def refused_lines(errors: Sequence[LineError]) -> int:
    """Lines refused: those listed and those counted on them (Refusals)."""
    return len(errors) + sum(e.followers for e in errors)


class Refusals(list):
    """A batch's refused lines. A line that would have opened a session or started a
    certification, once refused, makes every later line about it unknown: those are
    not listed one by one (they filled the report and hid the real problems after
    them) but counted on the line that caused them."""

    def __init__(self) -> None:
        super().__init__()
        self._origins: dict[tuple[str, str], int] = {}  # stream -> index of the refusal behind it

    def refuse(self, error: LineError, event: LedgerEvent | None = None) -> None:
        opens = error.opens if event is None else opened_by(event.type, event)
        follows = _FOLLOWS.get(error.code)
        about = (follows[0], getattr(event, follows[1], None)) if follows and event is not None else None
        origin = self._origins.get(about) if about is not None else None  # type: ignore[arg-type]
        if origin is not None:
            self[origin] = replace(self[origin], followers=self[origin].followers + 1)
        else:
            origin = len(self)
            self.append(replace(error, opens=opens))
        if opens is not None:
            self._origins.setdefault(opens, origin)


class BatchRejected(Exception):
    """Nothing of the batch was written; `errors` says why, line by line."""

    def __init__(self, errors: list[LineError], *, truncated: bool = False):
        self.errors = errors
        self.refused_lines = refused_lines(errors)
        self.truncated = truncated
        more = " (more errors not shown)" if truncated else ""
        super().__init__(f"{len(errors)} line(s) refused, nothing appended{more}:\n" + "\n".join(map(str, errors)))


@dataclass
class RecordReport:
    appended: int = 0  # (of a check: what would be appended)
    skipped: int = 0  # already in the ledger with the same content
    streams: set[str] = field(default_factory=set)
    # What a stream's import recorded on the rules stream, in order (its rule versions),
    # and that stream's state as the import found it under its lock, so they can be judged
    # as `rules check` judges a proposal, a check's included. (Read before the lock, a
    # version another writer recorded meanwhile was missing: one of the file extending it
    # failed to resolve, after its import had committed.)
    rules_events: list[LedgerEvent] = field(default_factory=list)
    rules_before: RulesState | None = None
    # The sessions whose results this batch publishes (appended, not already recorded),
    # in the order of their lines: `import` and `POST /events` say what still awaited the
    # jury in each (the docket, a read model: not the recording's business). A dict, kept
    # in order: a history import publishes and withdraws by the hundred thousand.
    published: dict[str, None] = field(default_factory=dict)

    def rule_version_warnings(self) -> list[tuple[str, str]]:
        """What `rules check` would have warned of each rule version recorded (or that a
        check would record), as (version, warning): the rules stream's events applied one
        by one to a copy of `rules_before`, each version judged among the versions as they
        stood once it was recorded (a later one of the same batch is none of its business):
        one that takes over from another at the same instant, one dated before the version
        it extends, counts its level table cannot score. Recorded all the same (they are
        warnings), but no longer in silence: `import` prints them, `POST /events` and
        `POST /events/check` answer them."""
        found: list[tuple[str, str]] = []
        if self.rules_before is None or not self.rules_events:
            return found
        state = copy.deepcopy(self.rules_before)
        for event in self.rules_events:
            state.apply(event)
            if isinstance(event, RuleVersionChanged):
                rules = state.timeline.get(event.version)
                found += [(rules.version, warning) for warning in proposal_warnings(rules, state.timeline)]
        return found


class _CheckedOnly(Exception):
    """Raised inside a checking import's transaction, so that it rolls back."""


def _new_state(stream: str):
    if stream.startswith("session:"):
        return SessionState()
    if stream.startswith("certification:"):
        return CertificationState()
    if stream.startswith("candidate:"):
        return CandidateState()
    if stream == RULES_STREAM:
        return RulesState()
    return PlainStream()


class StateCache:
    """Stream states kept between commands, least recently used dropped past `max_size`;
    always caught up with the store (or a writer's own transaction) before use."""

    def __init__(self, max_size: int = 50_000) -> None:
        self._states: OrderedDict[str, Any] = OrderedDict()
        self.max_size = max_size

    def load(self, reader, stream: str):
        """`reader` has read_stream(stream, after): the store, or an open writer."""
        state = self._states.pop(stream, None) or _new_state(stream)
        for rec in reader.read_stream(stream, after=state.version):
            state.apply(rec.event)
        self._states[stream] = state
        if len(self._states) > self.max_size:
            self._states.popitem(last=False)
        return state

    def streams(self) -> list[str]:
        return list(self._states)

    def forget(self, streams: Iterable[str]) -> None:
        for s in streams:
            self._states.pop(s, None)


class _UnitOfWork:
    """One attempt at a batch: the overlay of states and the records to write."""

    def __init__(self, store, cache: StateCache, now: datetime, by: str, guard: Guard | None = None):
        # `store` reads: the EventStore, or an open writer whose transaction holds the
        # batch's earlier chunks. `guard` is the writer's own limit (an API token's
        # centre), judged on the same states as the ledger's rules.
        self.store, self.cache, self.now, self.by, self.guard = store, cache, now, by, guard
        self.loaded: dict[str, Any] = {}
        self.records: list[Recorded] = []
        self.seen_ids: dict[str, str] = {}
        # The ids of `seen_ids` that the command being judged gave (a group judges several
        # commands in one unit): where a repeated id was, for its refusal's words.
        self.command_ids: set[str] = set()
        self.new_certs: dict[str, list[str]] = {}
        # Sessions finalised by this unit -> how many certifications they had when judged
        # (checked at write time: see storage.store.members_key).
        self.members: dict[str, int] = {}

    @property
    def touched(self) -> set[str]:
        return set(self.loaded)

    def state(self, stream: str):
        # Caught up with the store once per unit of work; then the overlay is the truth
        # (a conflicting writer is caught by the stream versions at write time).
        state = self.loaded.get(stream)
        if state is None:
            state = self.loaded[stream] = self.cache.load(self.store, stream)
        return state

    def read_only_versions(self) -> dict[str, int]:
        """The streams judged against but not written, at the versions read, and the
        memberships of the sessions finalised, as judged."""
        written = {r.stream for r in self.records}
        versions = {s: st.version for s, st in self.loaded.items() if s not in written}
        return versions | {members_key(session): n for session, n in self.members.items()}

    def written(self) -> None:
        """The records are in the transaction: later lookups find them there, so the
        overlay can go and memory stays bounded however long the stream."""
        self.records = []
        self.loaded.clear()
        self.seen_ids.clear()
        self.command_ids.clear()  # (the transaction's own lookup finds them: `_taken_by`)
        self.new_certs.clear()
        self.members.clear()

    def _taken_by(self, key: str, in_overlay: bool) -> str:
        """Who holds an id a line repeats with other content, as its refusal says it.
        Nothing of a refused batch is recorded: "already recorded" of its own earlier line
        sent an integrator looking for a write that never happened."""
        if in_overlay:
            return ("an earlier line of this batch has it" if key in self.command_ids
                    else "another batch, recorded in the same transaction, has it")  # (a group commit's)
        # Found by the lookup: inside an import's transaction (a writer, whose `store` is
        # the committed ledger), an earlier chunk of the same import may hold it.
        committed = getattr(self.store, "store", None)
        if committed is not None and key not in committed.event_digests([key]):
            return "an earlier line of this batch has it"
        return "it is already recorded"

    def context(self, event: LedgerEvent, stream: str) -> Context:
        ctx = Context(stream=self.state(stream), rules=self.state(RULES_STREAM), recorded_at=self.now)
        session_id = getattr(event, "session_id", None)
        if isinstance(event, (SessionOpened, SessionFinalised, ResultsPublished, ResultsUnpublished)):
            ctx.session = ctx.stream
        elif isinstance(event, CertificationStarted):
            ctx.session = self.state(session_stream(session_id))
            ctx.candidate = self.state(candidate_stream(event.candidate_id))
        elif isinstance(event, JuryRuling) and event.decision in CANDIDATE_DECISIONS:
            ctx.candidate = ctx.stream
        if stream.startswith("certification:"):
            ctx.certification = ctx.stream
            # A second start of a certification keeps the session its line names: the
            # writer's limit is judged on that one (a centre starting another centre's
            # certification id in its own session is told the id is taken, not whose it is).
            if ctx.stream.exists and not isinstance(event, CertificationStarted):
                ctx.session = self.state(session_stream(ctx.stream.session_id))
        if isinstance(event, SessionFinalised):
            ids = set(self.store.certifications_of_session(session_id)) | set(self.new_certs.get(session_id, ()))
            ctx.session_certifications = {c: self.state(certification_stream(c)) for c in sorted(ids)}
        return ctx

    def _stored_ruling_digest(self, key: str) -> str | None:
        """The digest of the ruling an index row points to (rare: only rulings recorded
        before migration 006, which could not compute it in SQL)."""
        at = self.store.indexed_at(key)
        if at is None:
            return None
        stored = self.store.read_stream(at[0], after=at[1] - 1)
        return ruling_digest(stored[0].event.to_line()) if stored else None

    def prefetch_ids(self, events: Sequence[LedgerEvent]) -> dict[str, str]:
        return self.store.event_digests(identity_keys(events))

    def judge(self, event: LedgerEvent, known_digests: dict[str, str]) -> bool:
        """Check one fact and fold it into the overlay; False if it is already recorded."""
        stream = stream_of(event)
        ctx = None
        if self.guard is not None:
            # The writer's own limit first, before the line's id is looked up: a copy of
            # another centre's fact was skipped as already recorded, unguarded, so the
            # refusal of the other lines confirmed what that centre had recorded.
            ctx = self.context(event, stream)
            self.guard(event, ctx)
        digest = None
        if event.event_id:
            refuse_reserved_id(event)
            digest = digest_of(event.to_line())
            in_overlay = self.seen_ids.get(event.event_id)
            earlier = in_overlay or known_digests.get(event.event_id)
            if earlier is not None:
                if earlier == digest:
                    return False
                raise E.EventIdConflict(
                    f"event_id {event.event_id}: {self._taken_by(event.event_id, in_overlay is not None)} with "
                    "different content", field="event_id"
                )
        ruling = None
        if (key := ruling_key_of(event)) is not None:
            ruling = key, ruling_digest(event.to_line())
            in_overlay = self.seen_ids.get(ruling[0])
            earlier = in_overlay or known_digests.get(ruling[0])
            if earlier == UNINDEXED_DIGEST:  # recorded before the index: compare with the ruling itself
                earlier = self._stored_ruling_digest(ruling[0])
            if earlier is not None:
                if earlier == ruling[1]:
                    return False  # the same ruling, imported again (perhaps under another event_id)
                raise E.RulingIdConflict(
                    f"ruling {event.ruling_id}: {self._taken_by(ruling[0], in_overlay is not None)} with other "
                    "content: a ruling id names one decision", field="ruling_id"
                )
        if ctx is None:
            ctx = self.context(event, stream)
        check(event, ctx)
        if digest is not None:
            self.seen_ids[event.event_id] = digest  # only once accepted: a refused line claims no id
            self.command_ids.add(event.event_id)
        if ruling is not None:
            self.seen_ids[ruling[0]] = ruling[1]
            self.command_ids.add(ruling[0])
        if isinstance(event, SessionFinalised):
            self.members[event.session_id] = len(ctx.session_certifications)
        state = self.state(stream)
        state.apply(event)
        if isinstance(event, CertificationStarted):
            self.new_certs.setdefault(event.session_id, []).append(event.certification_id)
        self.records.append(Recorded(stream, state.version, event, self.now, self.by))
        return True


def refuse_reserved_id(event: LedgerEvent) -> None:
    """An event_id may not take the prefix the ledger's index keeps for ruling ids."""
    if event.event_id and event.event_id.startswith(RULING_KEY_PREFIX):
        raise E.EventIdReserved(
            f"event_id {event.event_id} starts with {RULING_KEY_PREFIX!r}, which the ledger keeps for ruling ids",
            field="event_id",
        )


class LedgerService:
    """The command side: the one place facts enter the ledger."""

    def __init__(self, store: EventStore, clock: Clock):
        self.store = store
        self.clock = clock
        self.cache = StateCache()
        # commands.group_commit.enable_group_commit sets it: record() then goes through it.
        self.committer: Any = None

    # -- small batches: commands, API posts -------------------------------------------
    def record(self, events: Sequence[LedgerEvent], *, by: str, guard: Guard | None = None) -> RecordReport:
        if self.committer is not None:
            return self.committer.record(events, by=by, guard=guard)
        rejudged = False
        for attempt in range(MAX_RETRIES):
            uow = _UnitOfWork(self.store, self.cache, self.clock(), by, guard)
            # The ids are read before the streams, in reads of their own: a copy of this
            # batch committed by another writer in between showed its session opened and
            # its id unknown, and was refused (a 422 where a re-sent batch is skipped). A
            # refusal judged while the log moved is judged again, once, on fresh reads
            # (once: on a busy log a genuine refusal would be judged again and again).
            began_at = self.store.max_position()
            try:
                report = self._judge_all(uow, events, first_line=1)
                if uow.records:  # (a batch already recorded whole writes nothing, and checks nothing)
                    with self.store.writer() as w:
                        # e.g. an answer judged against a session another writer just finalised
                        w.write(uow.records, expect=uow.read_only_versions(), last=True)
                return report
            except WriteConflict:
                # Someone else wrote meanwhile: re-read and re-validate everything.
                self.cache.forget(uow.touched)
                if attempt == MAX_RETRIES - 1:
                    raise
            except BatchRejected:
                self.cache.forget(uow.touched)
                if rejudged or attempt == MAX_RETRIES - 1 or self.store.max_position() == began_at:
                    raise
                rejudged = True
            except BaseException:
                self.cache.forget(uow.touched)
                raise
        raise AssertionError("unreachable")

    def check(self, events: Sequence[LedgerEvent], *, by: str, guard: Guard | None = None) -> RecordReport:
        """Judge a batch as `record` would, against the ledger as it stands, and write
        nothing: the report of what would be appended and what is recorded already, or
        BatchRejected with every refused line."""
        return self._judge_all(self._unit_judging_only(by, guard), events, first_line=1)

    def _holds(self, record: Recorded) -> bool:
        """Whether the log holds `record` itself (its stream's version, with its content
        and its recorded time: another writer may have taken the slot since a rollback)."""
        try:
            found = self.store.read_stream(record.stream, after=record.version - 1)[:1]
        except Exception:  # noqa: BLE001 - asked after a Ctrl-C; a log unreadable then is taken as rolled back
            return False
        return bool(found) and found[0].event == record.event and found[0].recorded_at == record.recorded_at

    def _unit_judging_only(self, by: str, guard: Guard | None) -> _UnitOfWork:
        """A unit of work for judging without writing, with a private cache: the overlay
        applies the judged lines to the states it holds, and the shared one may be in use
        by a writer in another thread."""
        return _UnitOfWork(self.store, StateCache(max_size=IMPORT_CACHE_STREAMS), self.clock(), by, guard)

    def record_one(self, event: LedgerEvent, *, by: str) -> RecordReport:
        try:
            return self.record([event], by=by)
        except BatchRejected as rejected:
            raise _domain_error_of(rejected) from None

    def _judge_all(self, uow: _UnitOfWork, events: Sequence[LedgerEvent], first_line: int) -> RecordReport:
        report = RecordReport()
        errors = Refusals()
        # A group commit judges several commands in one unit: this batch's records are
        # those after `mark` (the earlier commands' versions are in `rules_before` already).
        mark = len(uow.records)
        if any(isinstance(e, RuleVersionChanged) for e in events):
            # The rules as this batch is judged against them (judging applies to the state):
            # its versions' warnings are judged among them (`rule_version_warnings`).
            report.rules_before = copy.deepcopy(uow.state(RULES_STREAM))
        _judge_lines(uow, list(enumerate(events, start=first_line)), report, errors)
        if errors:
            raise BatchRejected(errors)
        report.streams = {r.stream for r in uow.records}
        report.rules_events = [r.event for r in uow.records[mark:] if r.stream == RULES_STREAM]
        return report

    # -- large imports: one transaction, streamed in chunks ----------------------------
    def record_stream(
        self,
        items: Iterable[tuple[int, LedgerEvent | LineError]],
        *,
        by: str,
        chunk: int = 2000,
        progress: Callable[[int], None] | None = None,
        check: bool = False,
    ) -> RecordReport:
        """Record a stream of (line number, fact or parse error) in one transaction.

        Lines are judged as they come, against the ledger as this transaction sees it,
        and written in chunks, so memory stays bounded however long the stream. After a
        refusal judging goes on (to report up to MAX_REPORTED_ERRORS) and the
        transaction is rolled back at the end: nothing of the stream is appended.

        `check=True` judges the stream exactly so and rolls the transaction back even
        when every line is accepted: the report says what an import would append, and
        nothing is written. (Its lines are written inside the transaction all the same:
        a later line is judged on states read back from it once the bounded cache has
        let them go, so a check holds the write lock as long as an import would.)
        """
        # A private cache: states read inside this transaction must not outlive it.
        cache = StateCache(max_size=IMPORT_CACHE_STREAMS)
        report = RecordReport()
        errors = Refusals()
        last: Recorded | None = None  # the last record written, looked for after a Ctrl-C
        try:
            # Lock first: a long import judges against a ledger no one else writes meanwhile.
            with self.store.writer(lock=True) as writer:
                uow = _UnitOfWork(writer, cache, self.clock(), by)
                report.rules_before = copy.deepcopy(uow.state(RULES_STREAM))  # (judging applies to it)
                for numbered, last in _with_last(chunks(items, chunk)):
                    _judge_lines(uow, numbered, report, errors, last=last)
                    report.rules_events += [r.event for r in uow.records if r.stream == RULES_STREAM]
                    # Written even after an error: the transaction is rolled back at the
                    # end anyway, and later lines are judged against a coherent ledger.
                    writer.write(uow.records)
                    last = uow.records[-1] if uow.records else last
                    uow.written()
                    if progress:
                        progress(len(numbered))
                if errors:
                    raise BatchRejected(errors)
                if check:
                    raise _CheckedOnly
        except _CheckedOnly:
            pass  # (its transaction rolled back)
        except KeyboardInterrupt:
            # A Ctrl-C may land once the transaction committed: as the writer's block ends,
            # or while PostgreSQL's COMMIT is awaited (and done). Whether it did is read
            # from the log, not guessed: "nothing was appended" was said of a committed
            # import, and running it again had its lines refused as facts recorded.
            if not check and not errors and last is not None and self._holds(last):
                raise InterruptedAfterCommit(report) from None
            raise  # (rolled back)
        finally:
            # What this import wrote (or a check read of its own writes) is newer than what
            # the shared cache holds.
            self.cache.forget(cache.streams())
        return report

    def refusals(self, items: Sequence[tuple[int, LedgerEvent | LineError]], *, by: str,
                 guard: Guard | None = None) -> BatchRejected:
        """Judge, without writing, a batch some of whose lines could not even be read: the
        refusal of every line, the unreadable ones and those the ledger's rules refuse, as
        `import` reports them (the API's answer used to stop at the unreadable ones)."""
        uow = self._unit_judging_only(by, guard)
        errors = Refusals()
        try:
            _judge_lines(uow, items, RecordReport(), errors)
        except BatchRejected as rejected:
            return rejected
        return BatchRejected(errors)

    # -- genesis -------------------------------------------------------------------------
    def ensure_genesis(self) -> int:
        """Append the built-in rule versions to a ledger that has none (idempotent)."""
        if self.store.read_stream(RULES_STREAM):
            return 0
        records = [
            Recorded(RULES_STREAM, i + 1, event, event.at, GENESIS_RECORDER)
            for i, event in enumerate(genesis_events())
        ]
        try:
            # Held since the built-in versions' own dates (their recorded_at), not since
            # the ledger was made: as of any time after them, a ledger has its rules.
            self.store.append(records, committed_at=max(r.recorded_at for r in records))
        except WriteConflict:
            return 0  # another process wrote the genesis first
        return len(records)


def identity_keys(events: Iterable[LedgerEvent]) -> list[str]:
    """The keys of the ledger's identity index these facts are judged against: their
    event_ids, and their ruling ids (see `ledger.recorded.ruling_key`)."""
    events = list(events)
    keys = [e.event_id for e in events if e.event_id]
    return keys + [key for e in events if (key := ruling_key_of(e)) is not None]


def _judge_lines(uow: _UnitOfWork, numbered: Sequence[tuple[int, LedgerEvent | LineError]],
                 report: RecordReport, errors: Refusals, *, last: bool = True) -> None:
    """Judge numbered lines, some perhaps already refused as unreadable; raise
    BatchRejected once MAX_REPORTED_ERRORS are found."""
    known = uow.prefetch_ids([e for _, e in numbered if not isinstance(e, LineError)])
    for i, (lineno, item) in enumerate(numbered):
        if isinstance(item, LineError):
            errors.refuse(item)
        else:
            _judge_into(uow, item, known, lineno, report, errors)
        if len(errors) >= MAX_REPORTED_ERRORS:
            # Truncated only if lines remain, in this chunk or (a streamed import) after it.
            raise BatchRejected(errors, truncated=i + 1 < len(numbered) or not last)


def _judge_into(uow: _UnitOfWork, event: LedgerEvent, known: dict[str, str], lineno: int,
                report: RecordReport, errors: Refusals) -> None:
    """Judge one fact: count it as appended or already recorded, or add its refusal."""
    try:
        if uow.judge(event, known):
            report.appended += 1
            if isinstance(event, ResultsPublished):
                report.published[event.session_id] = None
            elif isinstance(event, ResultsUnpublished):
                report.published.pop(event.session_id, None)  # (published and withdrawn in one batch)
        else:
            report.skipped += 1
    except E.DomainError as err:
        errors.refuse(LineError(lineno, err.field, err.message, err.code), event)


def chunks(items: Iterable, size: int) -> Iterator[list]:
    buf: list = []
    for item in items:
        buf.append(item)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _with_last(items: Iterable) -> Iterator[tuple[Any, bool]]:
    """(item, whether it is the last), one item ahead."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def _domain_error_of(rejected: BatchRejected) -> E.DomainError:
    first = rejected.errors[0]
    for cls in E.DomainError.__subclasses__():
        if cls.code == first.code:
            return cls(first.message, field=first.field)
    return E.DomainError(first.message, field=first.field)


__all__ = ["BatchRejected", "LedgerService", "LineError", "RecordReport", "StateCache", "JURY_STREAM"]
