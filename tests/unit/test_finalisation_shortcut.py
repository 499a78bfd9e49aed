"""A finalisation's result derived from the completion's (ledger.scoring.finalisation)
is exactly what score() gives, and the projection's fold, which uses it, still holds
score()'s result for every certification."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from commands.simulation import simulate_events
from ledger.rule_stream import genesis_events
from ledger.rules import RuleTimeline
from ledger.scoring import CertificationFacts, score
from ledger.scoring import finalisation
from ledger.scoring.finalisation import finalisation_keeps_outcome, finalised_result_json
from projections.fold import ResultsFold
from tests.builders import Scenario, events
from tests.unit.test_results_fold import _entries, _reference

START = datetime(2024, 1, 8, 8, tzinfo=timezone.utc)
VERSIONS = RuleTimeline.builtin().versions()


def result_at_finalisation(result_json: str, facts: dict, rules) -> str | None:
    """What the projection's fold does at a finalisation: derive when the rules say the
    outcome is kept, else nothing (a scoring is needed)."""
    return finalised_result_json(result_json, rules) if finalisation_keeps_outcome(facts, rules) else None


@pytest.fixture(scope="module")
def population() -> list[CertificationFacts]:
    evs = list(simulate_events(200, 11, START))
    return [f for f in _reference(evs).values() if f.session_finalised]


@pytest.mark.parametrize("rules", VERSIONS, ids=[r.version for r in VERSIONS])
def test_the_derived_result_is_the_one_score_gives(population, rules):
    derived_count = 0
    for facts in population:
        before = facts.model_copy(update={"session_finalised": False})
        derived = result_at_finalisation(score(before, rules).model_dump_json(), facts.model_dump(mode="json"), rules)
        if facts.incidents or facts.abort_reason is not None:
            assert derived is None, facts.certification_id
            continue
        assert derived == score(facts, rules).model_dump_json(), facts.certification_id
        derived_count += 1
    assert derived_count > len(population) // 2  # the shortcut is the common case


def test_nothing_is_derived_for_another_version_or_algorithm(population):
    facts = next(f for f in population if not f.incidents and f.abort_reason is None)
    old, new = VERSIONS[0], VERSIONS[-1]
    before = score(facts.model_copy(update={"session_finalised": False}), old).model_dump_json()
    assert result_at_finalisation(before, facts.model_dump(mode="json"), new) is None
    other = new.model_copy(update={"algorithm": "pix-v3"})
    assert result_at_finalisation(before, facts.model_dump(mode="json"), other) is None
    assert result_at_finalisation(before, facts.model_dump(mode="json"), old) is not None


def _fold_with_spy(evs, monkeypatch) -> tuple[ResultsFold, list[str]]:
    derived: list[str] = []
    real = finalisation.finalised_result_json

    def spy(result_json, rules):
        found = real(result_json, rules)
        if found is not None:
            derived.append(orjson.loads(found)["certification_id"])
        return found

    monkeypatch.setattr("projections.fold.finalised_result_json", spy)
    return ResultsFold().apply_all(_entries([*genesis_events(), *evs])), derived


def test_the_fold_holds_scores_result_for_every_certification(monkeypatch):
    evs = list(simulate_events(150, 5, START))
    fold, derived = _fold_with_spy(evs, monkeypatch)
    timeline = RuleTimeline.builtin()
    assert derived, "no finalisation took the shortcut"
    checked = 0
    for cert in fold.certs.values():
        if cert.result_json is None or not cert.scored:
            continue  # facts changed since (e.g. a comment): score() of today's facts is another result
        facts = CertificationFacts.model_validate(cert.facts)
        assert cert.result_json == score(facts, timeline.in_force(cert.started_at)).model_dump_json()
        checked += 1
    assert checked >= len(derived)


def test_a_change_after_the_completion_makes_the_finalisation_score_again(monkeypatch):
    s = Scenario("s1")
    # c1: a fraud report between completion and finalisation; c2: nothing.
    lines = [s.open(), *s.full_test("c1"), *s.full_test("c2")]
    lines += [s.line("FraudReported", certification_id="c1", report_id="f1", reported_by="centre",
                     description="phone"), s.finalise()]
    fold, derived = _fold_with_spy(events(lines), monkeypatch)
    assert derived == ["c2"]
    for cert_id in ("c1", "c2"):
        cert = fold.certs[cert_id]
        facts = CertificationFacts.model_validate(cert.facts)
        expected = score(facts, RuleTimeline.builtin().in_force(cert.started_at)).model_dump_json()
        assert cert.result_json == expected
        assert cert.seq == 2
