"""`certledger demo` runs end to end on the embedded default, and what it shows holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_tells_a_consistent_story(tmp_path, monkeypatch):
    from cli.demo import run_demo

    monkeypatch.chdir(tmp_path)
    figures = run_demo(tmp_path / "demo.db", candidates=120, seed=5)
    assert set(figures["statuses"]) <= {"validated", "rejected", "cancelled", "error", "started"}
    assert sum(figures["statuses"].values()) == 122  # the example's two + the simulated
    # The what-if announced as many outcome changes as the recorded rule produced.
    assert figures["rescored"] >= figures["what_if_changed"] > 0
    cert, before, after = figures["example"]
    assert after < before, f"{cert}: capping at level 6 can only lower pix"
    # The auditor's full verify holds, and the check since its head covers the rule change's commit.
    assert figures["verified"] is True and figures["verified_since"] == (True, 1)


def test_the_demo_command_exits_cleanly(tmp_path):
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "demo", "--candidates", "60", "--db-file",
                           str(tmp_path / "d.db")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "rescored under jury-2024-09-cap-6" in done.stdout
    assert "checked the hash chain after the kept link" in done.stdout and "--since" in done.stdout
