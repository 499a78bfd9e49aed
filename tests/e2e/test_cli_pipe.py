"""A reader that stops early ends the CLI as it ends any Unix tool, by SIGPIPE: click
made it exit 1, which `verify` uses for "problems found", and a script with pipefail
took a sound ledger for a tampered one (a reviewer's finding)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_that_stops_early_ends_the_cli_by_sigpipe_not_exit_1(tmp_path):
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert CliRunner().invoke(app, ["simulate", "--candidates", "60", "--db", db]).exit_code == 0
    # An export far larger than a pipe's buffer: the writer is still writing when the
    # reader goes.
    proc = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "export", "--db", db],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()
    proc.wait(timeout=60)
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGPIPE, (proc.returncode, stderr)
    assert b"Traceback" not in stderr
