"""`certledger bench`: the benchmark suite of issue 6 (benchmarks/run.py), from a checkout.

The suite lives in the repository's `benchmarks/` folder, not in the installed package:
this command finds it beside the package sources and runs it with the same options.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        scale: Annotated[Optional[list[int]], typer.Option("--scale", help="Simulated certifications (repeatable); default 10000")] = None,
        only: Annotated[str, typer.Option("--only", help="Parts: read,rebuild,import,storage,ingest,whatif")] = "read,rebuild,import,storage,ingest,whatif",
        json_out: Annotated[Optional[str], typer.Option("--json-out", help="Write every figure here (JSON)")] = None,
        markdown_out: Annotated[Optional[str], typer.Option("--markdown-out", help="Write the README table here")] = None,
        runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per timing (medians are reported)")] = 3,
        profile: Annotated[bool, typer.Option("--profile/--no-profile", help="cProfile a rebuild")] = True,
        ingest_processes: Annotated[int, typer.Option("--ingest-processes", min=1)] = 2,
        ingest_threads: Annotated[int, typer.Option("--ingest-threads", min=1)] = 64,
        ingest_duration: Annotated[float, typer.Option("--ingest-duration", help="Seconds measured")] = 60.0,
        ingest_warmup: Annotated[float, typer.Option("--ingest-warmup")] = 10.0,
        ingest_events_per_command: Annotated[int, typer.Option("--ingest-events-per-command", min=1)] = 1,
        ingest_modes: Annotated[str, typer.Option("--ingest-modes")] = "group,direct,raw,raw-group",
    ) -> None:
        """Run the benchmark suite (PostgreSQL: $CERTLEDGER_BENCH_SERVER, default localhost:5432) and print
        each figure beside its same-run baseline; builds certledger_bench_<scale> once per scale."""
        if not (BENCHMARKS / "run.py").exists():
            typer.echo("certledger bench needs a source checkout (benchmarks/run.py not found)", err=True)
            raise typer.Exit(2)
        for path in (str(BENCHMARKS), str(BENCHMARKS.parent)):
            if path not in sys.path:
                sys.path.insert(0, path)
        import argparse

        import run  # benchmarks/run.py

        run.from_arguments(argparse.Namespace(
            scale=scale, only=only, json_out=json_out, markdown_out=markdown_out, runs=runs,
            no_profile=not profile, profile_events=200_000, no_verify=False,
            ingest_processes=ingest_processes, ingest_threads=ingest_threads, ingest_duration=ingest_duration,
            ingest_warmup=ingest_warmup, ingest_events_per_command=ingest_events_per_command,
            ingest_modes=ingest_modes,
        ))
