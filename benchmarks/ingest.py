"""Ingest through the commands: concurrent clients, each recording its own certifications.

    python benchmarks/ingest.py [--mode group,direct,raw] [--processes 2] [--threads 16]
                                [--duration 60] [--warmup 10] [--events-per-command 1]

Target (issue 6): at least 5,000 events/s sustained for 60 s with p99 command latency
under 50 ms, on PostgreSQL, validation included.

Clients: `--processes` processes (loopback to PostgreSQL) of `--threads` client threads
each, like API workers serving concurrent requests. Each client has its own simulated
population (`simulate_events` with its own seed: its own sessions, certifications and
candidates) and sends it in order, `--events-per-command` events per command, waiting
for each outcome before the next command. Latency is measured per command around the
call; the figures count the commands started inside the measured window (after the
warm-up). Each mode writes into `certledger_bench_ingest`, a fresh copy of the population
at `--scale` (a ledger that already holds that many certifications; `--scale 0`: an
empty ledger), dropped afterwards.

Modes:
* `group`: `LedgerService.record` through `commands.group_commit` (one committer per
  process: concurrently submitted commands judged one by one, written in one
  transaction);
* `direct`: `LedgerService.record` as it is (one LedgerService per client thread, one
  transaction per command);
* `raw` (the baseline): the same rows, pre-encoded, one INSERT and commit per command
  under the same table lock, no reads, no validation — what PostgreSQL gives at one
  commit per command;
* `raw-group`: the same rows gathered by one thread per process like the group committer
  gathers commands, one INSERT and commit per group, no reads, no validation — the
  ceiling of group commit on this machine.
"""

from __future__ import annotations

import argparse
import math
import gc
import multiprocessing as mp
import os
import threading
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import support  # noqa: F401  (puts the repository on sys.path)
from support import DB_PREFIX, SIM_START, Figure, console, copy_db, drop_db, fresh_db, show

DB_NAME = f"{DB_PREFIX}ingest"
TARGET_EVENTS_PER_S = 5000
TARGET_P99_MS = 50.0
EVENTS_PER_CANDIDATE = 65
MODES = ("group", "direct", "raw", "raw-group")
MAX_POOL = 8  # the server is shared: at most (MAX_POOL + 8) connections per client process


@dataclass
class Settings:
    mode: str = "group"
    processes: int = 2
    threads: int = 16
    duration: float = 60.0
    warmup: float = 10.0
    events_per_command: int = 1
    max_rate: float = 9000.0  # events/s the clients are provisioned for (their populations' size)
    switch_interval: float | None = None  # sys.setswitchinterval in the client processes (None: Python's)

    def pool_size(self) -> int:
        """Connections per process (the store adds up to 8 on overflow): the committer needs
        one; direct and raw clients share a few, waiting for one is part of their latency."""
        return 2 if self.mode in ("group", "raw-group") else min(self.threads, MAX_POOL)

    @property
    def clients(self) -> int:
        return self.processes * self.threads

    def candidates_per_client(self) -> int:
        # The `raw-group` ceiling skips every read and check, so it runs well ahead of the
        # commands: provisioned for twice the rate, lest its clients run out of work and
        # the ceiling read low.
        rate = self.max_rate * (2 if self.mode == "raw-group" else 1)
        events = rate * (self.duration + self.warmup + 5) * 1.15 / self.clients
        return max(2, math.ceil(events / EVENTS_PER_CANDIDATE))


@dataclass
class ProcessResult:
    index: int
    starts: bytes  # array('d') of command start times (wall clock)
    latencies: bytes  # array('d') of latencies in seconds
    sizes: bytes  # array('l') of events per command
    errors: dict[str, int] = field(default_factory=dict)
    exhausted: int = 0  # clients that ran out of commands before the end
    committer: dict[str, int] = field(default_factory=dict)
    prepared_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the process (all its threads) while the clients ran
    wall_s: float = 0.0
    full_gcs: list[float] = field(default_factory=list)  # each full (generation 2) collection's seconds
    frozen: int = 0  # objects of the prepared work kept out of the collections (gc.freeze)


