"""`certledger bench` takes benchmarks/run.py's own options: none can go missing from
the command (as `--no-verify` once did), and a wrong one is refused before anything runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
runner = CliRunner()


def _run_options() -> set[str]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run  # benchmarks/run.py
    finally:
        sys.path.remove(str(BENCHMARKS))
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    return {o for action in parser._actions for o in action.option_strings if o.startswith("--")}


def test_bench_help_lists_every_option_of_the_suite():
    import cli.bench

    assert cli.bench.BENCHMARKS == BENCHMARKS  # the run.py read below is the one the command runs
    result = runner.invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    options = _run_options()
    assert {"--no-verify", "--scale", "--ingest-modes"} <= options
    missing = [o for o in options if o not in result.output]
    assert not missing, missing


def test_bench_refuses_an_unknown_option_or_part_before_running(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the command puts benchmarks/ on it
    result = runner.invoke(app, ["bench", "--bogus"])
    assert result.exit_code == 2 and "unrecognized arguments: --bogus" in result.output
    result = runner.invoke(app, ["bench", "--only", "nope"])
    assert result.exit_code != 0 and "unknown part(s): nope" in str(result.exception or "") + result.output
