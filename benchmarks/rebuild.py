"""Rebuild of the results projection from the PostgreSQL log, against the raw read limit.

    python benchmarks/rebuild.py --scale 10000 [--runs 3] [--profile] [--profile-events 200000] [--stages] [--floor]

Target (issue 6): at least 50% of the raw read limit, the raw limit being the same stored
events read with `COPY … TO STDOUT (FORMAT BINARY)` or a server-side cursor, whichever
is faster in the same run, each payload decoded with `orjson.loads`, nothing else
(`benchmarks/read_log.py`).

Each run calls `projections.rebuild.rebuild(store)` on a new `EventStore` (a cold
projection: no fold kept from an earlier call), on the population of
`benchmarks/population.py`, and counts the events it processed. `--profile` then runs
cProfile over a rebuild of the first `--profile-events` events (the same code path:
`ResultsViews.reset`, then `catch_up(stop_after=…)`) and prints where the time goes, by
stage and by function. `--stages` times one more rebuild with a timer around each stage
(no profiler) and counts the CPU seconds of this process, of its worker processes (scoring, page writer) and of
a local PostgreSQL server (from /proc): where the wall time goes, and the least wall
time that CPU work could take on this machine's cores. `--floor` times the fold alone
(each page read untimed, then its events decoded and folded, rescorings decided but not
computed, nothing written): the Python work per event that no batching removes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import time
from typing import Any

import support  # noqa: F401  (puts the repository on sys.path)
from support import Figure, NullBar, bar, console, median, show

TARGET_RATIO = 0.5
# Where the time of a page goes, by the functions that do each stage (cumulative time).
STAGES = {
    "read the log page (ResultsViews.log_rows)": ("projections/views.py", "log_rows"),
    "load states of earlier pages (ResultsFold.prepare)": ("projections/fold.py", "prepare"),
    "decode and fold the events (ResultsFold.apply_encoded)": ("projections/fold.py", "apply_encoded"),
    "  of which deciding rescorings, facts snapshots (ResultsFold.rescore)": ("projections/fold.py", "rescore"),
    "  of which scoring the page's batch (ResultsFold.flush)": ("projections/fold.py", "flush"),
    "    of which this process's share (score_batch)": ("projections/scoring_pool.py", "score_batch"),
    "build the page's rows (page_rows)": ("projections/views.py", "page_rows"),
    "hand the page to the writer process, wait for the one before (WriterProcess.submit, settle)":
        ("projections/page_writer.py", "submit|settle"),
    "write the page + position in this process (ResultsViews.write_rows; 0 with a writer process)":
        ("projections/views.py", "write_rows"),
}


def _store(url: str):
    from storage.store import EventStore
    from storage.urls import parse_url

    return EventStore(parse_url(url), create=False)


def rebuild_once(url: str, progress=None, after_page=None) -> tuple[float, int]:
    """(seconds, events) of one rebuild; `after_page()` is called after each page, while
    the rebuild's connections are still open."""
    from projections.rebuild import rebuild

    store = _store(url)
    try:
        with (progress or NullBar()) as p:
            task = p.add_task("rebuild", total=None)

            def on_page(done: int, total: int) -> None:
                p.update(task, completed=done, total=total)
                if after_page is not None:
                    after_page()

            started = time.perf_counter()
            report = rebuild(store, progress=on_page)
            seconds = time.perf_counter() - started
            p.remove_task(task)
        return seconds, report.processed
    finally:
        store.close()


def profile(url: str, events: int, top: int = 25) -> dict[str, Any]:
    """cProfile over a rebuild of the first `events` events: stages and top functions."""
    from datetime import datetime, timezone

    from projections.results import catch_up
    from projections.views import ResultsViews

    store = _store(url)
    try:
        ResultsViews(store).reset(store.max_position(), datetime.now(timezone.utc).isoformat())
        prof = cProfile.Profile()
        started = time.perf_counter()
        prof.enable()
        processed = catch_up(store, stop_after=events)
        prof.disable()
        seconds = time.perf_counter() - started
    finally:
        store.close()
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    stages = {}
    for label, (path, name) in STAGES.items():
        cum = sum(v[3] for (file, _, func), v in stats.stats.items()  # type: ignore[attr-defined]
                  if func in name.split("|") and file.endswith(path))
        stages[label] = cum
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    functions = [line for line in out.getvalue().splitlines() if line.strip()][-top - 1:]
    return {"events": processed, "seconds_profiled": seconds, "total_tottime": total, "stages": stages,
            "top_by_tottime": functions}


