"""A catch-up's worker whose feeding process died (kill -9, the OOM killer) while it
worked exits without a word: its answer meets a closed pipe, and nothing waits for it."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from projections.workers import write_frame

ROOT = Path(__file__).resolve().parents[2]

# What each worker answers at once: an empty batch to score; a store it cannot open.
FIRST_FRAME = {
    "projections.scoring_pool": pickle.dumps(([], {})),
    "projections.page_writer": pickle.dumps("not a database url"),
}


@pytest.mark.parametrize("module", sorted(FIRST_FRAME))
def test_a_worker_whose_feeder_is_gone_exits_without_a_traceback(module):
    # As projections.workers.start_worker starts it, with its stderr kept to be read.
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the feeder gone: no one reads the answer
    write_frame(proc.stdin, FIRST_FRAME[module])
    proc.stdin.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert stderr == b"", stderr.decode(errors="replace")
