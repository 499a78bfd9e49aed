"""`certledger bench`: the performance benchmark suite (benchmarks/run.py), from a checkout.

The suite lives in the repository's `benchmarks/` folder, not in the installed package:
this command finds it beside the package sources and hands it its arguments untouched,
so its options are `run.py`'s own (`certledger bench --help` prints them) and cannot
drift from them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def register(app: typer.Typer) -> None:
    @app.command(
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )
    def bench(ctx: typer.Context) -> None:
        """Run the benchmark suite: each figure beside its same-run baseline (options: certledger bench --help).

        PostgreSQL from $CERTLEDGER_BENCH_SERVER (default localhost:5432); certledger_bench_<scale> is built
        once per scale. The options are those of benchmarks/run.py."""
        if not (BENCHMARKS / "run.py").exists():
            typer.echo("certledger bench needs a source checkout (benchmarks/run.py not found)", err=True)
            raise typer.Exit(2)
        for path in (str(BENCHMARKS), str(BENCHMARKS.parent)):
            if path not in sys.path:
                sys.path.insert(0, path)
        import run  # benchmarks/run.py

        run.main(list(ctx.args), prog="certledger bench")
