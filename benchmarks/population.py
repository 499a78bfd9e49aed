"""The simulated population each benchmark reads: built once per scale, then reused.

    python benchmarks/population.py --scale 10000 [--force] [--verify]

`certledger_bench_<scale>` holds `simulate_events(scale, seed=1, 2024-01-08, days=sim_days(scale))`
(the population `certledger simulate --candidates <scale>` appends, with `--days 550`
beyond 10,000). Building it through
`certledger import` runs at a few thousand events/s (a query per new stream to catch
its state up, the library's text-composite insert), so 100,000 certifications would take
most of an hour. The fast path used here keeps everything that makes the rows correct and
drops only the round trips:

1. the simulator's events are judged one by one by the ledger's own unit of work
   (`commands.recording._UnitOfWork.judge`: the import path's checks, stream versions,
   event-id digests), against an in-memory view of the store (the database is new: every
   stream starts empty, the rule timeline is read from the database);
2. rows are encoded by the store's own functions (`storage.codec.to_stored`,
   `storage.store._index_rows`) and written with `COPY … FROM STDIN (FORMAT BINARY)` into
   the events table, the event-id index and the session membership, in one transaction
   under the library's EXCLUSIVE table lock (notification ids in log order), with a
   row in `certledger_bench_population` saying the build is complete.

`--verify` (and `benchmarks/run.py`, once per run) checks the fast path against
`append_simulation` (the import path) on a small population: the same rows, byte for byte
once `recorded_at` is left out.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import support  # noqa: F401  (puts the repository on sys.path)
import psycopg
from support import DB_PREFIX, SIM_SEED, SIM_START, sim_days, bar, connect, console, db_exists, db_url, drop_db, fresh_db

BUILT_WITH = ("simulator → ledger validation in memory (commands.recording._UnitOfWork.judge) → "
              "COPY BINARY, one transaction under the events table lock")
META_TABLE = "certledger_bench_population"
CHUNK = 20_000
EVENTS_PER_CERTIFICATION = 65  # measured on seed 1 (for progress bars and estimates)


@dataclass(frozen=True)
class Population:
    url: str
    scale: int
    events: int  # simulated events (the genesis rule versions not counted)
    log_events: int  # every row of the events table
    built_with: str
    build_seconds: float
    reused: bool


def population_db(scale: int) -> str:
    return f"{DB_PREFIX}{scale}"


class _MemoryStore:
    """What `_UnitOfWork` reads from a store, for a new ledger: empty streams but the rules."""

    def __init__(self, rules_stream: str, rules_records: list):
        self.rules_stream, self.rules_records = rules_stream, rules_records

    def read_stream(self, stream: str, after: int = 0) -> list:
        if stream == self.rules_stream:
            return [r for r in self.rules_records if r.version > after]
        return []

    def event_digests(self, event_ids) -> dict[str, str]:
        return {}

    def certifications_of_session(self, session_id: str) -> list[str]:
        return []  # the unit of work adds the certifications it started itself


def fill_by_copy(url: str, events: Iterable, *, by: str, advance: Callable[[int], None] = lambda n: None) -> int:
    """Judge `events` as an import would, then COPY them in; the ledger must be new."""
    from commands.bootstrap import open_ledger, utc_now
    from commands.recording import StateCache, _UnitOfWork, chunks
    from ledger.streams import RULES_STREAM
    from storage.codec import to_stored
    from storage.store import PG_EVENTS_TABLE, _index_rows

    with open_ledger(url) as ledger:  # writes the genesis rule versions
        rules = ledger.store.read_stream(RULES_STREAM)
        assert ledger.store.max_position() == len(rules), "fill_by_copy needs a new ledger"
    uow = _UnitOfWork(_MemoryStore(RULES_STREAM, rules), StateCache(), utc_now(), by)
    written = 0
    with connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(f"LOCK TABLE {PG_EVENTS_TABLE} IN EXCLUSIVE MODE")
        for chunk in chunks(events, CHUNK):
            for event in chunk:
                if not uow.judge(event, {}):
                    raise AssertionError(f"the simulator repeated an event: {event.event_id}")
            records, uow.records = uow.records, []
            lines = [r.event.to_line() for r in records]
            ids, links = _index_rows(records, lines)
            _copy(cur, f"COPY {PG_EVENTS_TABLE} (originator_id, originator_version, topic, state) FROM STDIN "
                       "(FORMAT BINARY)", ["text", "int8", "text", "bytea"],
                  ((s.originator_id, s.originator_version, s.topic, s.state)
                   for s in (to_stored(r, line) for r, line in zip(records, lines))))
            _copy(cur, "COPY certledger_event_ids FROM STDIN (FORMAT BINARY)", ["text", "text", "text", "int8"], ids)
            _copy(cur, "COPY certledger_session_certifications FROM STDIN (FORMAT BINARY)", ["text", "text"], links)
            written += len(records)
            advance(len(chunk))
        # The commit row every write transaction ends with (storage.store.writer).
        cur.execute("INSERT INTO certledger_commits (last_position, committed_at) "
                    "SELECT MAX(notification_id), clock_timestamp() FROM certledger_events")
        _write_meta(cur, written)
    return written


def _copy(cur: psycopg.Cursor, statement: str, types: list[str], rows: Iterable[tuple]) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _write_meta(cur: psycopg.Cursor, events: int) -> None:
    cur.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (events bigint, built_with text, build_seconds float8, "
                "built_at timestamptz DEFAULT now(), scale int, seed int)")
    cur.execute(f"INSERT INTO {META_TABLE} (events, built_with) VALUES (%s, %s)", [events, BUILT_WITH])


def _read_meta(url: str) -> tuple[int, str, float, int] | None:
    """(events, built_with, build seconds, rows in the log) of a complete build, else None."""
    with connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", [META_TABLE]).fetchone()[0] is None:
            return None
        row = conn.execute(f"SELECT events, built_with, build_seconds FROM {META_TABLE} "
                           "WHERE scale IS NOT NULL").fetchone()
        if row is None:
            return None  # the rows are there but the build did not finish its bookkeeping
        log_events = conn.execute("SELECT count(*) FROM certledger_events").fetchone()[0]
    return row[0], row[1], row[2], log_events


def ensure_population(scale: int, *, force: bool = False, show_bar: bool = True) -> Population:
    """The population at `scale`, built now unless a complete one is already there."""
    name = population_db(scale)
    url = db_url(name)
    meta = None if force or not db_exists(name) else _read_meta(url)
    if meta is not None:
        from storage import migrate
        from storage.urls import parse_url

        migrate.migrate(parse_url(url))  # built by an earlier version: its schema brought up to date
        events, built_with, seconds, log_events = meta
        return Population(url, scale, events, log_events, built_with, seconds, reused=True)
    from commands.simulation import simulate_events

    console.print(f"building the population of {scale:,} certifications in {name} "
                  f"(≈{scale * EVENTS_PER_CERTIFICATION:,} events; {BUILT_WITH})")
    url = fresh_db(name)
    started = time.perf_counter()
    with (bar() if show_bar else _nobar()) as progress:
        task = progress.add_task(f"building {name}", total=scale * EVENTS_PER_CERTIFICATION)
        events = fill_by_copy(url, simulate_events(scale, SIM_SEED, SIM_START, days=sim_days(scale)),
                              by=f"simulate:seed={SIM_SEED}",
                              advance=lambda n: progress.advance(task, n))
    seconds = time.perf_counter() - started
    with connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE {META_TABLE} SET build_seconds = %s, scale = %s, seed = %s", [seconds, scale, SIM_SEED])
        conn.execute("VACUUM (ANALYZE)")  # hint bits and statistics: reads then measure the steady state
        log_events = conn.execute("SELECT count(*) FROM certledger_events").fetchone()[0]
    console.print(f"built {events:,} events in {seconds:.0f} s ({events / seconds:,.0f} events/s)")
    return Population(url, scale, events, log_events, BUILT_WITH, seconds, reused=False)


def _nobar():
    from support import NullBar

    return NullBar()


def verify_fast_path(candidates: int = 60) -> bool:
    """The fast path writes what the import path writes (recorded_at aside)."""
    from commands.bootstrap import open_ledger
    from commands.simulate import append_simulation
    from commands.simulation import simulate_events

    fast, slow = f"{DB_PREFIX}verify_copy", f"{DB_PREFIX}verify_import"
    by = f"simulate:seed={SIM_SEED}"
    fill_by_copy(fresh_db(fast), simulate_events(candidates, SIM_SEED, SIM_START), by=by)
    with open_ledger(fresh_db(slow)) as ledger:
        append_simulation(ledger, candidates=candidates, seed=SIM_SEED, start=SIM_START)
    try:
        return _dump(db_url(fast)) == _dump(db_url(slow))
    finally:
        drop_db(fast)
        drop_db(slow)


def _dump(url: str) -> tuple[list, list, list]:
    import orjson

    with connect(url, autocommit=True) as conn:
        events = []
        for nid, oid, ver, topic, state in conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM certledger_events "
            "ORDER BY notification_id"
        ):
            body = orjson.loads(state)
            body.pop("recorded_at")
            events.append((nid, oid, ver, topic, body))
        ids = conn.execute("SELECT * FROM certledger_event_ids ORDER BY event_id").fetchall()
        links = conn.execute("SELECT * FROM certledger_session_certifications ORDER BY 1").fetchall()
    return events, ids, links


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, action="append", help="certifications (repeatable); default 10000")
    parser.add_argument("--force", action="store_true", help="rebuild even if a complete population is there")
    parser.add_argument("--verify", action="store_true", help="check the fast path against the import path first")
    args = parser.parse_args()
    if args.verify:
        ok = verify_fast_path()
        console.print(f"fast path identical to the import path: {ok}")
        if not ok:
            raise SystemExit(1)
    for scale in args.scale or [10_000]:
        pop = ensure_population(scale, force=args.force)
        state = "reused" if pop.reused else "built"
        console.print(f"{state} {population_db(scale)}: {pop.events:,} simulated events, {pop.log_events:,} rows "
                      f"(build took {pop.build_seconds:.0f} s)")


if __name__ == "__main__":
    main()
