"""`certledger demo`: the main job, end to end, on the embedded SQLite ledger.

A session in the interchange format and a simulated population are imported; results
are projected; an auditor reads one certification's trail; the jury compares a
retroactive rule change with what-if, records it, and the affected certifications are
rescored, their earlier results kept in their history.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.panel import Panel
from rich.rule import Rule

from api.tokens import TOKENS_TABLE
from cli.common import err, ledger_at, out, output_path
from cli.display import shown
from ledger.rule_stream import GENESIS_RECORDER
from storage.errors import UnsupportedDatabaseUrl
from storage.migrate import MIGRATIONS_TABLE, read_only_sqlite
from storage.urls import parse_url

DEMO_DB = "certledger-demo.db"
EXAMPLE_SESSION = "session-2024-06-12-lyon"


def _step(title: str) -> None:
    out.print()
    out.print(Rule(f"[bold cyan]{title}[/bold cyan]", align="left"))


def _data(name: str) -> bytes:
    return resources.files("cli").joinpath("demo_data", name).read_bytes()


# Who records a demo ledger's events: the demo itself (its simulation included, as
# `demo:simulate:…`; before, as `simulate:…`, which a ledger the demo made is allowed
# beside its own events) and the built-in rule versions. A file holding any other
# recorder's event is not the demo's to replace, nor one that has issued API tokens.
DEMO_RECORDERS = ("demo:%", "simulate:%", GENESIS_RECORDER)


class NotTheDemosLedger(Exception):
    """`--db-file` names a file the demo did not make: it is left as it is."""


def _fresh(path: Path) -> None:
    """Remove the demo's earlier ledger, and only that: `--db-file` pointed at a real
    ledger, or at any other file, must not lose it to a demo run."""
    if path.exists():
        problem = _not_a_demo_ledger(path)
        if problem is not None:
            raise NotTheDemosLedger(f"{path} {problem}; the demo replaces only a ledger it made itself: "
                                    "name another --db-file, or move that file away")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _not_a_demo_ledger(path: Path) -> str | None:
    """Why the file at `path` is not a ledger the demo made (None if it is one)."""
    if not path.is_file():
        return "is not a file"
    try:
        with read_only_sqlite(path) as db:  # looking must not change it
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"stored_events", MIGRATIONS_TABLE, TOKENS_TABLE} <= tables:
                return "is not a certledger ledger"  # (`stored_events` alone: any eventsourcing application's)
            by = "json_extract(CAST(state AS TEXT), '$.recorded_by')"
            others = db.execute(
                f"SELECT {by}, COUNT(*) FROM stored_events "
                f"WHERE {by} IS NULL OR NOT ({by} LIKE ? OR {by} LIKE ? OR {by} = ?) "
                f"GROUP BY 1 ORDER BY 2 DESC", DEMO_RECORDERS).fetchall()
            simulated = db.execute(f"SELECT {by} FROM stored_events WHERE {by} LIKE ? LIMIT 1",
                                   (DEMO_RECORDERS[1],)).fetchone()
            the_demos = db.execute(f"SELECT 1 FROM stored_events WHERE {by} LIKE ? LIMIT 1",
                                   (DEMO_RECORDERS[0],)).fetchone()
            tokens = db.execute(f"SELECT COUNT(*) FROM {TOKENS_TABLE}").fetchone()[0]
    except sqlite3.Error:
        return "is not a certledger ledger"
    if others:
        count = sum(n for _, n in others)
        named = ", ".join(f"{who!r}" for who, _ in others[:3]) + (", …" if len(others) > 3 else "")
        return f"holds {count} event(s) recorded by others than the demo ({named})"
    if simulated and not the_demos:  # `certledger simulate`'s, in a ledger the demo never wrote to
        return f"holds a simulation recorded by {simulated[0]!r}, not by the demo"
    if tokens:
        return f"holds {tokens} API token(s), which the demo never issues"
    return None


def run_demo(db_path: Path, candidates: int, seed: int) -> dict:
    """Run the story; return the figures it showed (a test checks them)."""
    import io

    from cli.results import _results_table, caught_up, print_audit
    from cli.verify import print_report
    from cli.whatif import print_report as print_whatif
    from commands.import_events import import_file
    from commands.simulate import append_simulation
    from ledger.events import parse_event
    from projections.asof import results_as_of
    from projections.audit import audit_trail
    from projections.results import ResultsReader
    from projections.verify import verify, verify_since
    from projections.whatif import what_if

    parse_url(f"sqlite:///{db_path}")  # a path no ledger can have is refused before anything is removed
    _fresh(db_path)
    figures: dict = {}
    with ledger_at(f"sqlite:///{db_path}", create=True, say_new=False) as ledger:
        _step("1. A new embedded ledger")
        versions = [r.event.version for r in ledger.store.read_stream("rules")]
        out.print(f"created {db_path}: it starts with the {len(versions)} built-in rule versions as events "
                  f"({versions[0]} … {versions[-1]})")

        _step("2. A session arrives in the interchange format")
        report = import_file(ledger, io.BytesIO(_data("session.jsonl")), by="demo:centre-lyon-03")
        out.print(f"imported {report.appended} events: a fraud, an abort, an incident, a jury neutralisation")

        _step(f"3. {candidates} simulated candidates (seed {seed})")
        start = datetime(2024, 5, 27, 8, 0, tzinfo=timezone.utc)
        sim = append_simulation(ledger, candidates=candidates, seed=seed, start=start, by=f"demo:simulate:seed={seed}")
        out.print(f"appended {sim.appended} events, every one validated like an import")

        _step("4. Results, derived from the events under the rules in force")
        caught_up(ledger.store)
        reader = ResultsReader(ledger.store)
        everything = reader.current()
        statuses = Counter(r["status"] for r in everything)
        figures["statuses"] = dict(statuses)
        out.print("all certifications: " + ", ".join(f"{n} {s}" for s, n in statuses.most_common()))
        out.print(_results_table(reader.current(session_id=EXAMPLE_SESSION)))

        _step("5. An auditor reads cert-0002 (events, results, why), then verifies it all")
        print_audit(audit_trail(ledger.store, "cert-0002"))
        out.print()
        out.print("and checks the whole ledger: the log against its hash chain, every result against a replay")
        checked = verify(ledger.store)
        figures["verified"] = checked.ok
        print_report(checked)

        _step("6. The jury proposes max level 6 from 2024-06-01, retroactively: what-if first")
        line = orjson.loads(_data("jury_rule_change.json"))
        proposal = line["rules"]
        before = what_if(ledger.store, proposal)
        figures["what_if_changed"] = before.changed
        print_whatif(before, out)

        _step("7. The jury records it; the affected certifications are rescored")
        known_before = datetime.now(timezone.utc)
        ledger.service.record([parse_event(line)], by="demo:jury")
        caught_up(ledger.store)
        rescored = [
            r for r in ResultsReader(ledger.store).current()
            if (h := reader.history(r["certification_id"])) and h[-1]["cause"].startswith("rule version")
        ]
        figures["rescored"] = len(rescored)
        out.print(f"{len(rescored)} certifications rescored under {proposal['version']} "
                  f"(the what-if said {before.changed} would change outcome); earlier results stay in their history")
        lowered = [r for r in rescored if r["certification_id"] in {c.certification_id for c in before.changes}]
        if lowered:
            cert = lowered[0]["certification_id"]
            then = results_as_of(ledger.store, known_before, certification_id=cert)[0]
            now = ResultsReader(ledger.store).current(certification_id=cert)[0]
            figures["example"] = (cert, then["pix_score"], now["pix_score"])
            out.print(f"{cert}: as the ledger knew it before the change: {then['status']} {then['pix_score']} pix "
                      f"({then['rule_version']}); now: {now['status']} {now['pix_score']} pix ({now['rule_version']})")
            out.print("its history: " + ", ".join(h["cause"] for h in reader.history(cert)))

        _step("8. The auditor's next check: only what was appended since the head kept")
        if not checked.ok or checked.chain_head is None:  # (a head of a failing log is not one to start from)
            raise RuntimeError("the ledger failed its verify in step 5: no head to check from")
        since = verify_since(ledger.store, checked.chain_head)
        figures["verified_since"] = (since.ok, _chain_check(since).checked)
        print_report(since)
        out.print("(the rule change is one event; the results it rescored are read models, which a full verify "
                  "checks against a replay)")

    out.print()
    out.print(Panel.fit(
        f"The ledger is {db_path}. Try:\n"
        f"  certledger results --session {EXAMPLE_SESSION} --db sqlite:///{db_path}\n"
        f"  certledger audit cert-0001 --db sqlite:///{db_path}\n"
        f"  certledger docket --db sqlite:///{db_path}   (what awaits the jury)\n"
        f"  certledger what-if --rules pix-v2-2021-08 --against pix-v2-2024-05 --db sqlite:///{db_path}\n"
        f"  certledger verify --db sqlite:///{db_path}   (add --since POSITION:DIGEST, a head it printed)\n"
        f"  certledger serve --db sqlite:///{db_path}   (then open http://127.0.0.1:8000/docs)",
        title="next",
    ))
    return figures


def _chain_check(report):
    return next(c for c in report.checks if c.name == "hash chain")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        candidates: Annotated[int, typer.Option("--candidates", min=1, help="Simulated candidates")] = 400,
        seed: Annotated[int, typer.Option("--seed", help="The simulation's seed: the same seed, the same population")] = 2024,
        db_file: Annotated[str, typer.Option("--db-file", help="The SQLite file the demo (re)creates")] = DEMO_DB,
    ) -> None:
        """Run the main job end to end on the embedded SQLite ledger (recreates its own file)."""
        if "://" in db_file:  # (read as a path, sqlite:///x.db was "sqlite:/x.db" under the working folder)
            err.print(f"[red]error:[/red] --db-file takes a file's path, not a database URL: {shown(db_file)}"
                      + (f" (the file: {shown(db_file[len('sqlite:///'):])})" if db_file.startswith("sqlite:///") else ""))
            raise typer.Exit(2)
        output_path(db_file, "--db-file")  # a folder that does not exist is said as such
        try:
            run_demo(Path(db_file), candidates, seed)
        except typer.Exit:
            raise
        except (NotTheDemosLedger, UnsupportedDatabaseUrl) as refused:
            err.print(f"[red]the demo did not run:[/red] {refused}")
            raise typer.Exit(2) from None
        except Exception as e:  # the demo must say what broke, not dump a trace
            err.print(f"[red]the demo failed:[/red] {type(e).__name__}: {e}")
            raise typer.Exit(1) from None
