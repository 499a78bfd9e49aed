"""Load test of the HTTP API on PostgreSQL: throughput and p50/p99 latency of
`GET /certifications/{id}/result` and of `POST /events` batches, driven by concurrent
clients on loopback against `certledger serve` (uvicorn), over a simulated population.

    python benchmarks/api_load.py                           # 100,000 certifications
    python benchmarks/api_load.py --certifications 5000     # a quick run

1. Population: `benchmarks/population.py` builds (or reuses) `certledger_bench_<N>`,
   `--certifications` simulated certifications validated by the ledger's own checks;
   the API runs on a copy of it, `certledger_bench_api_<N>` (the API appends to it),
   whose results projection is caught up once (so requests measure serving, not
   catching up) and whose tables are analysed. The copy is reused by later runs.
2. `certledger serve` starts on 127.0.0.1 with `--workers` processes, access log off.
3. Each scenario runs `--clients` threads, each with its own keep-alive connection,
   until `--duration` seconds or `--max-requests` requests in all, whichever comes
   first, after a short warm-up. GET reads random certifications of the population as
   an auditor; POST sends, as a centre, batches of one new session (opening,
   `--batch-certifications` complete certifications of 32 facts each, finalisation).
   Latency is measured by the client, per request, connection included.

Figures depend on the machine: the clients and the server share its cores.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx2 as httpx  # (the test extra: pip install -e ".[test]")
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from population import ensure_population, population_db  # noqa: E402  (puts the repository on sys.path)
from support import DB_PREFIX, db_exists, db_url, drop_db, server_url  # noqa: E402

from api.tokens import TokenStore  # noqa: E402
from commands.bootstrap import open_ledger  # noqa: E402
from projections.results import ResultsReader, catch_up  # noqa: E402
from storage import migrate as migrations  # noqa: E402
from storage.urls import parse_url  # noqa: E402

COMPETENCES = ("1.1", "1.2", "2.1", "3.1", "4.1")


def say(message: str) -> None:
    print(message, flush=True)


# ----------------------------------------------------------------------------- population
API_META = "certledger_bench_api_ready"


def _count(url: str, sql: str, params: list) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _ready(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass(%s)", [API_META]).fetchone()[0] is not None


def prepare(scale: int, force: bool) -> tuple[str, dict]:
    """The API's copy of the population at `scale`, projected; built now unless ready."""
    name = f"{DB_PREFIX}api_{scale}"
    url = db_url(name)
    timings: dict = {}
    if not force and db_exists(name) and _ready(url):
        say(f"reusing {name} (population of {scale:,} certifications, projected)")
        return url, timings
    population = ensure_population(scale)
    timings["population_build_seconds"] = round(population.build_seconds)
    timings["population_reused"] = population.reused
    say(f"population {population_db(scale)}: {population.events:,} events "
        f"({'reused' if population.reused else 'built'}; build took {population.build_seconds:.0f} s)")
    drop_db(name)
    began = time.perf_counter()
    with psycopg.connect(server_url(), autocommit=True) as conn:  # a copy: the API appends to it
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{population_db(scale)}"')
    migrations.migrate(parse_url(url))
    timings["copy_seconds"] = round(time.perf_counter() - began)
    began = time.perf_counter()
    with open_ledger(url) as ledger:
        pending = ResultsReader(ledger.store).lag()
        say(f"catching the results projection up: {pending:,} events")
        last = [time.perf_counter()]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                say(f"    {done:>10,} / {total:,} events projected")

        catch_up(ledger.store, progress=progress)
    timings["projection_seconds"] = round(time.perf_counter() - began)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")  # planner statistics and hint bits, as autovacuum would leave them
        conn.execute(f"CREATE TABLE {API_META} (ready_at timestamptz DEFAULT now())")
        conn.execute(f"INSERT INTO {API_META} DEFAULT VALUES")
    say(f"{name} ready: copied in {timings['copy_seconds']} s, projected in {timings['projection_seconds']} s")
    return url, timings


# ----------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve", "--db", url,
               "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not answer /health within 60 s")


# ----------------------------------------------------------------------------- load
@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    events: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int, events: int = 0) -> None:
        with self.lock:
            if status == 200:
                self.latencies.append(seconds)
                self.events += events
            else:
                self.errors[status] = self.errors.get(status, 0) + 1


