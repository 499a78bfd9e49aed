"""The log's checks: one pass over every event, by pages, that checks each decodes and
lies in its stream at its version, that the event-id index and the session membership
table hold what the facts call for, and that the commit rows' times never step back.

Apart from the entry points and from the results comparison: this pass reads the log
alone (feeding the hash chain's walk, `projections.verify_chain`, as it goes), and
hands the results pass only what it learnt (`LogPass`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import orjson
from pydantic import ValidationError

from ledger.events import (
    EVENT_TYPES,
    CertificationStarted,
    JuryRuling,
    QuestionDeneutralised,
    QuestionNeutralised,
    RuleVersionChanged,
    SessionFinalised,
    SessionOpened,
    line_problems,
    parse_event,
)
from ledger.aggregates import CandidateState, ban_covers
from ledger.decisions import judge_rule_version, jury_fact_too_soon
from ledger.errors import DomainError, RuleDocumentRefused
from ledger.rule_stream import GENESIS_REASON, RulesState
from ledger.recorded import RULING_KEY_PREFIX, UNINDEXED_DIGEST, digest_of, ruling_digest, ruling_key_of
from ledger.streams import stream_of
from ledger.vocabulary import CANDIDATE_DECISIONS
from projections.asof import by_recorded_ranges, known_at
from projections.verify_report import MAX_LISTED, Check, Progress, first_listed
from projections.views import ResultsViews, as_datetime, as_text
from storage.store import COMMITS_TABLE

if TYPE_CHECKING:  # (the chain walk imports this module: the page size, a finding they share)
    from projections.verify_chain import ChainWalk

PAGE = 5000  # events per query; the chain walk reads its links by pages of the same size


@dataclass
class LogPass:
    """What the log pass learns for the results pass: each session's certifications,
    with the position of each start."""
    sessions: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def log_pages(views: ResultsViews, up_to: int, after: int = 0) -> Iterator[list[tuple]]:
    """(position, stream, version, topic, state) of every event after `after`, in log
    order, by pages."""
    key = views.log_key
    text = (f"SELECT {key}, originator_id, originator_version, topic, state FROM {views.log_table} "
            f"WHERE {key} > %s AND {key} <= %s ORDER BY {key} LIMIT %s")
    while rows := views.query(text, [after, up_to, PAGE]):
        yield rows
        after = rows[-1][0]


def _note_reused_ruling_ids(ids: Check, reused: dict[str, tuple[list[int], list[int]]]) -> None:
    """A note, not a problem: the log holds them whole, the first ruling keeping its id;
    but an export no longer imports as it stands, and only `migrate` used to say so."""
    if not reused:
        return
    named = []
    for ruling_id, (other, same) in list(reused.items())[:MAX_LISTED]:
        parts = ([f"another decision at position(s) {', '.join(f'{p:,}' for p in other)}"] if other else []) + (
            [f"the same ruling again at position(s) {', '.join(f'{p:,}' for p in same)}"] if same else [])
        named.append(f"{ruling_id} ({'; '.join(parts)})")
    more = f", and {len(reused) - MAX_LISTED:,} more" if len(reused) > MAX_LISTED else ""
    ids.notes.append(
        f"{len(reused):,} ruling id(s) recorded more than once before ruling ids were unique (migration 006), "
        f"the first ruling keeping each: {', '.join(named)}{more}; an export of the ledger is refused at another "
        "decision under an id, and skips the same ruling again, when imported elsewhere")


def check_log(views: ResultsViews, up_to: int, events: Check, ids: Check, members: Check, times: Check,
               tick: Progress, *, chain: ChainWalk) -> LogPass:
    log = LogPass()
    refused: list[tuple[int, str]] = []  # (position, first problem) of facts an import refuses now
    rules = RulesState()
    versions: dict[str, int] = {}
    rulings: dict[str, str] = {}  # ruling keys met so far, and their first ruling's content
    # A ruling id a ledger recorded again before migration 006 (its first ruling keeps it):
    # id -> [another decision's positions, the same ruling's positions]. `migrate` named
    # them once; an export of them is refused, or shortened, at import elsewhere.
    reused: dict[str, tuple[list[int], list[int]]] = {}
    # For the jury's facts, which come after their session's finalisation since this rule:
    # each certification's session, and each finalised session's date.
    session_of: dict[str, str] = {}
    finalised_at: dict[str, datetime] = {}
    # Each candidate's starts (start, certification), for the bans recorded after a start
    # they cover: each ban's (certification, start, ruling, ruling's position), judged at
    # the end against the ban as its candidate's later rulings leave it (lifted or not).
    starts_of: dict[str, list[tuple[datetime, str]]] = {}
    candidates: dict[str, CandidateState] = {}
    # (each candidate's, a list per ban in the order its state appends them: a ledger from
    # before migration 006 may hold two bans under one ruling id)
    starts_under: dict[str, list[list[tuple[str, datetime, str, int]]]] = {}
    matched_ids, matched_members = [0], [0]  # stored rows that a fact calls for (counted in place)
    previous: tuple[datetime, int] | None = None
    steps_back, largest = 0, (0.0, 0)
    by_recorded = _known_by_recorded_at(views)
    legacy_steps = 0
    commits = views.query(f"SELECT last_position, committed_at FROM {COMMITS_TABLE} ORDER BY last_position")
    stamps = _CommitStamps(commits, times)
    for rows in log_pages(views, up_to):
        page_ids: dict[str, tuple[str, str, int, int]] = {}  # key -> (digest, stream, version, position)
        page_starts: dict[str, tuple[str, int]] = {}  # certification -> (session, position)
        for position, stream, version, topic, raw in rows:
            events.checked += 1
            chain.feed(position, stream, version, topic, raw)
            where = f"position {position} ({stream} v{version})"
            # The row's own columns, readable or not; the highest version met, so that an event
            # out of place (or unreadable) is named, not the intact one after it.
            if version != versions.get(stream, 0) + 1:
                events.problem(f"{where}: follows version {versions.get(stream, 0)} of its stream")
            versions[stream] = max(version, versions.get(stream, 0))
            try:
                state = orjson.loads(raw)
                line = state["event"]
                try:
                    event = parse_event(line)  # as an import judges a line now: strictly, as written
                except ValidationError as e:
                    event = EVENT_TYPES[line["type"]].model_validate(line)  # as it was accepted then
                    refused.append((position, _first_error(line["type"], e)))
                recorded_at = datetime.fromisoformat(state["recorded_at"])
                if not isinstance(state.get("recorded_by"), str):
                    raise ValueError("no recorded_by")
            except Exception as e:  # noqa: BLE001 - any unreadable event is a finding, not a crash
                events.problem(f"{where}: not a readable fact: {type(e).__name__}: {str(e)[:200]}")
                continue
            if isinstance(event, RuleVersionChanged):
                # Judged as recording judges it against the versions before it (its jury, its
                # name, its document); not the built-in ones, which `init` records itself
                # and an import of an export finds already there.
                if event.reason != GENESIS_REASON:
                    try:
                        judge_rule_version(event, rules)
                    except DomainError as e:
                        refused.append((position, f"{e.field or '(the fact)'}: {e.message}"))
                        events.refused_codes.add((position, e.code))
                try:
                    rules.apply(event)
                except Exception as e:  # noqa: BLE001 - a finding, not a crash
                    # (--rejudge names it so: the code of a document refused)
                    events.refused_codes.add((position, RuleDocumentRefused.code))
                    events.problem(f"{where}: rule version {event.version} no longer resolves against the ones "
                                   f"before it ({type(e).__name__}: {str(e)[:200]}): every replay past it fails")
            if topic != f"certledger:{line['type']}@1":
                events.problem(f"{where}: stored under topic {topic} but is a {line['type']}")
            if stream_of(event) != stream:
                events.problem(f"{where}: a {line['type']} of stream {stream_of(event)} stored in {stream}")
            if previous is not None and recorded_at < previous[0]:
                steps_back += 1
                legacy_steps += by_recorded(position)
                step = (previous[0] - recorded_at).total_seconds()
                if step > largest[0]:
                    largest = (step, position)
            previous = (recorded_at, position)
            if not by_recorded(position):
                stamps.hold(position, recorded_at)
            if "event_id" in line:
                page_ids[line["event_id"]] = (digest_of(line), stream, version, position)
            key = ruling_key_of(event)
            if key is not None and key not in rulings:  # a reused id (before 006) keeps its first ruling
                rulings[key] = ruling_digest(line)
                page_ids[key] = (rulings[key], stream, version, position)
            elif key is not None:
                other, same = reused.setdefault(line["ruling_id"], ([], []))
                (same if ruling_digest(line) == rulings[key] else other).append(position)
            if isinstance(event, CertificationStarted):
                page_starts[event.certification_id] = (event.session_id, position)
                log.sessions.setdefault(event.session_id, []).append((event.certification_id, position))
                session_of[event.certification_id] = event.session_id
                starts_of.setdefault(event.candidate_id, []).append((event.at, event.certification_id))
            elif isinstance(event, SessionOpened):
                log.sessions.setdefault(event.session_id, [])
            elif isinstance(event, SessionFinalised):
                finalised_at.setdefault(event.session_id, event.at)
            elif isinstance(event, JuryRuling) and event.decision in CANDIDATE_DECISIONS and event.candidate_id:
                candidates.setdefault(event.candidate_id, CandidateState()).apply(event)
                if event.decision == "ban_candidate" and event.until is not None:
                    starts_under.setdefault(event.candidate_id, []).append(
                        [(cert, at, event.ruling_id, position) for at, cert in starts_of.get(event.candidate_id, ())
                         if ban_covers(event.at, event.until, at)])
            elif (isinstance(event, (QuestionNeutralised, QuestionDeneutralised, JuryRuling))
                  and event.certification_id in session_of):
                session = session_of[event.certification_id]
                too_soon = jury_fact_too_soon(event, event.certification_id, session, session in finalised_at,
                                              finalised_at.get(session))
                if too_soon is not None:
                    refused.append((position, f"{too_soon.field}: {too_soon.message}"))
                    events.refused_codes.add((position, too_soon.code))
        _check_page_ids(views, page_ids, ids, matched_ids)
        _check_page_members(views, page_starts, members, matched_members)
        tick("log", events.checked, up_to)
    events.summary = f"{events.checked:,} event(s) in {len(versions):,} stream(s)"
    _check_extra_rows(views, ids, "certledger_event_ids", matched_ids[0], "index row(s)")
    ids.summary = f"{ids.checked:,} id(s) indexed at their fact"
    _note_reused_ruling_ids(ids, reused)
    _check_extra_rows(views, members, "certledger_session_certifications", matched_members[0], "membership row(s)")
    members.summary = f"{members.checked:,} certification(s) listed in their session"
    _check_commits(views, commits, up_to, times)
    events.refused_positions = {position for position, _ in refused}
    if refused:
        position, problem = refused[0]
        events.notes.append(  # (facts: one may be refused on two counts, its field and its jury)
            f"{len(events.refused_positions):,} fact(s) recorded before a rule that refuses them now (the first at position "
            f"{position}, {problem}): read and scored as recorded, but an export of them is refused at import into "
            "another ledger (judged: each line's fields, each rule version's jury, name and document, and each of the "
            "jury's facts about a certification against its session's finalisation; not the other checks an "
            "import makes against the ledger's state)"
            # Each named by position (`--rejudge` leaves them to this note, so no other says them).
            + ("; at positions " + first_listed([f"{p:,}" for p in sorted(events.refused_positions)])
               if len(events.refused_positions) > 1 else ""))
    banned_starts = sorted((entry for candidate, state in candidates.items()
                            for ban, starts in zip(state.bans, starts_under.get(candidate, ()))
                            for entry in starts if ban_covers(ban.at, ban.end, entry[1])),
                           key=lambda entry: entry[3])
    if banned_starts:
        cert, at, ruling, position = banned_starts[0]
        started_banned = len({c for c, *_ in banned_starts})  # (one start may lie in two bans)
        events.notes.append(
            f"{started_banned:,} certification(s) started during a ban of their candidate that the ledger recorded "
            f"after the start (the first: {cert}, started {at.isoformat()}, ruling {ruling} at position {position}): "
            "each start stood and is scored as any other, since §5 says nothing of a test taken during a ban; "
            "`certledger audit` shows the ban beside the result, and the jury may cancel the certification")
    if legacy_steps:
        times.notes.append(
            f"{legacy_steps:,} recorded time(s) step back in log order among the events as-of answers know by "
            f"them, the log migration 009 found or an older release's writes (the largest step "
            f"{largest[0]:.3f} s, at position {largest[1]}): an as-of answer within such a step holds a later "
            "event without an earlier one")
    if steps_back - legacy_steps:
        times.summary += (f"; {steps_back - legacy_steps:,} recorded time(s) step back in log order (batches judged "
                          "in one order, committed in another: as-of answers go by the commits)")
    return log


def _first_error(kind: str, error: ValidationError) -> str:
    field, message = line_problems(kind, error)[0]  # as an import names it
    return f"{field or '(the fact)'}: {message}"


def _known_by_recorded_at(views: ResultsViews) -> Callable[[int], bool]:
    """Whether as-of answers know a position by its recorded_at (see projections.asof;
    the same at any as-of time)."""
    return known_at(views.store, datetime.now(timezone.utc)).known_by_recorded_at


class _CommitStamps:
    """The commit rows met in log order, to check each against the events it holds. A
    commit is stamped under the write lock, never before its events' recorded_at
    (storage.store), which the hash chain covers, unlike the stamp: an event recorded
    after the commit holding it shows the stamp was moved back, and as-of answers then
    show the fact from before the ledger had it. Positions known by their recorded_at
    (a commit row `by_recorded_at`) are not given: no stamp of theirs answers for them."""

    def __init__(self, rows: list[tuple], check: Check):
        self.rows, self.check, self.at, self.named = rows, check, 0, -1

    def hold(self, position: int, recorded_at: datetime) -> None:
        while self.at < len(self.rows) and self.rows[self.at][0] < position:
            self.at += 1
        if self.at == len(self.rows):
            return  # (past the last commit row: a note of `_check_commits`)
        last, committed_at = self.rows[self.at]
        if last != self.named and recorded_at > as_datetime(committed_at):
            self.named = last  # one problem per commit: its first event recorded after it
            self.check.problem(f"the commit up to position {last} is stamped {as_text(committed_at)}, before "
                               f"position {position}, which it holds, was recorded ({as_text(recorded_at)}): "
                               "its stamp was moved back, and as-of answers show the ledger holding that fact "
                               "before it did")


def _check_commits(views: ResultsViews, rows: list[tuple], up_to: int, check: Check) -> None:
    previous = None
    for last_position, committed_at in rows:
        check.checked += 1
        if previous is not None and committed_at < previous[1]:
            check.problem(f"the commit up to position {last_position} is stamped {as_text(committed_at)}, before "
                          f"the one up to {previous[0]} ({as_text(previous[1])})")
        previous = (last_position, committed_at)
    for first, last in by_recorded_ranges(views):
        # A commit seals the positions below its own events that no commit row covers: an
        # older release's writes, or ids a rolled-back write took and left unused (a
        # refused import, on PostgreSQL), which hold no event and are no one's writes.
        if first > 1 and views.query(f"SELECT 1 FROM {views.log_table} WHERE {views.log_key} BETWEEN %s AND %s "
                                     "LIMIT 1", [first, last]):
            check.notes.append(f"the events at positions {first} to {last} were written by a release that kept no "
                               "commit times (one before migration 009, left running): as-of answers know them by "
                               "their recorded times")
    covered = max((r[0] for r in rows), default=0)
    if covered > up_to:
        check.problem(commit_row_past_end(covered, up_to))
    check.summary = (f"{check.checked:,} commit(s), each stamped at or after the one before it and its events' "
                     "recorded times")
    if covered < up_to:
        check.notes.append(f"the events after position {covered} (to {up_to}) are in no commit row (written by a "
                           "release that kept no commit times, one before migration 009, left running): as-of "
                           "answers know them by their recorded times")


def commit_row_past_end(covered: int, up_to: int) -> str:
    """A commit row beyond the log's last event: either the events it sealed were taken
    from the log's end, or the row was written without them. The log cannot tell which."""
    return (f"a commit row names position {covered}, past the log's last ({up_to}): "
            "events were removed from the log's end, or the row was added without them")