def show_profile(p: dict[str, Any]) -> None:
    console.print(f"[bold]rebuild profile[/bold]: {p['events']:,} events in {p['seconds_profiled']:.1f} s under "
                  f"cProfile (which slows Python code, not the database, so shares are indicative)")
    for label, cum in p["stages"].items():
        share = cum / p["seconds_profiled"] * 100 if p["seconds_profiled"] else 0
        console.print(f"  {share:5.1f}%  {cum:7.2f} s  {label}")
    console.print("  top functions by own time:")
    for line in p["top_by_tottime"]:
        console.print("    " + line.replace(str(support.REPO) + "/", ""), markup=False, highlight=False,
                      soft_wrap=True)


# Where a rebuild's wall time goes, by stage, with plain timers (no profiler: cProfile
# slows Python code several times and not the database, which skews the shares).
TIMED_STAGES = (
    ("read the log pages", "projections.views", "ResultsViews", "log_rows"),
    ("load states of earlier pages", "projections.fold", "ResultsFold", "prepare"),
    ("decode and fold the events, scoring included", "projections.fold", "ResultsFold", "apply_encoded"),
    ("  of which scoring the pages' batches", "projections.fold", "ResultsFold", "flush"),
    ("    of which this process's share", "projections.scoring_pool", None, "score_batch"),
    ("build the pages' rows", "projections.results", None, "page_rows"),
    ("hand each page to the writer process, wait for the one before", "projections.page_writer", "WriterProcess",
     "submit"),
    ("hand each page to the writer process, wait for the one before", "projections.page_writer", "WriterProcess",
     "settle"),
    ("write the pages + positions in this process (0 with a writer process)", "projections.page_writer",
     "InProcessWriter", "submit"),
)


