"""What-if on a simulated population gives the numbers that publishing the proposal and
rebuilding the results gives (issue 4's acceptance check), and writes nothing.

Population size: the issue's 10,000 certifications on PostgreSQL (≈150 s on the 2-core
machine: appending them through the import path, projecting, rebuilding; what-if itself
is seconds), the largest test of the suite; 300 on SQLite, where the same code runs.
CERTLEDGER_WHATIF_POPULATION=N sets the PostgreSQL size (e.g. 1000 for a quick run).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from commands.bootstrap import open_ledger
from commands.simulate import append_simulation
from ledger.events import RuleVersionChanged
from ledger.rules import builtin_documents
from projections.rebuild import rebuild
from projections.inputs import scoring_inputs
from projections.results import ResultsReader, catch_up
from projections.whatif import what_if
from tests.builders import JURY
from tests.integration.results_support import snapshot

# After pix-v2-2024-05 (2024-05-15): no later version of the ledger supersedes the proposal.
START = datetime(2024, 6, 3, 8, 0, tzinfo=timezone.utc)
SEED = 4
PG_POPULATION = int(os.environ.get("CERTLEDGER_WHATIF_POPULATION", "10000"))
SQLITE_POPULATION = 300


def _lenient_table() -> list[dict]:
    """The current level table, with "2 OK, 1 KO" validated in every band (levels up)."""
    table = next(d for d in builtin_documents() if d["version"] == "pix-v2-2021-04")["level_table"]
    return [{**row, "middle": "V", "low": "V"} if row["meaning"] == "2 OK, 1 KO" else row for row in table]


# A lower cap (levels down), a stricter rate gate (statuses change), a more lenient row.
PROPOSAL = {
    "version": "proposal-cap5-gate60",
    "extends": "pix-v2-2024-05",
    "effective_from": START.isoformat(),
    "description": "what-if test: max level 5, fail below 60, 2 OK 1 KO validated in every band",
    "max_reachable_level": 5,
    "reproducibility_rate": {"fail_below": 60},
    "level_table": _lenient_table(),
}


def _real_counts(before: dict[str, dict], after: dict[str, dict]) -> dict:
    """The counts the report must give, computed here from the two sets of results."""
    transitions, differences, up, down, changed = Counter(), Counter(), Counter(), Counter(), set()
    for cid, b in before.items():
        a = after[cid]
        transitions[(b["status"], a["status"])] += 1
        if b["status"] != "started" and a["status"] != "started":
            differences[a["pix_score"] - b["pix_score"]] += 1
        for code in set(b["competences"]) & set(a["competences"]):
            delta = a["competences"][code]["level"] - b["competences"][code]["level"]
            up[code] += delta > 0
            down[code] += delta < 0
        fields = ("status", "reasons", "error", "pix_score", "reproducibility_rate", "competences")
        if any(b.get(f) != a.get(f) for f in fields):
            changed.add(cid)
    return {
        "transitions": +transitions, "differences": +differences, "changed": changed,
        "competences": {c: (up[c], down[c]) for c in set(up) | set(down) if up[c] or down[c]},
    }


def _report_counts(report) -> dict:
    return {
        "transitions": Counter({(t.before, t.after): t.count for t in report.status_transitions}),
        "differences": Counter({d.difference: d.count for d in report.score_differences}),
        "changed": {c.certification_id for c in report.changes},
        "competences": {c.code: (c.up, c.down) for c in report.competence_changes},
    }


def _results(store, **period) -> dict[str, dict]:
    return {r["certification_id"]: r for r in ResultsReader(store).current(**period)}


def _check_what_if_equals_publishing_and_rebuilding(url: str, population: int, clock) -> None:
    clock.now = START + timedelta(days=3 * 366)  # recorded after the population's last facts
    with open_ledger(url, clock=clock) as ledger:
        store = ledger.store
        # 1. A simulated population, projected.
        append_simulation(ledger, candidates=population, seed=SEED, start=START)
        catch_up(store)
        before = _results(store)
        assert len(before) == population
        started = {cid: at for cid, at, _ in scoring_inputs(store)}
        dates = sorted(started.values())  # a period: the second quarter of the population
        middle = {"start": dates[len(dates) // 4], "end": dates[len(dates) // 2]}

        # 2. What-if, over everything and over a period, writing nothing.
        untouched = snapshot(store), store.max_position()
        report = what_if(store, PROPOSAL)
        period_report = what_if(store, PROPOSAL, **middle)
        assert (snapshot(store), store.max_position()) == untouched
        with_result = sum(1 for r in before.values() if r["status"] != "started")
        assert report.compared == population and report.scored_under == {PROPOSAL["version"]: with_result}

        # 3. The proposal published by a jury, then the results rebuilt.
        ledger.service.record([RuleVersionChanged(
            version=PROPOSAL["version"], effective_from=START, rules=PROPOSAL, jury=JURY,
            reason="what-if acceptance test", at=clock.now,
        )], by="test")
        catch_up(store)
        caught_up = _results(store)
        rebuild(store)
        after = _results(store)
        assert after == caught_up  # the incremental rescoring and the rebuild agree

    real = _real_counts(before, after)
    assert _report_counts(report) == real
    assert report.changed == len(real["changed"]) > 0
    assert any(b != a for b, a in real["transitions"]), "the proposal should change some statuses"
    assert any(u for u, _ in real["competences"].values()) and any(d for _, d in real["competences"].values())

    in_period = {cid for cid, at in started.items() if middle["start"] <= at <= middle["end"]}
    assert period_report.compared == len(in_period) > 0
    assert _report_counts(period_report) == _real_counts(
        {c: before[c] for c in in_period}, {c: after[c] for c in in_period})


@pytest.mark.postgres
@pytest.mark.runs_long
def test_what_if_gives_the_counts_of_publishing_the_proposal_and_rebuilding_on_postgresql(pg_url, clock):
    _check_what_if_equals_publishing_and_rebuilding(pg_url, PG_POPULATION, clock)


def test_what_if_gives_the_counts_of_publishing_the_proposal_and_rebuilding_on_sqlite(sqlite_url, clock):
    _check_what_if_equals_publishing_and_rebuilding(sqlite_url, SQLITE_POPULATION, clock)