class _FullCollections:
    """Times each full garbage collection while the clients run: one stops every thread
    of the process (the committer's too) for as long as it walks the live objects."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds.append(time.perf_counter() - self._began)


# --------------------------------------------------------------------------- clients
def _commands(seed: int, settings: Settings) -> list[list]:
    from commands.simulation import simulate_events

    events = list(simulate_events(settings.candidates_per_client(), seed, SIM_START))
    k = settings.events_per_command
    return [events[i:i + k] for i in range(0, len(events), k)]


def _raw_rows(commands: list[list], by: str) -> list[list[tuple]]:
    """The rows `record` would write, encoded once before the clock starts."""
    from commands.bootstrap import utc_now
    from ledger.recorded import Recorded
    from ledger.streams import stream_of
    from storage.codec import to_stored

    versions: Counter = Counter()
    now, out = utc_now(), []
    for command in commands:
        rows = []
        for event in command:
            stream = stream_of(event)
            versions[stream] += 1
            s = to_stored(Recorded(stream, versions[stream], event, now, by))
            rows.append((s.originator_id, s.originator_version, s.topic, s.state))
        out.append(rows)
    return out


def _process_main(index: int, url: str, settings: Settings, ready, start_at, results) -> None:
    from commands.bootstrap import open_ledger, utc_now
    from commands.recording import LedgerService

    if settings.switch_interval:
        import sys

        sys.setswitchinterval(settings.switch_interval)
    began = time.perf_counter()
    seeds = [100_000 + index * 1000 + t for t in range(settings.threads)]
    work = {seed: _commands(seed, settings) for seed in seeds}
    ledger = open_ledger(url, pool_size=settings.pool_size())
    committer = None
    if settings.mode == "group":
        from commands.group_commit import enable_group_commit

        committer = enable_group_commit(ledger.service)
    raw = ({seed: _raw_rows(work[seed], f"client-{seed}") for seed in seeds}
           if settings.mode.startswith("raw") else {})
    raw_committer = _RawGroupCommitter(ledger.store) if settings.mode == "raw-group" else None
    prepared = time.perf_counter() - began
    # The clients' whole work, generated above (hundreds of thousands of events and their
    # parts), is the benchmark's input, not the ledger's live state: a process serving
    # real clients would not hold it. Left to the collector, each full collection walks it
    # all and stops every thread for a second or more (1.7 s seen), a stall of the
    # benchmark's own making in the measured latencies. Frozen, the collections walk only
    # what the clients and the committer create while they run.
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    ready.put(index)
    while start_at.value == 0:
        time.sleep(0.01)
    start, stop = start_at.value, start_at.value + settings.warmup + settings.duration
    while time.time() < start:
        time.sleep(0.001)

    starts, latencies, sizes = array("d"), array("d"), array("l")
    errors: Counter = Counter()
    exhausted = [0]
    lock = threading.Lock()

    def client(seed: int) -> None:
        local_s, local_l, local_n = array("d"), array("d"), array("l")
        local_err: Counter = Counter()
        if settings.mode == "raw":
            send = _raw_sender(ledger.store, raw[seed])
        elif raw_committer is not None:
            def send(i: int) -> None:
                raw_committer.submit(raw[seed][i]).result()
        else:
            service = ledger.service if committer is not None else LedgerService(ledger.store, utc_now)
            by = f"client-{seed}"

            def send(i: int) -> None:
                service.record(work[seed][i], by=by)
        total = len(work[seed])
        i = 0
        while True:
            wall = time.time()
            if wall >= stop:
                break
            if i >= total:
                with lock:
                    exhausted[0] += 1
                break
            t0 = time.perf_counter()
            try:
                send(i)
            except Exception as e:  # counted, shown: a refusal here is a bug of the benchmark or the ledger
                local_err[type(e).__name__] += 1
            local_s.append(wall)
            local_l.append(time.perf_counter() - t0)
            local_n.append(len(work[seed][i]))
            i += 1
        with lock:
            starts.extend(local_s)
            latencies.extend(local_l)
            sizes.extend(local_n)
            errors.update(local_err)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in seeds]
    full_gcs = _FullCollections()
    gc.callbacks.append(full_gcs)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    gc.callbacks.remove(full_gcs)
    stats = {}
    if raw_committer is not None:
        raw_committer.close()
        stats = dict(vars(raw_committer.stats))
    if committer is not None:
        committer.close()
        stats = dict(vars(committer.stats))
    ledger.close()
    results.put(ProcessResult(index, starts.tobytes(), latencies.tobytes(), sizes.tobytes(), dict(errors),
                              exhausted[0], stats, prepared, cpu_s, wall_s, full_gcs.seconds, frozen))


def _raw_sender(store, commands: list[list[tuple]]):
    insert = ("INSERT INTO certledger_events (originator_id, originator_version, topic, state) "
              "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bytea[])")

    def send(i) -> None:
        rows = commands[i] if isinstance(i, int) else i
        with store.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute("LOCK TABLE certledger_events IN EXCLUSIVE MODE")
            curs.execute(insert, [list(c) for c in zip(*rows)])

    return send


class _RawGroupCommitter:
    """The `raw-group` baseline: the clients' pre-encoded rows, gathered like the group
    committer gathers commands, in one INSERT and commit per group — no reads, no checks."""

    def __init__(self, store):
        from concurrent.futures import Future

        from commands.group_commit import GroupStats

        self.store, self.Future, self.stats = store, Future, GroupStats()
        self.pending: list = []
        self.wake = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def submit(self, rows: list[tuple]):
        future = self.Future()
        with self.wake:
            self.pending.append((rows, future))
            self.wake.notify()
        return future

    def close(self) -> None:
        with self.wake:
            self.closed = True
            self.wake.notify()
        self.thread.join()

    def _run(self) -> None:
        insert = _raw_sender(self.store, [])
        while True:
            with self.wake:
                while not self.pending and not self.closed:
                    self.wake.wait()
                if not self.pending:
                    return
                group, self.pending = self.pending, []
            rows = [row for r, _ in group for row in r]
            began = time.perf_counter()
            try:
                insert(rows)
                outcome = None
            except Exception as e:  # shown as errors by the clients
                outcome = e
            self.stats.write_s += time.perf_counter() - began
            self.stats.groups += 1
            self.stats.events += len(rows)
            self.stats.commands += len(group)
            for _, future in group:
                future.set_exception(outcome) if outcome else future.set_result(None)


# ---------------------------------------------------------------------------- driver
def run_mode(settings: Settings, progress=None, template: str | None = None) -> dict[str, Any]:
    """Run one mode in a new database (a copy of `template`, the population at a scale,
    when given: ingest then writes into a ledger that already holds it); return its
    figures (events/s, latencies …)."""
    _check_connections(settings)
    url = copy_db(DB_NAME, template) if template else fresh_db(DB_NAME)
    ctx = mp.get_context("spawn")
    ready, results, start_at = ctx.Queue(), ctx.Queue(), ctx.Value("d", 0.0)
    procs = [ctx.Process(target=_process_main, args=(i, url, settings, ready, start_at, results))
             for i in range(settings.processes)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=900)
        t0 = time.time() + 0.5
        start_at.value = t0
        total = settings.warmup + settings.duration
        task = progress.add_task(f"ingest ({settings.mode})", total=round(total)) if progress else None
        while time.time() < t0 + total:
            time.sleep(0.5)
            if progress:
                progress.update(task, completed=min(round(time.time() - t0), round(total)))
        outs = [results.get(timeout=300) for _ in procs]
        if progress:
            progress.remove_task(task)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    with support.connect(url, autocommit=True) as conn:
        stored = conn.execute("SELECT count(*) FROM certledger_events WHERE originator_id <> 'rules'").fetchone()[0]
    drop_db(DB_NAME)
    return _summarise(settings, t0, outs, stored)


def _check_connections(settings: Settings, spare: int = 30) -> None:
    """Refuse to take the shared server's last connections (other people test on it)."""
    with support.connect(support.server_url(), autocommit=True) as conn:
        limit = int(conn.execute("SHOW max_connections").fetchone()[0])
        used = conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()[0]
    wanted = settings.processes * (settings.pool_size() + 8)
    if used + wanted + spare > limit:
        raise SystemExit(f"ingest would need up to {wanted} connections; {used} of {limit} are in use: "
                         "fewer --processes, or a server with more max_connections")


