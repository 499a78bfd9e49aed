"""Results as the ledger knew them at a recorded time T.

Computed, not looked up: the events the ledger held at T (rule versions included, so a
rule version recorded after T does not apply) are folded in memory by the very fold the
projection runs (`projections.fold`), so for any T the answer is what the projection
served at T. The ledger held an event at T when the transaction that wrote it had
committed by T (`certledger_commits`, stamped under the write lock): the log up to the
last position committed by T, a state the ledger was in. An event's own `recorded_at` is
taken when its batch is judged, before it waits for the lock, and every event of a long
import carries the instant the import began; by those alone, an as-of answer showed
events not yet committed. Events recorded before that table (migration 009), or written
beside it by a release before it, are still known by their `recorded_at`, as before. A filter on one certification, session or candidate reads only
the streams it needs (theirs, their sessions' and the rules'); other filters fold the
whole log.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from ledger.streams import RULES_STREAM, candidate_stream, certification_stream, session_stream
from projections.fold import ResultsFold, utc_iso
from projections.views import ResultsViews
from storage.codec import read_state
from storage.store import COMMITS_TABLE, EventStore, commit_text

Entry = tuple[int, str, dict]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    return moment


@dataclass(frozen=True)
class KnownAt:
    """Which log positions the ledger held at `as_of`."""
    as_of: datetime
    # Positions known by their own recorded_at, (first, last) in order: the log migration
    # 009 found, and what a release before it wrote beside this one (see storage.store).
    by_recorded: tuple[tuple[int, int], ...]
    covered: int  # the last position of a commit row: past it, only such a release's writes
    committed: int  # the last position committed by `as_of`

    def __call__(self, entry: Entry) -> bool:
        position = entry[0]
        if self.known_by_recorded_at(position):
            return datetime.fromisoformat(entry[2]["recorded_at"]) <= self.as_of
        return position <= self.committed

    def known_by_recorded_at(self, position: int) -> bool:
        if position > self.covered:
            return True
        i = bisect_right(self.by_recorded, (position, 2**63)) - 1
        return i >= 0 and self.by_recorded[i][0] <= position <= self.by_recorded[i][1]

    @property
    def legacy_until(self) -> int:
        """The last position of the log 009 found (0: none)."""
        return self.by_recorded[0][1] if self.by_recorded and self.by_recorded[0][0] == 1 else 0


def by_recorded_ranges(views: ResultsViews) -> tuple[tuple[int, int], ...]:
    """The (first, last) positions of each commit row `by_recorded_at` (rare: an index
    probe for each, and one for the row before it)."""
    flag = "by_recorded_at" if views.pg else "by_recorded_at = 1"
    rows = views.query(f"SELECT g.last_position, (SELECT MAX(c.last_position) FROM {COMMITS_TABLE} c "
                       f"WHERE c.last_position < g.last_position) FROM {COMMITS_TABLE} g WHERE {flag} "
                       "ORDER BY g.last_position")
    return tuple((int(before or 0) + 1, int(last)) for last, before in rows)


def known_at(store: EventStore, as_of: datetime) -> KnownAt:
    views = ResultsViews(store)
    moment = _aware(as_of) if views.pg else commit_text(_aware(as_of))
    (covered,), = views.query(f"SELECT COALESCE(MAX(last_position), 0) FROM {COMMITS_TABLE}")
    # One index probe: stamps never fall as positions rise.
    committed = views.query(f"SELECT last_position FROM {COMMITS_TABLE} WHERE committed_at <= %s "
                            "ORDER BY committed_at DESC, last_position DESC LIMIT 1", [moment])
    return KnownAt(as_of, by_recorded_ranges(views), int(covered), int(committed[0][0]) if committed else 0)


def commit_times(store: EventStore, positions: Iterable[int]) -> dict[int, str | None]:
    """When the ledger came to hold each position, as as-of answers see it: its
    transaction's commit instant (UTC text); None for an event known by its own
    `recorded_at`: recorded before the commit rows, or written by a release before them
    (covered by a row `by_recorded_at`, or past the last row)."""
    wanted = sorted(set(positions))
    if not wanted:
        return {}
    views = ResultsViews(store)
    if views.pg:
        text = (f"SELECT p, c.committed_at, c.by_recorded_at FROM unnest(%s::bigint[]) AS p "
                f"LEFT JOIN LATERAL (SELECT committed_at, by_recorded_at FROM {COMMITS_TABLE} "
                "WHERE last_position >= p ORDER BY last_position LIMIT 1) c ON true")
        params: list[Any] = [wanted]
    else:
        text = (f"SELECT j.value, c.committed_at, c.by_recorded_at FROM json_each(%s) AS j "
                f"LEFT JOIN {COMMITS_TABLE} AS c ON c.last_position = "
                f"(SELECT MIN(last_position) FROM {COMMITS_TABLE} WHERE last_position >= j.value)")
        params = [orjson.dumps(wanted).decode()]
    return {int(p): None if at is None or legacy else utc_iso(at) for p, at, legacy in views.query(text, params)}


def recorded_by(entries: Iterable[Entry], known: KnownAt) -> Iterator[Entry]:
    """The entries the ledger held at `known.as_of`."""
    return filter(known, entries)


def whole_log(store: EventStore, page: int = 5000) -> Iterator[Entry]:
    after = 0
    while True:
        notes = store.read_log_raw(after, page)
        if not notes:
            return
        for n in notes:
            yield n.position, n.stream, read_state(n.stream, n.version, n.position, n.state)
        after = notes[-1].position


def streams_for(store: EventStore, certification_id: str | None = None, session_id: str | None = None,
                candidate_id: str | None = None, *, with_candidate: bool = False) -> list[str] | None:
    """The streams holding everything the filtered results depend on; None: all of them.
    `with_candidate`: a certification's candidate's stream too (the jury's bans of them),
    which no result depends on but an audit of a fraud shows."""
    views = ResultsViews(store)
    if certification_id is not None:
        rows = views.stream_entries([certification_stream(certification_id)])
        starts = [s["event"] for _, _, s in rows if s["event"]["type"] == "CertificationStarted"]
        sessions = {start["session_id"] for start in starts}
        candidates = sorted({start["candidate_id"] for start in starts}) if with_candidate else []
        return [certification_stream(certification_id), *map(session_stream, sorted(sessions)),
                *map(candidate_stream, candidates), RULES_STREAM]
    if session_id is not None:
        certs = store.certifications_of_session(session_id)
        return [session_stream(session_id), *map(certification_stream, certs), RULES_STREAM]
    if candidate_id is not None:
        rows = views.query("SELECT certification_id, session_id FROM certledger_results WHERE candidate_id = %s",
                           [candidate_id])
        return [*(certification_stream(c) for c, _ in rows), *sorted({session_stream(s) for _, s in rows}),
                RULES_STREAM]
    return None


def fold_as_of(store: EventStore, as_of: datetime | None, streams: list[str] | None, *,
               keep_history: bool = False) -> ResultsFold:
    """The fold of the (given streams of the) log as recorded up to `as_of` (None: all)."""
    entries: Iterable[Entry] = whole_log(store) if streams is None else ResultsViews(store).stream_entries(streams)
    return fold_entries(entries, None if as_of is None else known_at(store, as_of), keep_history=keep_history)


def fold_entries(entries: Iterable[Entry], known: KnownAt | None, *, keep_history: bool = False) -> ResultsFold:
    """The fold of log entries already read, as the ledger held them at `known.as_of`
    (None: all)."""
    if known is not None:
        entries = recorded_by(entries, known)
    return ResultsFold(keep_history=keep_history).apply_all(entries)


def results_as_of(store: EventStore, as_of: datetime, *, certification_id: str | None = None,
                  session_id: str | None = None, candidate_id: str | None = None, status: str | None = None,
                  started_from: datetime | None = None, started_to: datetime | None = None,
                  after: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The public result dicts the projection served at recorded time `as_of`, filtered
    and ordered like `ResultsReader.current`."""
    if candidate_id is not None:
        from projections.results import catch_up

        catch_up(store)  # which certifications the candidate has comes from the view
    streams = streams_for(store, certification_id, session_id, candidate_id)
    fold = fold_as_of(store, as_of, streams)
    out = []
    for cert_id in sorted(fold.certs):
        cert = fold.certs[cert_id]
        if ((certification_id is not None and cert_id != certification_id)
                or (session_id is not None and cert.session_id != session_id)
                or (candidate_id is not None and cert.candidate_id != candidate_id)
                or (started_from is not None and cert.started_at < started_from)
                or (started_to is not None and cert.started_at > started_to)
                or (after is not None and cert_id <= after)):
            continue
        public = fold.public_result(cert)
        if status is not None and public["status"] != status:
            continue
        out.append(public)
        if limit is not None and len(out) >= limit:
            break
    return out