def _postgres_cpu() -> dict[int, float] | None:
    """CPU seconds used so far by each process of the local PostgreSQL server (Linux
    /proc); None when the server is not on this machine or /proc is not there."""
    found: dict[int, float] = {}
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat[stat.rindex(")") + 2:].split()
            found[int(pid)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found or None


def _cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """The CPU the processes alive at `after` used since `before` (one that started
    meanwhile, all of its own): a process that ended meanwhile, say an autovacuum
    worker, neither counts nor takes its earlier CPU away from the sum."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def stages(url: str) -> dict[str, Any]:
    """One rebuild with a timer around each stage: wall seconds per stage, and the CPU
    seconds of this process, of its worker processes (scoring, page writer) and of the PostgreSQL server."""
    import importlib

    spent: dict[str, float] = {label: 0.0 for label, *_ in TIMED_STAGES}
    undo = []
    for label, module_name, owner_name, name in TIMED_STAGES:
        module = importlib.import_module(module_name)
        owner = getattr(module, owner_name) if owner_name else module
        original = getattr(owner, name)

        def timed_call(*args, _original=original, _label=label, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(owner, name, timed_call)
        undo.append((owner, name, original))
    pg_last: list[dict[int, float] | None] = [None]

    def sample() -> None:
        # After each page, while the rebuild's server processes still run (their CPU
        # leaves /proc with them when the store closes).
        pg_last[0] = _postgres_cpu()

    try:
        pg_before, self_before = _postgres_cpu(), resource.getrusage(resource.RUSAGE_SELF)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds, processed = rebuild_once(url, after_page=sample)
        self_after, children_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        pg_after = pg_last[0]
    finally:
        for owner, name, original in undo:
            setattr(owner, name, original)
    cpu = {
        "this process": (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime),
        "worker processes (scoring, page writer)": (children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
    }
    if pg_before is not None and pg_after is not None:
        cpu["PostgreSQL server"] = _cpu_since(pg_before, pg_after)
    return {"events": processed, "seconds": seconds, "stages": spent, "cpu": cpu}


def show_stages(s: dict[str, Any]) -> None:
    console.print(f"[bold]rebuild stages[/bold]: {s['events']:,} events in {s['seconds']:.2f} s (timers, no profiler)")
    for label, seconds in s["stages"].items():
        console.print(f"  {seconds:6.2f} s  {label}")
    console.print("  CPU: " + ", ".join(f"{who} {sec:.2f} s" for who, sec in s["cpu"].items())
                  + f"; over {os.cpu_count()} cores the least wall time for this work is "
                  f"{sum(s['cpu'].values()) / (os.cpu_count() or 1):.2f} s")


def floor(url: str) -> dict[str, Any]:
    """The least Python work of this design, page by page over the whole log, each page
    read untimed first: decoding each event alone (what the raw limit does after
    reading), then decoding and folding it (the handlers, the facts they keep, each
    rescoring decided with its facts snapshot) with the rescorings not computed,
    nothing written. One process, no I/O timed: what is left of a rebuild once reading,
    scoring and writing cost nothing. As in a rebuild, the collector runs young
    collections only, one per page, and the states are dropped past
    `MAX_CACHED_CERTIFICATIONS` (here not loaded back: the few events that would need
    one are skipped, and no result is ever computed, so no rescoring is a derived one:
    the floor is, if anything, low)."""
    import gc

    import orjson

    from projections.fold import ResultsFold
    from projections.results import MAX_CACHED_CERTIFICATIONS, PAGE_SIZE, load_timeline, young_collections_only
    from projections.views import ResultsViews

    store = _store(url)
    try:
        views = ResultsViews(store)
        fold = ResultsFold(load_timeline(store, 0), loader=None, complete=True)
        fold.flush = fold.pending.clear  # rescorings decided (`rescore`), never computed
        decode = folded = 0.0
        events = after = 0
        loads = orjson.loads
        with young_collections_only():
            while rows := views.log_rows(after, PAGE_SIZE):
                started = time.perf_counter()
                for _, _, raw in rows:
                    loads(raw)
                decode += time.perf_counter() - started
                started = time.perf_counter()
                fold.apply_encoded(rows)
                fold.clear_changes()
                if len(fold.certs) > MAX_CACHED_CERTIFICATIONS:
                    fold.forget()
                events, after = events + len(rows), rows[-1][0]
                del rows
                gc.collect(1)
                folded += time.perf_counter() - started
    finally:
        store.close()
    return {"events": events, "decode": decode, "fold": folded}


def show_floor(f: dict[str, Any], raw_value: float | None = None) -> None:
    n = f["events"]
    console.print(f"[bold]the fold alone[/bold] over {n:,} events (pages read untimed, nothing scored nor written):")
    for label, key in (("decode each event (orjson.loads)", "decode"), ("decode and fold it", "fold")):
        line = f"  {f[key]:6.2f} s  {f[key] / n * 1e6:5.2f} µs/event  {n / f[key]:>11,.0f} events/s  {label}"
        if raw_value:
            line += f"  ({n / f[key] / raw_value:.2f}× the raw read limit)"
        console.print(line)


def measure(url: str, scale: int, runs: int = 3, raw: tuple[float, list[float], str] | None = None,
            show_bars: bool = True, profile_events: int | None = None) -> tuple[list[Figure], dict | None]:
    from read_log import RAW_NAME, raw_limit

    raw_value, raw_runs, raw_variant = raw or raw_limit(url, runs)
    prof = profile(url, profile_events) if profile_events else None  # first: the timed rebuilds end complete
    rates, seconds, processed = [], [], 0
    for _ in range(runs):
        s, processed = rebuild_once(url, bar() if show_bars else None)
        seconds.append(s)
        rates.append(processed / s)
    value = median(rates)
    fig = Figure(
        name="rebuild of the results projection", value=value, unit="events/s",
        baseline_name=f"{RAW_NAME}: {raw_variant}", baseline=raw_value, scale=scale, runs=rates,
        target=f"≥ {TARGET_RATIO:.0%} of the raw limit", met=value >= TARGET_RATIO * raw_value,
        notes=f"{processed:,} events, median {median(seconds):.1f} s per rebuild over {runs} run(s)",
        extra={"events": processed, "seconds": seconds, "raw_limit_runs": raw_runs, "raw_limit_variant": raw_variant},
    )
    return [fig], prof


def main() -> None:
    from population import ensure_population

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile a rebuild with cProfile")
    parser.add_argument("--profile-events", type=int, default=200_000)
    parser.add_argument("--stages", action="store_true",
                        help="also time each stage of one more rebuild, with the CPU of each process")
    parser.add_argument("--floor", action="store_true",
                        help="also time the fold alone: decoding and folding each event, nothing scored nor written")
    args = parser.parse_args()
    pop = ensure_population(args.scale)
    figures, prof = measure(pop.url, args.scale, args.runs,
                            profile_events=args.profile_events if args.profile else None)
    for fig in figures:
        show(fig)
    if prof:
        show_profile(prof)
    if args.stages:
        show_stages(stages(pop.url))
    if args.floor:
        show_floor(floor(pop.url), figures[0].baseline)


if __name__ == "__main__":
    main()