def _summarise(settings: Settings, t0: float, outs: list[ProcessResult], stored: int) -> dict[str, Any]:
    lo, hi = t0 + settings.warmup, t0 + settings.warmup + settings.duration
    lat, events, commands = [], 0, 0
    errors: Counter = Counter()
    committer: Counter = Counter()
    for out in outs:
        starts, latencies, sizes = array("d"), array("d"), array("l")
        starts.frombytes(out.starts)
        latencies.frombytes(out.latencies)
        sizes.frombytes(out.sizes)
        for s, l, n in zip(starts, latencies, sizes):
            if lo <= s < hi:
                lat.append(l)
                events += n
                commands += 1
        errors.update(out.errors)
        committer.update(out.committer)
    lat.sort()

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    summary = {
        "mode": settings.mode, "processes": settings.processes, "threads": settings.threads,
        "clients": settings.clients, "events_per_command": settings.events_per_command,
        "duration_s": settings.duration, "warmup_s": settings.warmup,
        "events_per_s": events / settings.duration, "commands_per_s": commands / settings.duration,
        "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": lat[-1] * 1000 if lat else None,
        "errors": dict(errors), "exhausted_clients": sum(o.exhausted for o in outs),
        "events_stored": stored, "prepare_s": max(o.prepared_s for o in outs),
        "client_process_cpu": [round(o.cpu_s / o.wall_s, 2) if o.wall_s else None for o in outs],
        # Warm-up included: the collections are per process, not per measured command.
        "full_gcs": sum(len(o.full_gcs) for o in outs),
        "full_gc_s": sum(sum(o.full_gcs) for o in outs),
        "full_gc_max_ms": max((max(o.full_gcs) for o in outs if o.full_gcs), default=0.0) * 1000,
        "frozen_objects": sum(o.frozen for o in outs),
    }
    if committer:
        summary["committer"] = dict(committer)
        if committer["groups"]:
            summary["mean_group_events"] = committer["events"] / committer["groups"]
    return summary


