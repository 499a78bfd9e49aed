"""Folding ledger events into one certification's facts."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.events import LedgerEvent, SessionFinalised, parse_event
from ledger.scoring import CertificationFacts
from tests.unit.test_scoring_support import Certification

FIXTURE = Path(__file__).parents[1] / "fixtures" / "session.jsonl"


def _example() -> list[LedgerEvent]:
    return [parse_event(json.loads(line)) for line in FIXTURE.read_text().splitlines() if line.strip()]


def test_the_example_folds_into_the_facts_of_each_certification() -> None:
    events = _example()
    first = CertificationFacts.from_events(events, "cert-0001")
    assert (first.session_id, first.completed, first.session_finalised, first.abort_reason) == (
        "session-2024-06-12-lyon", True, True, None)
    assert len(first.questions) == 18 and len(first.answers) == 18
    assert [i.code for i in first.incidents] == ["E1"] and first.fraud_reports == ("pv-77",)
    assert first.rejected_for_fraud is not None and first.rejected_for_fraud.ruling_id == "ruling-2024-114"
    second = CertificationFacts.from_events(events, "cert-0002")
    assert (second.completed, second.abort_reason, len(second.questions), len(second.answers)) == (False, "technical", 14, 13)
    assert second.jury_decisions["cert-0002-q2"].by == "pix-1"
    assert second.rejected_for_fraud is None


def test_without_an_id_the_first_certification_named_is_folded() -> None:
    assert CertificationFacts.from_events(_example()).certification_id == "cert-0001"


def test_facts_round_trip_through_json() -> None:
    for cert in ("cert-0001", "cert-0002"):
        facts = CertificationFacts.from_events(_example(), cert)
        compact = json.loads(json.dumps(facts.model_dump(mode="json", exclude_defaults=True)))
        assert CertificationFacts.model_validate(compact) == facts


def test_folding_more_events_later_gives_the_same_facts() -> None:
    events = _example()
    at_once = CertificationFacts.from_events(events, "cert-0002")
    step = CertificationFacts.from_events(events[:30], "cert-0002")
    for event in events[30:]:
        step = step.with_events([event])
    assert step == at_once


def test_the_last_jury_decision_on_a_question_wins() -> None:
    cert = Certification().start({"1.1": 16})
    qid = cert.question("1.1", "ko")
    cert.neutralise(qid)
    cert.deneutralise(qid, by="ext-2")
    decision = cert.facts().jury_decisions[qid]
    assert (decision.neutralised, decision.by) == (False, "ext-2")


def test_unreject_and_uncancel_lift_the_standing_rulings() -> None:
    cert = Certification().start({"1.1": 16})
    cert.ruling("reject_for_fraud")
    cert.ruling("cancel")
    assert cert.facts().rejected_for_fraud and cert.facts().cancelled
    cert.ruling("unreject")
    cert.ruling("uncancel")
    assert cert.facts().rejected_for_fraud is None and cert.facts().cancelled is None


def test_comments_and_incident_resolutions_are_kept() -> None:
    cert = Certification().start({"1.1": 16})
    report = cert.incident("C7")
    cert.ruling("resolve_incident", report_id=report, resolution="no effect on the test")
    cert.ruling("comment")
    facts = cert.facts()
    assert facts.incident_rulings[report].resolution == "no effect on the test"
    assert len(facts.comments) == 1


def test_events_of_other_certifications_and_sessions_are_ignored() -> None:
    mine, other = Certification("cert-a", "s-1"), Certification("cert-b", "s-2")
    mine.start({"1.1": 16}), other.start({"1.1": 16})
    mine.question("1.1", "ok"), other.question("1.1", "ko")
    other.finalise("technical")
    facts = CertificationFacts.from_events([*mine.events, *other.events], "cert-a")
    assert len(facts.questions) == 1 and not facts.session_finalised


def test_a_second_finalisation_does_not_change_the_abort_reason() -> None:
    cert = Certification().start({"1.1": 16})
    cert.finalise("candidate")
    cert.events.append(SessionFinalised(session_id="session-1", abort_reasons={"cert-1": "technical"}, at=cert.events[-1].at))
    assert cert.facts().abort_reason == "candidate"
