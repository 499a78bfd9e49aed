"""How long a server's other threads wait while the results projection catches up.

    python benchmarks/catch_up_pauses.py --scale 10000 [--runs 2]

A background catch-up (after an upgrade that derives the results again) shares its
process with the server's requests: whatever it does while holding the GIL, they wait
for. This script derives the results of the population of `benchmarks/population.py`
(a copy of it, the view emptied) in one thread while another sleeps 1 ms at a time and
records by how much each sleep overran: the longest overrun is the longest pause a
request could have met. It prints that figure during the catch-up and while the fold is
dropped after it (`ResultsProjection.drop_fold`, as the API's background catch-up does),
beside the same probe with nothing else running (the baseline).

A figure, not a test: it depends on the machine.
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime, timezone

import support  # noqa: F401  (puts the repository on sys.path)
from population import ensure_population, population_db
from support import DB_PREFIX, console, copy_db, drop_db


class Probe:
    """Sleeps 1 ms at a time in a thread; keeps (when, overrun) of each sleep."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(0.001)
            end = time.perf_counter()
            self.samples.append((end, end - start - 0.001))

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def worst(self, start: float, end: float) -> float:
        """The longest overrun of a sleep that ended within [start, end], in ms."""
        return 1000 * max((over for at, over in self.samples if start <= at <= end), default=0.0)


def one_run(template: str) -> tuple[float, float, float, float]:
    """(catch-up seconds, worst pause during it, drop seconds, worst pause during the drop + 0.1 s)."""
    from projections.results import catch_up, projection_of
    from projections.views import ResultsViews
    from storage.store import EventStore
    from storage.urls import parse_url

    name = f"{DB_PREFIX}pauses"
    url = copy_db(name, template)
    store = EventStore(parse_url(url))
    try:
        ResultsViews(store).reset(store.max_position(), datetime.now(timezone.utc).isoformat())
        with Probe() as probe:
            t0 = time.perf_counter()
            catch_up(store)
            t1 = time.perf_counter()
            projection_of(store).drop_fold()
            t2 = time.perf_counter()
            time.sleep(0.1)  # a pause that began in the drop ends after it
        return t1 - t0, probe.worst(t0, t1), t2 - t1, probe.worst(t1, t2 + 0.1)
    finally:
        store.close()
        drop_db(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    ensure_population(args.scale)
    with Probe() as idle:
        t0 = time.perf_counter()
        time.sleep(2)
        baseline = idle.worst(t0, time.perf_counter())
    console.print(f"baseline: the probe alone, 2 s: longest overrun {baseline:.1f} ms")
    for run in range(1, args.runs + 1):
        seconds, during, drop, after = one_run(population_db(args.scale))
        console.print(f"run {run} @ {args.scale:,}: catch-up {seconds:.1f} s, longest pause during it "
                      f"{during:.1f} ms; fold dropped in {drop * 1000:.0f} ms, longest pause then {after:.1f} ms")


if __name__ == "__main__":
    main()