def describe(s: dict[str, Any]) -> str:
    text = (f"{s['mode']}: {s['events_per_s']:,.0f} events/s ({s['commands_per_s']:,.0f} commands/s), "
            f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms'] or float('nan'):.0f} ms; "
            f"{s['clients']} clients = {s['processes']} processes × {s['threads']} threads, "
            f"{s['events_per_command']} event(s)/command")
    if s.get("mean_group_events"):
        c = s["committer"]
        per_event = {k: c[k] / max(c["events"], 1) * 1e6 for k in ("read_s", "judge_s", "write_s")}
        text += (f"; {s['mean_group_events']:.1f} events per transaction, {c.get('retries', 0)} retries; committer "
                 f"µs/event: read {per_event['read_s']:.0f}, judge {per_event['judge_s']:.0f}, "
                 f"write+commit {per_event['write_s']:.0f}")
        if "unread" in c:  # (group commit: groups judged on the committer's own states, unread)
            text += (f"; {c['unread']:,} of {c['groups']:,} groups judged unread, "
                     f"{c.get('unread_missed', 0):,} judged again on reads")
    text += f"; client processes busy {s['client_process_cpu']} of a core"
    if s.get("frozen_objects"):
        text += f"; {s['frozen_objects']:,} objects of the prepared work frozen out of the collections"
    if s.get("full_gcs"):
        text += (f"; {s['full_gcs']} full garbage collections (all processes, warm-up included), "
                 f"{s['full_gc_s']:.2f} s, the longest {s['full_gc_max_ms']:.0f} ms")
    if s["errors"]:
        text += f"; ERRORS {s['errors']}"
    if s["exhausted_clients"]:
        text += f"; {s['exhausted_clients']} client(s) ran out of work (raise --max-rate)"
    return text


def measure(scale: int, settings: Settings, modes: list[str], progress=None,
            template: str | None = None) -> tuple[list[Figure], list[dict]]:
    summaries = {}
    for mode in modes:
        summaries[mode] = run_mode(Settings(**{**vars(settings), "mode": mode}), progress, template)
        console.print("  " + describe(summaries[mode]))
    base = summaries.get("raw")
    grouped = summaries.get("raw-group")
    figures = []
    for mode, s in summaries.items():
        if mode.startswith("raw"):
            continue
        if grouped:
            s["raw_group_events_per_s"] = grouped["events_per_s"]
        met = s["events_per_s"] >= TARGET_EVENTS_PER_S and s["p99_ms"] < TARGET_P99_MS and not s["errors"]
        figures.append(Figure(
            name=f"ingest through the commands ({mode})", value=s["events_per_s"], unit="events/s",
            baseline_name="raw INSERT, one commit per command, same clients",
            baseline=base["events_per_s"] if base else None, scale=scale,
            target=f"≥{TARGET_EVENTS_PER_S:,} events/s for {s['duration_s']:.0f} s, p99 < {TARGET_P99_MS:.0f} ms",
            met=met, notes=describe(s) + (f"; raw-group (same grouping, no reads, no checks): "
                                          f"{grouped['events_per_s']:,.0f} events/s" if grouped else ""), extra=s,
        ))
    return figures, list(summaries.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="group,direct,raw,raw-group", help="comma-separated: " + ", ".join(MODES))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--events-per-command", type=int, default=1)
    parser.add_argument("--max-rate", type=float, default=9000.0, help="events/s the clients' work is sized for")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval in the client processes (default: Python's 0.005)")
    parser.add_argument("--scale", type=int, default=10_000,
                        help="ingest into a copy of the population at this scale (0: an empty ledger)")
    args = parser.parse_args()
    modes = [m for m in args.mode.split(",") if m]
    settings = Settings(processes=args.processes, threads=args.threads, duration=args.duration,
                        warmup=args.warmup, events_per_command=args.events_per_command, max_rate=args.max_rate,
                        switch_interval=args.switch_interval)
    console.print(f"ingest: {settings.clients} clients, {settings.candidates_per_client()} candidates each "
                  f"(twice for raw-group), {settings.warmup:.0f} s warm-up + {settings.duration:.0f} s measured, "
                  f"modes {modes} (pid {os.getpid()})")
    template = None
    if args.scale:
        from population import ensure_population, population_db

        ensure_population(args.scale)
        template = population_db(args.scale)
    with support.bar() as progress:
        figures, _ = measure(args.scale, settings, modes, progress, template)
    for fig in figures:
        show(fig)


if __name__ == "__main__":
    main()
