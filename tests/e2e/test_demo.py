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
    assert "created a new ledger" not in done.stderr  # (its own first step says so, in its words)



def test_the_demo_replaces_its_own_ledger_and_nothing_else(tmp_path, monkeypatch, example_path):
    """`--db-file` naming a real ledger, or any other file, must not cost it its contents:
    the demo runs again over a ledger it made, and refuses every other file untouched."""
    import re
    import sqlite3

    import pytest

    from datetime import datetime, timezone

    from cli.common import ledger_at
    from cli.demo import NotTheDemosLedger, run_demo
    from commands.import_events import import_file
    from commands.simulate import append_simulation

    monkeypatch.chdir(tmp_path)
    own = tmp_path / "demo.db"
    run_demo(own, candidates=6, seed=1)
    assert run_demo(own, candidates=6, seed=1)["statuses"]  # its own ledger: replaced, and the story runs
    older = tmp_path / "older.db"  # the demo's before its simulation recorded as `demo:simulate:…`
    with ledger_at(f"sqlite:///{older}", create=True) as ledger, example_path.open("rb") as lines:
        import_file(ledger, lines, by="demo:centre-lyon-03")
        append_simulation(ledger, candidates=2, seed=2024, start=datetime(2024, 5, 27, tzinfo=timezone.utc))
    assert run_demo(older, candidates=6, seed=1)["statuses"]

    real = tmp_path / "real.db"
    with ledger_at(f"sqlite:///{real}", create=True) as ledger, example_path.open("rb") as lines:
        imported = import_file(ledger, lines, by="cli:import").appended
    notes = tmp_path / "notes.txt"
    notes.write_text("not a ledger")
    other_app = tmp_path / "app.db"
    with sqlite3.connect(other_app) as db:
        db.execute("CREATE TABLE people (name TEXT)")
    mixed = tmp_path / "mixed.db"  # made by the demo, then written to by an import
    run_demo(mixed, candidates=6, seed=1)
    with ledger_at(f"sqlite:///{mixed}") as ledger, example_path.open("rb") as lines:
        assert import_file(ledger, lines, by="cli:import").appended == 0  # the demo holds the example already
        ledger.service.record(ledger_events_of_a_new_session(), by="cli:import")

    tokens_only = tmp_path / "tokens.db"  # a new ledger: its only events are the built-in rules
    from api.tokens import TokenStore

    with ledger_at(f"sqlite:///{tokens_only}", create=True) as ledger:
        TokenStore(ledger.store).add("centre", centre_id="c1")
    simulated = tmp_path / "simulated.db"  # what `certledger simulate` recorded, not the demo
    with ledger_at(f"sqlite:///{simulated}", create=True) as ledger:
        append_simulation(ledger, candidates=2, seed=3, start=datetime(2024, 5, 27, tzinfo=timezone.utc))
    library_app = tmp_path / "orders.db"  # another eventsourcing application: its own stored_events
    with sqlite3.connect(library_app) as db:
        db.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB)")
        db.execute("INSERT INTO stored_events VALUES ('o1', 1, 'shop:OrderPlaced', '{\"amount\": 1200}')")
        db.execute("CREATE TABLE orders (id TEXT)")
    for path, why in [(real, f"holds {imported} event(s) recorded by others than the demo ('cli:import')"),
                      (notes, "is not a certledger ledger"), (other_app, "is not a certledger ledger"),
                      (mixed, "holds 1 event(s) recorded by others than the demo ('cli:import')"),
                      (tmp_path, "is not a file"), (tokens_only, "holds 1 API token(s), which the demo never issues"),
                      (simulated, "holds a simulation recorded by 'simulate:seed=3', not by the demo"),
                      (library_app, "is not a certledger ledger")]:
        before = path.read_bytes() if path.is_file() else None
        with pytest.raises(NotTheDemosLedger, match=re.escape(f"{why};")):
            run_demo(path, candidates=6, seed=1)
        assert (path.read_bytes() if path.is_file() else None) == before
    with ledger_at(f"sqlite:///{real}") as ledger:
        assert ledger.store.max_position() > imported  # the built-in rules and the imported session, all kept

    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "cli.main", "demo", "--db-file", str(notes)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is not a certledger ledger" in done.stderr and "Traceback" not in done.stderr
    assert notes.read_text() == "not a ledger"
    # A file name no SQLite URL can carry is refused before the demo's own file is removed.
    hashed = tmp_path / "a#b.db"
    hashed.write_bytes(own.read_bytes())  # a demo ledger, renamed
    before = hashed.read_bytes()
    done = subprocess.run([sys.executable, "-m", "cli.main", "demo", "--db-file", str(hashed)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "are not read" in " ".join(done.stderr.split()), done.stderr
    assert hashed.read_bytes() == before


def ledger_events_of_a_new_session():
    from ledger.events import parse_event

    return [parse_event({"type": "SessionOpened", "session_id": "session-not-the-demos", "centre_id": "centre-x",
                         "at": "2024-06-12T08:00:00+02:00"})]
