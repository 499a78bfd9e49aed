"""The performance benchmark suite: every figure beside its same-run baseline, per scale.

    python benchmarks/run.py --scale 10000 [--scale 100000] [--only rebuild,ingest,…]
                             [--json-out bench.json] [--markdown-out bench.md]
    certledger bench …   (the same options)

Parts (`--only`, default all): `read` (raw read limit and the other read paths),
`rebuild` (+ a cProfile of it unless --no-profile), `import` (certledger import beside
COPY), `storage` (bytes per event), `ingest` (concurrent clients through the commands,
group commit and the current path, beside raw inserts), `whatif` (the other engineer's
`benchmarks/whatif_scale.py`, when present). The population of each scale is built once
(`benchmarks/population.py`) and reused. The machine's description is recorded with
the figures; timings are medians and a busy machine shows in them, less in the ratios.

Durations seen on the slower of the 2-core hosts (AMD EPYC, 2026-11-26): scale 10,000
≈ 11 min (population ≈ 1 min the first time, import ≈ 2 min, ingest 4 × 75 s); scale
100,000 ≈ 1 h (population ≈ 12 min once, reads ≈ 12 min, rebuilds 3 × 2 min, import ≈
20 min + its COPY baseline ≈ 5 min, ingest ≈ 8 min); the what-if population, once:
≈ 45 min of simulation (cached under /tmp/certledger-whatif). On a host 2.4 times
faster at the raw read (the README's figures): scale 10,000 ≈ 7 min (population 26 s),
scale 100,000 ≈ 30 min (population 5 min, import 7.5 min), the what-if population ≈ 22
min in one process, 12 min with its chunks in two.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import support  # noqa: F401  (puts the repository on sys.path)
from support import REPO, bar, console, machine, markdown_table, show

PARTS = ("read", "rebuild", "import", "storage", "ingest", "whatif")


def run_suite(scales: list[int], only: list[str], *, runs: int = 3, profile: bool = True,
              profile_events: int = 200_000, ingest_options: dict[str, Any] | None = None,
              verify: bool = True, json_out: str | None = None, markdown_out: str | None = None) -> dict[str, Any]:
    import population

    report: dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(), "machine": machine(), "scales": scales,
        "parts": only, "runs": runs, "figures": [], "populations": {}, "profiles": {}, "ingest": [],
        "whatif": {}, "notes": [
            "medians over runs; the machine was shared with other work during the run: compare ratios rather "
            "than absolute figures, or re-run on a quiet machine",
        ],
    }

    def save() -> None:
        if json_out:
            Path(json_out).write_text(json.dumps(report, indent=2, default=str))

    if verify:
        ok = population.verify_fast_path()
        report["population_fast_path_identical_to_import"] = ok
        console.print(f"population fast path writes what the import path writes: {ok}")
        if not ok:
            raise SystemExit("the population fast path differs from the import path: figures would be wrong")
    for scale in scales:
        started = time.perf_counter()
        console.rule(f"scale {scale:,} certifications")
        pop = population.ensure_population(scale)
        report["populations"][scale] = {k: v for k, v in vars(pop).items() if k != "url"}
        raw = None
        if "read" in only or "rebuild" in only:
            import read_log

            variants = None if "read" in only else list(read_log.RAW_VARIANTS)
            with bar() as p:
                task = p.add_task(f"read paths @ {scale:,}", total=None)
                figures = read_log.measure(pop.url, scale, runs, variants)
                p.remove_task(task)
            fastest = figures[0].extra["raw_limit_variant"]
            limit = next(f for f in figures if f.name == f"read+decode: {fastest}")
            raw = (limit.value, limit.runs, fastest)
            _add(report, figures if "read" in only else [])
        if "rebuild" in only:
            import rebuild

            figures, prof = rebuild.measure(pop.url, scale, runs, raw, profile_events=profile_events if profile else None)
            _add(report, figures)
            if prof:
                rebuild.show_profile(prof)
                report["profiles"][f"rebuild@{scale}"] = prof
        if "storage" in only:
            import storage_size

            _add(report, storage_size.measure(pop.url, scale))
        save()
        if "import" in only:
            import import_copy

            _add(report, import_copy.measure(scale, copy_runs=runs))
            save()
        if "ingest" in only:
            import ingest

            options = dict(ingest_options or {})
            modes = list(options.pop("modes", None) or ingest.MODES)
            settings = ingest.Settings(**options)
            console.print(f"ingest: {settings.clients} clients ({settings.processes} processes × {settings.threads} "
                          f"threads), {settings.warmup:.0f} s warm-up + {settings.duration:.0f} s, modes {modes}")
            with bar() as p:
                figures, summaries = ingest.measure(scale, settings, modes, p, template=population.population_db(scale))
            _add(report, figures)
            report["ingest"].extend({**s, "scale": scale} for s in summaries)
            save()
        if "whatif" in only:
            report["whatif"][scale] = run_whatif(scale, runs)
            save()
        console.print(f"[dim]scale {scale:,} took {time.perf_counter() - started:.0f} s[/dim]")
    report["finished"] = datetime.now(timezone.utc).isoformat()
    table = markdown_table(report["figures"], report["machine"])
    report["markdown"] = table
    save()
    if markdown_out:
        Path(markdown_out).write_text(table + "\n")
    console.rule("README-ready table")
    print(table)
    return report


def _add(report: dict[str, Any], figures: list) -> None:
    for fig in figures:
        show(fig)
        report["figures"].append(fig.as_dict())


def run_whatif(scale: int, runs: int, timeout: float = 1200) -> dict[str, Any]:
    """The what-if figure comes from the other engineer's script, when it is there."""
    script = REPO / "benchmarks" / "whatif_scale.py"
    if not script.exists():
        console.print("[yellow]what-if: benchmarks/whatif_scale.py is not there yet: skipped[/yellow]")
        return {"skipped": "benchmarks/whatif_scale.py missing"}
    sizes = [scale] + ([1_000_000] if scale == 100_000 else [])
    # Its population is simulated once and cached (≈2.5 min per 100,000 certifications
    # and process on the slower host): generated first, without a time limit, so that
    # the limit bounds the run itself. (Inside `run`, the first full benchmark at 100,000
    # spent nearly all of its limit generating, and was killed.)
    from projections.scoring_pool import usable_cores

    chunks = max(1, max(sizes) // 100_000)
    # The chunks are independent: one process per usable core simulates them.
    generate = [sys.executable, str(script), "generate", "--chunks", str(chunks), "--jobs", str(usable_cores())]
    console.print(f"what-if population (once, cached): {' '.join(generate[1:])}")
    made = subprocess.run(generate, cwd=REPO, capture_output=True, text=True)
    if made.returncode != 0:
        console.print(f"[yellow]what-if population failed ({made.returncode}); see the JSON[/yellow]")
        return {"command": generate[1:], "returncode": made.returncode, "stderr": made.stderr[-4000:]}
    command = [sys.executable, str(script), "run", "--sizes", ",".join(map(str, sizes)), "--runs", str(runs)]
    console.print(f"what-if: {' '.join(command[1:])}")
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"command": command, "error": f"timed out after {timeout:.0f} s"}
    console.print(done.stdout.rstrip(), markup=False, highlight=False, soft_wrap=True)
    if done.returncode != 0:
        console.print(f"[yellow]what-if failed ({done.returncode}); see the JSON[/yellow]")
    return {"command": command[1:], "returncode": done.returncode, "stdout": done.stdout,
            "stderr": done.stderr[-4000:]}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, action="append", help="certifications (repeatable); default 10000")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--json-out", default=None, help="write every figure as JSON to this file")
    parser.add_argument("--markdown-out", default=None, help="write the README's table of figures to this file")
    parser.add_argument("--runs", type=int, default=3, help="rebuilds timed per scale, the median kept (default 3)")
    parser.add_argument("--no-profile", action="store_true", help="skip the rebuild's cProfile run")
    parser.add_argument("--profile-events", type=int, default=200_000,
                        help="events the profiled rebuild processes (default 200,000)")
    parser.add_argument("--no-verify", action="store_true", help="skip the population fast-path check")
    parser.add_argument("--ingest-processes", type=int, default=2, help="client processes of the ingest run (default 2)")
    parser.add_argument("--ingest-threads", type=int, default=64, help="client threads per process (default 64)")
    parser.add_argument("--ingest-duration", type=float, default=60.0,
                        help="seconds measured per ingest mode (default 60)")
    parser.add_argument("--ingest-warmup", type=float, default=10.0,
                        help="seconds of warm-up before they are (default 10)")
    parser.add_argument("--ingest-events-per-command", type=int, default=1,
                        help="events each client command appends (default 1)")
    parser.add_argument("--ingest-modes", default="group,direct,raw,raw-group",
                        help="comma-separated: group (group commit), direct (a transaction per command), raw "
                             "and raw-group (plain INSERTs, their baselines)")


def from_arguments(args: argparse.Namespace) -> dict[str, Any]:
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(only) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))} (choose among {', '.join(PARTS)})")
    return run_suite(
        args.scale or [10_000], only, runs=args.runs, profile=not args.no_profile,
        profile_events=args.profile_events, verify=not args.no_verify, json_out=args.json_out,
        markdown_out=args.markdown_out,
        ingest_options={"processes": args.ingest_processes, "threads": args.ingest_threads,
                        "duration": args.ingest_duration, "warmup": args.ingest_warmup,
                        "events_per_command": args.ingest_events_per_command,
                        "modes": [m for m in args.ingest_modes.split(",") if m]},
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    add_arguments(parser)
    from_arguments(parser.parse_args(argv))


if __name__ == "__main__":
    main()
