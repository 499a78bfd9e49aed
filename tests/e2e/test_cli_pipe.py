"""A reader that stops early (`certledger verify | head -1`) ends the CLI with 141, as a
shell reports any tool ended by SIGPIPE: rich and typer made it exit 1, which `verify`
uses for "problems found", and a script with pipefail took a sound ledger for a tampered
one (a reviewer's finding)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from cli.main import main; main()"]


@pytest.fixture
def ledger_db(tmp_path) -> str:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert CliRunner().invoke(app, ["simulate", "--candidates", "30", "--db", db]).exit_code == 0
    return db


def _into_a_closed_pipe(args: list[str]) -> subprocess.CompletedProcess:
    """Run the CLI with its stdout a pipe whose reader is already gone: its first write
    breaks, whatever the timing."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(CLI + args, cwd=ROOT, stdout=write, stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize("command", [["verify"], ["verify", "--log-only", "--json"], ["export"], ["results"]],
                         ids=["verify (rich)", "verify --json (rich)", "export (binary)", "results (a table)"])
def test_a_reader_gone_ends_the_cli_with_141_not_exit_1(ledger_db, command):
    done = _into_a_closed_pipe([*command, "--db", ledger_db])
    assert done.returncode == 128 + signal.SIGPIPE, (done.returncode, done.stderr)
    assert b"Traceback" not in done.stderr


def test_the_same_ledger_read_to_the_end_is_sound(ledger_db):
    whole = subprocess.run(CLI + ["verify", "--db", ledger_db], cwd=ROOT, capture_output=True, timeout=120)
    assert whole.returncode == 0, whole.stderr


@pytest.mark.parametrize("command", [["results", "--json"], ["what-if", "--rules", "pix-v2-2017-12", "--json"]],
                         ids=["results --json", "what-if --json"])
def test_a_reader_that_leaves_after_the_first_line_ends_the_cli_with_141(ledger_db, command):
    """`results --json | head -1` exited 0: the JSON is one write larger than the pipe,
    whose partial count Python's buffered write returned without a word."""
    import fcntl

    reading = subprocess.Popen(CLI + [*command, "--db", ledger_db], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    # A pipe of one page (Linux's F_SETPIPE_SZ), set before the CLI is up: the JSON of
    # this small ledger is then many times what the pipe holds.
    fcntl.fcntl(reading.stdout.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    assert reading.stdout.readline() in (b"[\n", b"{\n")
    reading.stdout.close()  # as `head -1` does, with the rest unread
    said = reading.stderr.read()
    assert reading.wait(timeout=120) == 128 + signal.SIGPIPE, said
    assert b"Traceback" not in said


def test_ctrl_c_while_the_command_loads_is_one_line_and_exit_130(tmp_path):
    """Interrupted while it imported its libraries, `rebuild` died by the signal with a
    traceback and no word of what was done."""
    import time

    # An import waiting on its standard input: wherever the interrupt lands (the libraries
    # loading, which take most of a second on a slow host, or the import), it is answered.
    reading = subprocess.Popen([sys.executable, "-c", "from cli.entry import main; main()", "import", "-", "--db",
                                f"sqlite:///{tmp_path / 'l.db'}"], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.25)  # (the interpreter is up)
    reading.send_signal(signal.SIGINT)
    _, said = reading.communicate(timeout=60)
    assert reading.returncode == 130 and b"Traceback" not in said, said