def _check_page_ids(views: ResultsViews, expected: dict[str, tuple[str, str, int, int]], check: Check,
                    matched: list[int]) -> None:
    if not expected:
        return
    where, params = views.in_list("event_id", list(expected))
    found = {r[0]: (r[1], r[2], int(r[3])) for r in views.query(
        f"SELECT event_id, digest, originator_id, originator_version FROM certledger_event_ids WHERE {where}", params)}
    for key, (digest, stream, version, position) in expected.items():
        check.checked += 1
        row = found.get(key)
        matched[0] += row is not None
        if row is None:
            check.problem(f"{key} (position {position}) is not in the index: the ledger would record it again")
        elif row[1:] != (stream, version):
            check.problem(f"{key} (position {position}) is indexed at {row[1]} v{row[2]}")
        elif row[0] != digest and not (row[0] == UNINDEXED_DIGEST and key.startswith(RULING_KEY_PREFIX)):
            check.problem(f"{key} (position {position}) is indexed with another content's digest")


def _check_page_members(views: ResultsViews, expected: dict[str, tuple[str, int]], check: Check,
                        matched: list[int]) -> None:
    if not expected:
        return
    where, params = views.in_list("certification_id", list(expected))
    found: dict[str, list[str]] = {}
    for cert, session in views.query(
            f"SELECT certification_id, session_id FROM certledger_session_certifications WHERE {where}", params):
        found.setdefault(cert, []).append(session)
    for cert, (session, position) in expected.items():
        check.checked += 1
        matched[0] += session in found.get(cert, [])
        if found.get(cert) != [session]:
            listed = ", ".join(found.get(cert, [])) or "no session"
            check.problem(f"{cert} (started at position {position} in {session}) is listed in {listed}")


def _check_extra_rows(views: ResultsViews, check: Check, table: str, matched: int, what: str) -> None:
    """Rows no fact of the log calls for: all but those the pages matched (each key once)."""
    stored = int(views.query(f"SELECT COUNT(*) FROM {table}")[0][0])
    if stored > matched:
        check.problem(f"{stored - matched:,} {what} that no fact of the log calls for"
                      + (_orphan_ids(views) if table == "certledger_event_ids" else ""))


def _orphan_ids(views: ResultsViews) -> str:
    """The first index rows naming a place of the log that holds no event (a fact deleted
    under its index row), by key: counted only, they left an auditor to search the table.
    Asked only once rows are found extra, so a sound ledger pays nothing for it."""
    rows = views.query(
        f"SELECT i.event_id, i.originator_id, i.originator_version FROM certledger_event_ids i WHERE NOT EXISTS "
        f"(SELECT 1 FROM {views.log_table} e WHERE e.originator_id = i.originator_id "
        f"AND e.originator_version = i.originator_version) ORDER BY i.event_id LIMIT {MAX_LISTED + 1}")
    if not rows:
        return ""
    return "; naming a place of the log that holds no event: " + first_listed(
        [f"{key} ({stream} v{version})" for key, stream, version in rows])
