"""The results projection: every certification's current result and the history of its
results, kept from the event log (the rules of when a certification is scored, and why,
are in `projections.fold`).

    n = catch_up(store)                    # process what is pending; how many events
    ResultsReader(store).current(session_id="s1")

Processing is by pages of the log: a page is read raw, each event decoded with orjson as
it is folded in memory, and the page's changed rows are written in bulk with the
tracking position in one transaction (eventsourcing's tracking recorder, on the same
cursor). After a crash, the next `catch_up` resumes from the tracked position with
nothing lost and nothing applied twice: the states it needs are read back from the view
(`certledger_scoring_inputs` holds every certification's facts). There is no background
runner in the embedded default: readers call `catch_up` first.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson

from ledger.rule_stream import RulesState
from ledger.rules import RuleTimeline
from ledger.streams import RULES_STREAM
from projections.fold import ResultsFold, Scorer, utc_iso
from projections.scoring_pool import ScoringPool, score_batch
from projections.page_writer import InProcessWriter, WriterProcess, page_writer
from projections.views import PositionMoved, ResultsViews, as_text, page_rows
from storage.store import EventStore

log = logging.getLogger("certledger.projections")

PAGE_SIZE = 20_000  # events: a few MB of raw rows, and tens of MB of changed rows to write
PARALLEL_FROM_EVENTS = 100_000  # pending events from which scoring is shared with worker processes
# States kept in memory between pages (all persisted); past it the fold forgets them all.
# A state is ~37 KB in memory (its facts as dicts 20 KB, its result's JSON 10 KB). At
# 50,000 a 100,000-certification rebuild peaked at 1.9 GB and ran ~10% slower than at
# 5,000-10,000 (0.3-0.46 GB; 2-3 interleaved runs per setting, one rebuild per
# process). The loads back it costs: 225 queries for 333 certifications and 121 for
# sessions in that rebuild.
MAX_CACHED_CERTIFICATIONS = 10_000

Progress = Callable[[int, int], None]  # (events processed by this call, events pending at its start)


def load_rules(store: EventStore, up_to: int | None = None) -> RulesState:
    """The ledger's `rules` stream folded as the log held it at position `up_to` (all of
    it when None): the one reading of that stream for the projections and the CLI (each
    call a fresh state, which a what-if may add its proposal to)."""
    records = store.read_streams_in_log_order([RULES_STREAM])
    return RulesState.folded(rec.event for rec in records
                             if up_to is None or rec.position is None or rec.position <= up_to)


def load_timeline(store: EventStore, up_to: int | None = None) -> RuleTimeline:
    """The rule timeline as the log held it at position `up_to` (all of it when None)."""
    return load_rules(store, up_to).timeline


_gc_lock = threading.Lock()
_gc_pause = {"depth": 0, "restore": False}  # catch-ups running with the collector paused


@contextmanager
def young_collections_only() -> Iterator[None]:
    """Pause Python's automatic garbage collection; the caller collects the young
    generations itself (`gc.collect(1)`) after each page.

    Why: a catch-up keeps many long-lived objects (the cached states, tens of thousands of
    certifications) and allocates a lot per page (decoded events, scoring results), so the
    automatic collector keeps running full collections that rescan all the cached states:
    a quarter of a rebuild's CPU time. Reference counting frees nearly everything anyway;
    the young collections catch a page's cycles, and the old generation is left to the
    collector once the catch-up is over (the last of concurrent catch-ups restores it)."""
    with _gc_lock:
        if _gc_pause["depth"] == 0:
            _gc_pause["restore"] = gc.isenabled()
            gc.disable()
        _gc_pause["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pause["depth"] -= 1
            if _gc_pause["depth"] == 0 and _gc_pause["restore"]:
                gc.enable()


def _equal_to(filters: Iterable[tuple[str, Any]]) -> tuple[list[str], list[Any]]:
    """WHERE clauses (and their parameters) for the filters given a value."""
    given = [(column, value) for column, value in filters if value is not None]
    return [f"{column} = %s" for column, _ in given], [value for _, value in given]


def _keyset(select: str, where: list[str], params: list[Any], key: str, after: str | None,
            limit: int | None) -> str:
    """`select` filtered, ordered by `key`, from after `after` (a page's cursor), at most
    `limit` rows; the parameters are appended to `params`."""
    if after is not None:
        where.append(f"{key} > %s")
        params.append(after)
    text = select + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {key}"
    if limit is not None:
        text += " LIMIT %s"
        params.append(int(limit))
    return text


class ResultsProjection:
    """One process's view of the projection: a warm fold between pages and calls."""

    def __init__(self, store: EventStore):
        self.store = store
        self.views = ResultsViews(store)
        self.lock = threading.Lock()
        self.position = -1
        self.fold: ResultsFold | None = None

    def drop_fold(self) -> None:
        """Forget the warm fold (the next catch-up starts from the view): after a long
        catch-up, its cached states (hundreds of MB) would stay for the process's life."""
        with self.lock:
            fold, self.fold, self.position = self.fold, None, -1
        if fold is not None:
            fold.release()  # a piece at a time, and outside the lock: reads need neither wait

    def _reset(self, position: int, scorer: Scorer) -> ResultsFold:
        # At position 0 the view is empty (a rebuild's reset empties it with the position).
        self.fold = ResultsFold(load_timeline(self.store, position), loader=self.views, scorer=scorer,
                                complete=position == 0)
        self.position = position
        return self.fold

    def catch_up(self, *, progress: Progress | None = None, stop_after: int | None = None,
                 page_size: int = PAGE_SIZE) -> int:
        # When much of the log is pending (a rebuild, a catch-up after an import), two
        # kinds of worker processes take work off this one, the bottleneck, for this
        # call (each costs a third of a second to start):
        # * a page's rescorings, scored as one batch, are shared with scoring workers:
        #   about a tenth off a rebuild on 2 cores (4 alternating runs each of
        #   benchmarks/rebuild.py's rebuild_once, with and without: 99,000 and 89,000
        #   events/s at 10,000 certifications);
        # * a page is written by a writer process while the next one is folded
        #   (projections.page_writer).
        with self.lock, young_collections_only():
            stored = self.views.position()
            if self.position == -1 and stored and not self.views.has_rows() and self.views.forget_lost_view():
                # (Checked once per process, and after a failure: not on every read; and
                # judged under the writers' lock only if a plain read finds no result: a
                # reader on SQLite must not wait for a long import's write lock.)
                log.warning("the results read model was gone while its position said %s: derived again from "
                            "the first event (was it left out of a restored backup?)", stored)
                stored = 0
            if stored == 0 and self.views.has_rows() and not self.views.clear_foreign():
                # Rows this projection never wrote are another derivation's (see
                # views.PROJECTION_NAME), emptied; unless another process of this one
                # committed its first page meanwhile: then go on from its position.
                stored = self.views.position()
            behind = self.store.max_position() - stored
            far_behind = min(behind, behind if stop_after is None else stop_after) >= PARALLEL_FROM_EVENTS
            try:
                with ScoringPool(workers=None if far_behind else 1) as pool, \
                        page_writer(self.store, far_behind=far_behind) as writer:
                    fold = self.fold if self.fold is not None and stored == self.position else self._reset(stored, pool)
                    fold.scorer = pool
                    try:
                        return self._pages(fold, pool, writer, progress, stop_after, page_size)
                    finally:
                        if self.fold is not None:
                            self.fold.scorer = score_batch  # the pool stops with this call
            except BaseException:
                # Whatever failed (the fold, a worker, the writer, a reset), the memory may
                # be ahead of the view: drop it, and the next call starts from the view.
                self.fold, self.position = None, -1
                raise

    def _pages(self, fold: ResultsFold, scorer: Scorer, writer: InProcessWriter | WriterProcess,
               progress: Progress | None, stop_after: int | None, page_size: int) -> int:
        pending = max(self.store.max_position() - self.position, 0)
        done = 0
        # The fold's memory is at `folded`; the view at `self.position`, or at `folded`
        # once the page in flight, if any, is written.
        folded = self.position
        in_flight: tuple[int, int] | None = None  # (last position, events) of that page

        def settle() -> None:
            nonlocal done, in_flight
            if in_flight is None:
                return
            writer.settle()  # PositionMoved or the writer's error, if the page failed
            self.position, count = in_flight
            in_flight = None
            done += count
            if progress is not None:
                progress(done, max(pending, done))

        while True:
            try:
                left = None if stop_after is None else stop_after - done - (in_flight[1] if in_flight else 0)
                rows = self.views.log_rows(folded, page_size if left is None else min(page_size, left)) \
                    if left is None or left > 0 else []
                if not rows:
                    settle()
                    break
                last = rows[-1][0]
                fold.prepare(rows)
                fold.apply_encoded(rows)
                fold.ensure_row_sessions()
                changed = page_rows(fold)
                settle()  # the previous page is written before this one goes
                writer.submit(changed, folded, last)
                in_flight, folded = (last, len(rows)), last
                fold.clear_changes()
                if len(fold.certs) > MAX_CACHED_CERTIFICATIONS:
                    settle()  # what the fold forgets, it will load back: from a view that holds it
                    fold.forget()
            except PositionMoved:  # (any other failure: catch_up drops the fold)
                in_flight = None
                fold = self._reset(self.views.position(), scorer)  # another process went ahead: follow it
                folded = self.position
                continue
            # The page's rows first: the collection traverses every live young object.
            # (The page's events, decoded whole, once made that a ninth of a rebuild's
            # time; now each is freed as soon as it is folded.)
            del rows, changed
            gc.collect(1)  # the page's cycles, if any (see young_collections_only)
        return done


_projections_lock = threading.Lock()
_ATTRIBUTE = "_certledger_results_projection"


def projection_of(store: EventStore) -> ResultsProjection:
    """The store's projection, kept on the store itself: it lives as long as the store.
    (A weak-keyed registry would keep both forever, the projection holding its store: a
    closed store's warm fold, tens of thousands of states, stayed in memory and slowed
    every later garbage collection of the process.)"""
    with _projections_lock:
        projection = getattr(store, _ATTRIBUTE, None)
        if projection is None:
            projection = ResultsProjection(store)
            setattr(store, _ATTRIBUTE, projection)
        return projection


def catch_up(store: EventStore, *, progress: Progress | None = None, stop_after: int | None = None,
             page_size: int = PAGE_SIZE) -> int:
    """Process the events not yet projected (at most `stop_after`); return how many."""
    return projection_of(store).catch_up(progress=progress, stop_after=stop_after, page_size=page_size)


# The columns `public_from_row` reads, in its order.
PUBLIC_COLUMNS = "certification_id, candidate_id, session_id, centre_id, started_at, published, result"


def _started_text(value: Any) -> str:
    """The row's start as the fold writes it (UTC); a damaged one (SQLite keeps text) as it
    is stored, for `verify` to name rather than every read to fail on."""
    try:
        return utc_iso(value)
    except (TypeError, ValueError):
        return str(value)


def public_from_row(row: tuple) -> dict[str, Any]:
    cert_id, candidate_id, session_id, centre_id, started_at, published, result = row
    body = orjson.loads(result)
    body.pop("certification_id", None)
    return {"certification_id": cert_id, "candidate_id": candidate_id, "session_id": session_id,
            "centre_id": centre_id, "started_at": _started_text(started_at), "published": bool(published), **body}


class ResultsReader:
    """Reads the results as the projection holds them (call `catch_up` first to be current)."""

    def __init__(self, store: EventStore):
        self.views = ResultsViews(store)

    def current(self, certification_id: str | None = None, session_id: str | None = None,
                candidate_id: str | None = None, status: str | None = None,
                started_from: datetime | None = None, started_to: datetime | None = None,
                after: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Public result dicts ordered by certification id; `after` is a keyset cursor
        (the last certification id of the previous page); the start bounds are inclusive."""
        where, params = _equal_to((("certification_id", certification_id), ("session_id", session_id),
                                   ("candidate_id", candidate_id), ("status", status)))
        for clause, moment in (("started_at >= %s", started_from), ("started_at <= %s", started_to)):
            if moment is not None:
                where.append(clause)
                params.append(moment if self.views.pg else utc_iso(moment))
        text = _keyset(f"SELECT {PUBLIC_COLUMNS} FROM certledger_results", where, params, "certification_id",
                       after, limit)
        return [public_from_row(r) for r in self.views.query(text, params)]

    def sessions(self, *, centre_id: str | None = None, finalised: bool | None = None,
                 published: bool | None = None, after: str | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
        """Sessions ordered by id (`after`: a keyset cursor), with their centre and whether
        they are finalised and published."""
        where, params = _equal_to((("centre_id", centre_id), ("finalised", finalised), ("published", published)))
        text = _keyset("SELECT session_id, centre_id, finalised, published FROM certledger_result_sessions",
                       where, params, "session_id", after, limit)
        return [{"session_id": sid, "centre_id": centre, "finalised": bool(done), "published": bool(shown)}
                for sid, centre, done, shown in self.views.query(text, params)]

    def changes(self, *, after: tuple[int, str] | None = None, limit: int, centre_id: str | None = None,
                published_once: bool = False) -> list[dict[str, Any]]:
        """The change feed: the results that changed after `after` (a `(changed, certification
        id)` key, exclusive), ordered by that key, each at its current state with its
        `changed` position and `was_published`. A certification changed twice since appears
        once, at its latest change. `centre_id`: that centre's only; `published_once`: only
        those whose results were published at some moment (a reader's; one published no
        more is for it a withdrawal, see the API), keyed by the last change a reader may see
        (`public_changed`: a rescoring while withdrawn does not count). Committed pages come
        in log order, so a key once passed is never followed by a change that sorts before it."""
        where, params = _equal_to((("centre_id", centre_id),))
        # A reader's key: the last change it may see (`public_changed`, views._UPSERT_RESULTS).
        key = "public_changed" if published_once else "changed"
        if published_once:
            where.append("(published OR was_published)" if self.views.pg else "(published OR was_published) != 0")
        if after is not None:
            where.append(f"({key}, certification_id) > (%s, %s)")
            params += [after[0], after[1]]
        text = (f"SELECT {key}, was_published, {PUBLIC_COLUMNS} FROM certledger_results"
                + (" WHERE " + " AND ".join(where) if where else "")
                + f" ORDER BY {key}, certification_id LIMIT %s")
        return [{"changed": changed, "was_published": bool(was), **public_from_row(row)}
                for changed, was, *row in self.views.query(text, [*params, int(limit)])]

    def history(self, certification_id: str) -> list[dict[str, Any]]:
        rows = self.views.query(
            "SELECT seq, cause, detail, recorded_at, position, result FROM certledger_result_history "
            "WHERE certification_id = %s ORDER BY seq", [certification_id],
        )
        return [{"seq": seq, "cause": cause, "detail": detail, "recorded_at": as_text(at), "position": position,
                 "result": orjson.loads(result)} for seq, cause, detail, at, position, result in rows]

    def position(self) -> int:
        return self.views.position()

    def log_mark(self, position: int) -> str | None:
        """A short digest of which event the log holds at `position` (None: none): what
        tells a position of this log from the same number in another history of it (a
        ledger restored from an older backup, then written to, reuses positions)."""
        # The event whole, recorded time included: the same stream and version written
        # again after a restore (a batch sent again, changed) is another event.
        event = self.views.event_at(position)
        return None if event is None else hashlib.sha256(event).hexdigest()[:16]

    def lag(self, at_most: int | None = None) -> int:
        """Events recorded but not yet processed by the projection (counted up to
        `at_most`, if given)."""
        return self.views.events_after(self.views.position(), at_most)
