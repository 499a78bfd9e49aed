"""The shared example session (tests/fixtures/session.jsonl), scored and derived by hand."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ledger.events import LedgerEvent, RuleVersionChanged, parse_event
from ledger.rules import RuleSet, RuleTimeline
from ledger.scoring import ALGORITHMS, AlgorithmNotSupported, CertificationFacts, Result, score, score_events

FIXTURE = Path(__file__).parents[1] / "fixtures" / "session.jsonl"


def _events() -> list[LedgerEvent]:
    return [parse_event(json.loads(line)) for line in FIXTURE.read_text().splitlines() if line.strip()]


def _timeline() -> RuleTimeline:
    timeline = RuleTimeline.builtin()
    for event in _events():
        if isinstance(event, RuleVersionChanged):
            timeline.add(event.rules)
    return timeline


def _score(cert: str) -> Result:
    facts = CertificationFacts.from_events(_events(), cert)
    assert facts.started_at is not None
    rules = _timeline().in_force(facts.started_at)
    assert rules is not None
    return score(facts, rules)


def test_the_jury_version_is_in_force_for_the_session() -> None:
    assert _timeline().in_force(datetime(2024, 6, 12, 8, tzinfo=timezone.utc)).version == "jury-2024-09-cap-6"  # type: ignore[union-attr]


def test_cert_0001_is_rejected_for_fraud_with_its_pix_computed() -> None:
    # Question 15 (4.2, has an image, ko) is neutralised by the E1 report (2024-05 rules).
    # Answered 17, correct 13 (1.1: 2, 1.3: 3, 2.1: 2, 3.1: 1, 4.2: 2, 5.1: 3): 76.5 -> 76.
    # 1.1 N3 C2 Z0 middle D: 4-1, 35-8 -> (3, 27); 1.3 3|3|0 V (3, 27); 2.1 D (4, 36);
    # 3.1 3|1|0 X (partially on a 3-question QROCM-dep adds 0); 4.2 3|2|1 V (3, 30);
    # 5.1 V (1, 9). 3.4 (level 0) is not certifiable. Total 27+27+36+30+9 = 129.
    result = _score("cert-0001")
    assert (result.status, result.reasons, result.reproducibility_rate, result.pix_score) == ("rejected", ("FRAUD",), 76, 129)
    assert {c: (m.level, m.pix) for c, m in result.competences.items()} == {
        "1.1": (3, 27), "1.3": (3, 27), "2.1": (4, 36), "3.1": (-1, 0), "4.2": (3, 30), "5.1": (1, 9)}
    assert result.explanation.incidents[0].outcome == "neutralised"
    assert result.rule_version == "jury-2024-09-cap-6"
    # The prose names the ruling; who took it, and their words, are in the jury record
    # beside it (the members were only in the event).
    assert result.explanation.status_because[0] == "rejected for fraud by jury ruling ruling-2024-114"
    fraud = next(d for d in result.explanation.jury if d.ruling_id == "ruling-2024-114")
    assert (fraud.decision, fraud.jury, fraud.words) == (
        "reject_for_fraud", ("pix-1", "pix-2", "ext-1", "ext-2"), "fraud established by the report pv-77")


def test_cert_0002_ended_for_a_technical_reason_is_validated() -> None:
    # q14 unanswered (technical: neutralised); q2 neutralised by the jury.
    # Answered 12, correct 9: 75 (middle). 1.1 3|2|1 V (2, 20); 1.2 3|2|0 D (2, 18);
    # 2.2 D (1, 9); 3.3 D (3, 25); 4.1 2|1|1 V (2, 16). Total 88. Trust: 12 >= ceil(0.66 x 14) = 10.
    result = _score("cert-0002")
    assert (result.status, result.reasons, result.reproducibility_rate, result.pix_score) == ("validated", (), 75, 88)
    assert {c: (m.level, m.pix) for c, m in result.competences.items()} == {
        "1.1": (2, 20), "1.2": (2, 18), "2.2": (1, 9), "3.3": (3, 25), "4.1": (2, 16)}
    explanation = result.explanation
    assert explanation.incidents[0].outcome == "left_to_jury"  # C7
    assert [q.neutralised_by for q in explanation.questions if q.fate == "neutralised"] == ["jury", "abort"]


def test_score_events_scores_one_certification_of_a_session() -> None:
    rules = _timeline().get("pix-v2-2024-05")
    assert rules is not None
    assert score_events(_events(), rules, "cert-0002").pix_score == 88


def test_scoring_dispatches_on_the_algorithm(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _timeline().get("pix-v2-2024-05")
    assert rules is not None
    v3 = rules.model_copy(update={"algorithm": "pix-v3"})
    facts = CertificationFacts.from_events(_events(), "cert-0002")
    with pytest.raises(AlgorithmNotSupported):
        score(facts, v3)
    sentinel = object()
    monkeypatch.setitem(ALGORITHMS, "pix-v3", lambda f, r: sentinel)
    assert score(facts, v3) is sentinel


def test_the_result_round_trips_through_json() -> None:
    result = _score("cert-0001")
    assert Result.model_validate_json(result.model_dump_json()) == result


def test_rule_sets_are_not_changed_by_scoring() -> None:
    timeline = _timeline()
    rules = timeline.get("jury-2024-09-cap-6")
    assert isinstance(rules, RuleSet)
    before = rules.model_dump()
    score(CertificationFacts.from_events(_events(), "cert-0001"), rules)
    assert rules.model_dump() == before
