"""The raw read limit: how fast the stored events can be read and decoded at all.

    python benchmarks/read_log.py --scale 10000 [--runs 3]

Every variant reads every row of `certledger_events` (the population of
`benchmarks/population.py`) and decodes each payload with `orjson.loads`, nothing else:

* `copy`: `COPY certledger_events (state) TO STDOUT (FORMAT BINARY)`, physical order
  (the population is written in log order);
* `copy_ordered`: the same, `ORDER BY notification_id` (what a projection needs);
* `server_cursor`: a named (server-side) binary cursor, fetched 10,000 rows at a time;
* `keyset_pages`: the results projection's own read path (`ResultsViews.log_rows`, its
  pages of 20,000 by notification id, each row decoded in turn as the fold does);
* `library`: eventsourcing's `select_notifications` in pages of 500, then `orjson.loads`
  (context: the library's notification log).

Figures are events/s, medians over runs. **The raw limit**, every figure's baseline, is
the faster of `copy` and `server_cursor` in the same run: the issue names both, and
either can come out ahead (on one host `copy` measured 442,000 events/s and
`server_cursor` 554,000 in the same run; on another they were within a few per cent,
each ahead at one scale). The faster one makes every ratio against it the least
flattering.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import support  # noqa: F401  (puts the repository on sys.path)
import orjson
from support import Figure, connect, console, median, show

PAGE_LIBRARY = 500
FETCH = 10_000


def copy_state(url: str, ordered: bool = False) -> int:
    loads = orjson.loads
    source = ("(SELECT state FROM certledger_events ORDER BY notification_id)" if ordered
              else "certledger_events (state)")
    n = 0
    with connect(url, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY {source} TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["bytea"])
            for (state,) in copy.rows():
                loads(state)
                n += 1
    return n


def server_cursor(url: str) -> int:
    loads = orjson.loads
    n = 0
    with connect(url) as conn, conn.cursor(name="bench_raw_read", binary=True) as cur:
        cur.execute("SELECT state FROM certledger_events ORDER BY notification_id")
        while rows := cur.fetchmany(FETCH):
            for (state,) in rows:
                loads(state)
            n += len(rows)
    return n


def keyset_pages(url: str) -> int:
    from projections.results import PAGE_SIZE
    from projections.views import ResultsViews
    from storage.store import EventStore
    from storage.urls import parse_url

    loads = orjson.loads
    store = EventStore(parse_url(url), create=False)
    try:
        views, after, n = ResultsViews(store), 0, 0
        while rows := views.log_rows(after, PAGE_SIZE):
            for _, _, raw in rows:
                loads(raw)
            after = rows[-1][0]
            n += len(rows)
        return n
    finally:
        store.close()


def library(url: str) -> int:
    from storage.store import EventStore
    from storage.urls import parse_url

    loads = orjson.loads
    store = EventStore(parse_url(url), create=False)
    try:
        after, n = 0, 0
        while notes := store.recorder.select_notifications(after, PAGE_LIBRARY, inclusive_of_start=False):
            for note in notes:
                loads(note.state)
            after = notes[-1].id
            n += len(notes)
        return n
    finally:
        store.close()


VARIANTS: dict[str, Callable[[str], int]] = {
    "copy": copy_state,
    "copy_ordered": lambda url: copy_state(url, ordered=True),
    "server_cursor": server_cursor,
    "keyset_pages": keyset_pages,
    "library": library,
}


def rate(work: Callable[[str], int], url: str, runs: int) -> tuple[float, list[float], int]:
    """(median events/s, every run's events/s, events per run)."""
    rates, n = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        n = work(url)
        rates.append(n / (time.perf_counter() - start))
    return median(rates), rates, n


def warm_up(url: str) -> None:
    """One untimed pass, so that the first timed variant does not pay for a cold cache."""
    copy_state(url)


RAW_VARIANTS = ("copy", "server_cursor")  # the two reads the issue names as the raw limit
RAW_NAME = "raw read limit (the faster of COPY BINARY and a server-side cursor, + orjson)"


def fastest_raw(results: dict[str, tuple[float, list[float], int]]) -> tuple[float, list[float], str]:
    """(median, runs, variant) of the faster raw variant among `results`."""
    name = max((n for n in RAW_VARIANTS if n in results), key=lambda n: results[n][0])
    return results[name][0], results[name][1], name


def raw_limit(url: str, runs: int = 3) -> tuple[float, list[float], str]:
    warm_up(url)
    return fastest_raw({name: rate(VARIANTS[name], url, runs) for name in RAW_VARIANTS})


def measure(url: str, scale: int, runs: int = 3, variants: list[str] | None = None) -> list[Figure]:
    chosen = variants or list(VARIANTS)
    warm_up(url)
    results = {}
    for name in chosen:
        results[name] = rate(VARIANTS[name], url, runs)
    # The raw limit from the variants measured above; a raw variant not chosen is measured too.
    limit, _, fastest = fastest_raw({name: results.get(name) or rate(VARIANTS[name], url, runs)
                                     for name in RAW_VARIANTS})
    figures = []
    for name, (value, runs_, n) in results.items():
        figures.append(Figure(
            name=f"read+decode: {name}", value=value, unit="events/s", baseline_name=f"{RAW_NAME}: {fastest}",
            baseline=limit, scale=scale, runs=runs_, extra={"events": n, "raw_limit_variant": fastest},
            target="reference ≈400,000 (raw), ≈125,000 (library)" if name in ("copy", "library") else "",
        ))
    return figures


def main() -> None:
    from population import ensure_population

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variant", action="append", choices=list(VARIANTS))
    args = parser.parse_args()
    pop = ensure_population(args.scale)
    console.print(f"reading {pop.log_events:,} events of {pop.url.rsplit('/', 1)[1]}, {args.runs} runs each")
    for fig in measure(pop.url, args.scale, args.runs, args.variant):
        show(fig)


if __name__ == "__main__":
    main()
