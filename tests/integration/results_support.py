"""Helpers for the results projection's tests: populations, rule changes, snapshots."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import islice

import orjson

from commands.simulation import simulate_events
from projections.results import ResultsReader, catch_up
from projections.views import ResultsViews, as_text
from tests.builders import JURY, Scenario, events

HIGH = {c: {"pix": 50} for c in ("1.1", "1.2", "2.1", "3.1", "4.1")}  # level 6 everywhere
LOW = {c: {"pix": 20} for c in ("1.1", "1.2", "2.1", "3.1", "4.1")}  # level 2


def rule_change(s: Scenario, version: str, effective_from: str, *, max_level: int = 5,
                extends: str = "pix-v2-2024-05") -> dict:
    doc = {"version": version, "extends": extends, "effective_from": effective_from,
           "max_reachable_level": max_level}
    return s.line("RuleVersionChanged", version=version, effective_from=effective_from, rules=doc, jury=JURY,
                  reason="retroactive jury decision (test)")


def snapshot(store) -> dict:
    """Everything the read model holds, in a comparable form (positions included)."""
    views = ResultsViews(store)
    reader = ResultsReader(store)
    history = [
        (c, seq, cause, detail, as_text(at), pos, orjson.loads(r))
        for c, seq, cause, detail, at, pos, r in views.query(
            "SELECT certification_id, seq, cause, detail, recorded_at, position, result "
            "FROM certledger_result_history ORDER BY certification_id, seq")
    ]
    rows = [
        (c, as_text(updated), pos, seq, changed, bool(published), bool(was), shown)
        for c, updated, pos, seq, changed, published, was, shown in views.query(
            "SELECT certification_id, updated_at, position, seq, changed, published, was_published, public_changed "
            "FROM certledger_results ORDER BY certification_id")
    ]
    inputs = [(c, as_text(s), orjson.loads(f)) for c, s, f in views.query(
        "SELECT certification_id, started_at, facts FROM certledger_scoring_inputs ORDER BY certification_id")]
    sessions = [(s, c, bool(f), bool(p)) for s, c, f, p in views.query(
        "SELECT session_id, centre_id, finalised, published FROM certledger_result_sessions ORDER BY session_id")]
    return {"current": reader.current(), "history": history, "rows": rows, "inputs": inputs, "sessions": sessions,
            "position": reader.position()}


def jury_extras(start: datetime) -> list[dict]:
    """A session sure to hold a neutralisation, a de-neutralisation, a fraud rejection and
    a cancellation, whatever the simulation drew; and one published, then unpublished."""
    s = Scenario("extras", start=start)
    lines = [s.open()]
    for cert in ("x-neutral", "x-fraud", "x-cancel", "x-plain"):
        lines += s.full_test(cert, status="ok")
    lines += [s.line("FraudReported", certification_id="x-fraud", report_id="f1", reported_by="centre",
                     description="phone"), s.finalise()]
    lines += [
        s.line("QuestionNeutralised", certification_id="x-neutral", question_id="x-neutral-1.1-0", by="pix-1"),
        s.line("QuestionNeutralised", certification_id="x-neutral", question_id="x-neutral-1.2-0", by="pix-1"),
        s.line("QuestionDeneutralised", certification_id="x-neutral", question_id="x-neutral-1.2-0", by="pix-2"),
        s.ruling("reject_for_fraud", certification_id="x-fraud", comment="phone seen"),
        s.ruling("cancel", certification_id="x-cancel", comment="centre error"),
        s.publish(),
    ]
    # Published then unpublished: withdrawn (the change feed's `was_published`).
    w = Scenario("withdrawn", start=start)
    lines += [w.open(), *w.full_test("w-1", status="ok"), *w.full_test("w-2", status="ok"), w.finalise(),
              w.publish(), w.unpublish()]
    return lines


def record_in_chunks(ledger, evs, *, chunk: int, project_page: int | None = None, clock=None) -> None:
    """Record `evs` batch by batch; between batches, catch the projection up (in pages
    of `project_page`) when asked: the incremental path."""
    it = iter(evs)
    while batch := list(islice(it, chunk)):
        ledger.service.record(batch, by="test")
        if clock is not None:
            clock.advance(minutes=1)
        if project_page is not None:
            catch_up(ledger.store, page_size=project_page)


def simulated(candidates: int, seed: int):
    return list(simulate_events(candidates, seed, datetime(2024, 1, 8, 8, tzinfo=timezone.utc)))


def population_events(candidates: int = 120, seed: int = 11) -> list:
    """A simulated population, the jury extras, and a retroactive rule change that
    applies to the later half of it (effective 2024-01-12, recorded after the rest)."""
    evs = simulated(candidates, seed)
    evs += events(jury_extras(datetime(2024, 1, 15, 8, tzinfo=timezone.utc)))
    s = Scenario("rules", start=datetime(2024, 9, 2, 10, tzinfo=timezone.utc))
    evs += events([rule_change(s, "jury-cap-5", "2024-01-12T00:00:00+00:00", extends="pix-v2-2023-12")])
    return evs