def run_clients(base: str, clients: int, duration: float, max_requests: int, make_request) -> tuple[Tally, float]:
    """`make_request(client, rng) -> (response, events)`, from `clients` threads."""
    tally, budget = Tally(), [max_requests]
    budget_lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker(index: int) -> None:
        rng = random.Random(index)
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.perf_counter() < stop_at:
                with budget_lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                began = time.perf_counter()
                response, events = make_request(client, rng)
                tally.add(time.perf_counter() - began, response.status_code, events)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, time.perf_counter() - began


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summary(name: str, tally: Tally, elapsed: float) -> dict:
    lat = sorted(tally.latencies)
    done = len(lat)
    row = {
        "scenario": name, "requests": done, "errors": tally.errors, "seconds": round(elapsed, 2),
        "throughput_rps": round(done / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(lat, 50) * 1000, 2), "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
    }
    if tally.events:
        row["events_per_s"] = round(tally.events / elapsed, 1)
        row["events_per_request"] = round(tally.events / done, 1)
    return row


def session_batch(centre: str, certifications: int, rng: random.Random) -> list[dict]:
    """One new session: opened, `certifications` complete tests (32 facts each), finalised."""
    session = f"bench-{uuid.uuid4().hex[:16]}"
    at = datetime(2025, 3, 3, 8, 0, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(500_000))
    lines, n = [], 0

    def line(kind: str, **fields) -> dict:
        nonlocal at, n
        at += timedelta(seconds=30)
        n += 1
        return {"type": kind, "event_id": f"{session}-{n}", **fields, "at": at.isoformat()}

    lines.append(line("SessionOpened", session_id=session, centre_id=centre))
    for c in range(certifications):
        cert = f"{session}-c{c}"
        profile = {code: {"pix": rng.randrange(8, 48)} for code in COMPETENCES}
        lines.append(line("CertificationStarted", certification_id=cert, session_id=session,
                          candidate_id=f"{cert}-cand", profile=profile))
        for code in COMPETENCES:
            for q in range(3):
                question = f"{cert}-{code}-{q}"
                lines.append(line("QuestionServed", certification_id=cert, question_id=question, competence=code,
                                  format="QCM"))
                lines.append(line("AnswerRecorded", certification_id=cert, question_id=question,
                                  status="ok" if rng.random() < 0.7 else "ko"))
        lines.append(line("CertificationCompleted", certification_id=cert))
    lines.append(line("SessionFinalised", session_id=session))
    return lines


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certifications", type=int, default=100_000, help="simulated population (default 100,000)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the API's copy of the population")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario (at most)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="requests per scenario (at most)")
    parser.add_argument("--batch-certifications", type=int, default=5, help="certifications per POST batch")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    url, timings = prepare(args.certifications, args.rebuild)
    population = _count(url, "SELECT count(*) FROM certledger_results WHERE certification_id LIKE %s", ["sim-%"])
    events = _count(url, "SELECT count(*) FROM certledger_events", [])
    say(f"population: {population:,} simulated certifications; {events:,} events in the log")
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT certification_id FROM certledger_results WHERE certification_id LIKE %s "
            "ORDER BY random() LIMIT 10000", ["sim-%"]).fetchall()]
    with open_ledger(url) as ledger:
        tokens = TokenStore(ledger.store)
        _, auditor = tokens.add("auditor", label="benchmark")
        centre_id = f"bench-centre-{uuid.uuid4().hex[:8]}"
        _, centre = tokens.add("centre", centre_id, label="benchmark")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, args.workers)
    rows = []
    try:
        read_headers = {"Authorization": f"Bearer {auditor}"}
        write_headers = {"Authorization": f"Bearer {centre}", "Content-Type": "application/x-ndjson"}

        def get_result(client: httpx.Client, rng: random.Random):
            return client.get(f"/certifications/{rng.choice(ids)}/result", headers=read_headers), 0

        def post_batch(client: httpx.Client, rng: random.Random):
            lines = session_batch(centre_id, args.batch_certifications, rng)
            body = b"\n".join(orjson.dumps(line) for line in lines)
            return client.post("/events", content=body, headers=write_headers), len(lines)

        say(f"server on {base} ({args.workers} worker(s)); {args.clients} clients, "
            f"at most {args.duration:.0f} s or {args.max_requests:,} requests per scenario")
        run_clients(base, args.clients, 3, 500, get_result)  # warm-up
        for name, request in (("GET /certifications/{id}/result", get_result),
                              (f"POST /events ({args.batch_certifications} certifications per batch)", post_batch)):
            tally, elapsed = run_clients(base, args.clients, args.duration, args.max_requests, request)
            rows.append(summary(name, tally, elapsed))
            r = rows[-1]
            extra = f", {r['events_per_s']:,.0f} events/s" if "events_per_s" in r else ""
            say(f"{name}: {r['requests']:,} requests in {r['seconds']} s = {r['throughput_rps']:,} req/s{extra}; "
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; errors {r['errors'] or 'none'}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        Path(args.json).write_bytes(orjson.dumps({
            "population": population, "events": events, "clients": args.clients, "workers": args.workers,
            "cpus": os.cpu_count(), **timings, "scenarios": rows,
        }, option=orjson.OPT_INDENT_2))
    return 0 if all(not r["errors"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
