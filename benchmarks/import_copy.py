"""Batch import (`certledger import`, validation included) beside a raw COPY of the same rows.

    python benchmarks/import_copy.py --scale 10000 [--copy-runs 3]

1. The population at `--scale` is written as JSON Lines (`certledger simulate --output`'s
   code, `commands.simulate.write_simulation`; not timed) under $CERTLEDGER_BENCH_DIR
   (default /tmp/certledger-bench).
2. `certledger import FILE --db …` runs as a separate process into a new ledger
   (`certledger_bench_import`): parse, validate every line, write in one transaction.
   Its wall time, process start included, gives events/s.
3. Baseline, same run: the rows that import wrote (the events, the event-id index, the
   session membership) are read back in COPY's binary form, then timed while COPY loads
   them into empty scratch tables of the same shape (`LIKE … INCLUDING ALL`: the same
   indexes), in one transaction, median over `--copy-runs`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import support  # noqa: F401  (puts the repository on sys.path)
from support import DB_PREFIX, REPO, SIM_SEED, SIM_START, sim_days, Figure, NullBar, bar, connect, console, drop_db, \
    fresh_db, median, show

DB_NAME = f"{DB_PREFIX}import"
TABLES = ("certledger_events", "certledger_event_ids", "certledger_session_certifications")


def bench_dir() -> Path:
    path = Path(os.environ.get("CERTLEDGER_BENCH_DIR", "/tmp/certledger-bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def simulated_file(scale: int) -> tuple[Path, int]:
    from commands.simulate import write_simulation

    # The population's calendar (`sim_days`): beyond 10,000 candidates, the simulator's
    # own pace runs past today, and the import would be refused (fact-dated-ahead).
    days = sim_days(scale)
    path = bench_dir() / (f"simulated-{scale}-seed{SIM_SEED}" + (f"-days{days}" if days else "") + ".jsonl")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write_simulation(str(tmp), candidates=scale, seed=SIM_SEED, start=SIM_START, days=days)
        tmp.rename(path)
    with path.open("rb") as fh:
        lines = sum(1 for _ in fh)
    return path, lines


def run_import(path: Path, url: str, lines: int, progress=None) -> float:
    """Seconds for `certledger import` of `path` into `url`, as a separate process."""
    command = [sys.executable, "-c", "from cli.main import main; main()", "import", str(path), "--db", url]
    with (progress or NullBar()) as p:
        task = p.add_task(f"certledger import ({lines:,} lines)", total=None)
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while proc.poll() is None:
            time.sleep(0.5)
            p.update(task, completed=round(time.perf_counter() - started))
        seconds = time.perf_counter() - started
        p.remove_task(task)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"certledger import failed ({proc.returncode}): {err.decode()[-2000:]}")
    console.print(f"  {out.decode().strip()}")
    return seconds


def copy_baseline(url: str, runs: int) -> tuple[list[float], int]:
    """Seconds per COPY of the imported rows into empty scratch tables; the event count."""
    with connect(url, autocommit=True) as conn:
        data = {}
        for table in TABLES:
            with conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy:
                data[table] = b"".join(bytes(block) for block in copy)
        events = conn.execute("SELECT count(*) FROM certledger_events").fetchone()[0]
        seconds = []
        for _ in range(runs):
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS scratch_{table}")
                conn.execute(f"CREATE TABLE scratch_{table} (LIKE {table} INCLUDING ALL)")
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                for table in TABLES:
                    with cur.copy(f"COPY scratch_{table} FROM STDIN (FORMAT BINARY)") as copy:
                        copy.write(data[table])
            seconds.append(time.perf_counter() - started)
        for table in TABLES:
            conn.execute(f"DROP TABLE IF EXISTS scratch_{table}")
    return seconds, events


def measure(scale: int, copy_runs: int = 3, show_bars: bool = True) -> list[Figure]:
    path, lines = simulated_file(scale)
    url = fresh_db(DB_NAME)
    try:
        seconds = run_import(path, url, lines, bar() if show_bars else None)
        copy_seconds, stored = copy_baseline(url, copy_runs)
    finally:
        drop_db(DB_NAME)
    rate = lines / seconds
    copy_rate = median([stored / s for s in copy_seconds])
    return [Figure(
        name="batch import (certledger import)", value=rate, unit="events/s",
        baseline_name="raw COPY of the same rows (events, event ids, sessions)", baseline=copy_rate, scale=scale,
        runs=[rate], notes=f"{lines:,} lines in {seconds:.1f} s (one process, start-up included); "
                           f"COPY of {stored:,} rows: median {median(copy_seconds):.2f} s over {copy_runs} run(s)",
        extra={"lines": lines, "import_seconds": seconds, "copy_seconds": copy_seconds, "file": str(path)},
    )]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--copy-runs", type=int, default=3)
    args = parser.parse_args()
    for fig in measure(args.scale, args.copy_runs):
        show(fig)


if __name__ == "__main__":
    main()
