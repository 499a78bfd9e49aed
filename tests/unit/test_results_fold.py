"""The projection's dict fold keeps exactly the facts the scoring package's fold does."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from commands.simulation import simulate_events
from ledger.events import SessionFinalised
from ledger.rule_stream import genesis_events
from ledger.scoring import CertificationFacts
from projections.fold import ResultsFold
from tests.builders import Scenario, events

RECORDED = "2024-06-12T08:00:00+00:00"


def _entries(evs):
    return [(i, "", {"event": e.to_line(), "recorded_at": RECORDED, "recorded_by": "t"})
            for i, e in enumerate(evs, start=1)]


def _reference(evs) -> dict[str, CertificationFacts]:
    """Each certification's facts by ledger.scoring's own fold over its events."""
    mine: dict[str, list] = defaultdict(list)
    sessions: dict[str, list[str]] = defaultdict(list)
    for e in evs:
        if isinstance(e, SessionFinalised):
            for cert in sessions[e.session_id]:
                mine[cert].append(e)
        elif getattr(e, "certification_id", None):
            if e.type == "CertificationStarted":
                sessions[e.session_id].append(e.certification_id)
            mine[e.certification_id].append(e)
    return {c: CertificationFacts.from_events(es, c) for c, es in mine.items()}


def _folded(evs) -> dict[str, CertificationFacts]:
    fold = ResultsFold().apply_all(_entries([*genesis_events(), *evs]))
    return {c: CertificationFacts.model_validate(s.facts) for c, s in fold.certs.items()}


def test_the_dict_fold_equals_the_scoring_fold_over_a_simulated_population():
    evs = list(simulate_events(120, 7, datetime(2024, 1, 8, 8, tzinfo=timezone.utc)))
    folded, reference = _folded(evs), _reference(evs)
    assert folded.keys() == reference.keys()
    for cert, facts in reference.items():
        assert folded[cert] == facts, cert


def test_the_dict_fold_keeps_anomalies_and_every_jury_fact():
    s = Scenario("s1")
    lines = [s.open(), *s.full_test("c1")[:-1]]
    lines += [s.incident("c1", "r1", "E4", 2), s.line("FraudReported", certification_id="c1", report_id="f1",
                                                      reported_by="centre", description="phone")]
    lines += [s.complete("c1"), s.finalise()]
    lines += [s.line("QuestionNeutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-1", reason="bug"),
              s.line("QuestionDeneutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-2"),
              s.ruling("reject_for_fraud", certification_id="c1", comment="proven"),
              s.ruling("unreject", certification_id="c1"),
              s.ruling("cancel", certification_id="c1"),
              s.ruling("resolve_incident", certification_id="c1", report_id="r1", resolution="no effect"),
              s.ruling("comment", certification_id="c1", comment="seen")]
    evs = events(lines)
    assert _folded(evs) == _reference(evs)


class _CountingLoader:
    """A loader over an empty view that counts what it is asked."""

    def __init__(self) -> None:
        self.asked: list[set[str]] = []

    def load_certs(self, ids):
        self.asked.append(set(ids))
        return []

    def load_sessions(self, ids):
        self.asked.append(set(ids))
        return []

    def rule_candidates(self, since):
        return []


def test_a_fold_that_holds_every_state_loads_nothing_until_it_forgets():
    entries = _entries([*genesis_events(), *simulate_events(40, 7, datetime(2024, 1, 8, 8, tzinfo=timezone.utc))])
    half = len(entries) // 2
    loader = _CountingLoader()
    fold = ResultsFold(loader=loader, complete=True)
    fold.prepare(entries[:half])
    fold.apply_all(entries[:half])
    assert loader.asked == []
    fold.forget()
    assert not fold.complete
    fold.prepare(entries[half:])
    assert loader.asked and set().union(*loader.asked)  # it asks again once it has forgotten
