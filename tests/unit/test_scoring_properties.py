"""Properties of scoring over generated certifications (hypothesis).

The strategy writes a certification's events as the ledger would accept them: 5 to 16
certifiable competences (and up to 2 that are not), 1 to 3 questions each (at most one
QROCM-dep, random features), answers of every status drawn with a per-candidate skill,
an end (completed, or aborted by the candidate or for a technical reason with unanswered
questions), incident reports (some naming questions that do not exist), jury
(de)neutralisations and rulings, and any built-in rule version.
"""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ledger.rules import RuleSet
from ledger.scoring import CertificationFacts, JuryQuestionDecision, Result, score
from ledger.vocabulary import COMPETENCES
from tests.unit.test_scoring_support import TIMELINE, Certification

VERSIONS = [r.version for r in TIMELINE.versions()]
WRONG = ["ko", "ko", "partially", "skipped", "timedout", "focusedOut"]
REPORT_CODES = ["E1", "E2", "E3", "E4", "E5", "E8", "E9", "E10", "E11", "E12", "E6", "C6", "C7"]
FEATURE_SETS: list[dict[str, bool]] = [
    {}, {}, {}, {"has_image": True}, {"has_embed": True}, {"has_attachment": True}, {"timed": True},
    {"focused": True}, {"has_image": True, "timed": True},
]
BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def certifications(draw: st.DrawFn) -> tuple[CertificationFacts, RuleSet]:
    codes = sorted(COMPETENCES)
    certifiable = draw(st.lists(st.sampled_from(codes), min_size=5, max_size=16, unique=True))
    others = [c for c in codes if c not in certifiable]
    not_certifiable = draw(st.lists(st.sampled_from(others), max_size=2, unique=True)) if others else []
    profile = {c: draw(st.integers(8, 64)) for c in certifiable} | {c: draw(st.integers(0, 7)) for c in not_certifiable}
    cert = Certification().start(profile)
    end = draw(st.sampled_from(["completed", "completed", "candidate", "technical"]))
    # A candidate's skill spreads the rates over every band.
    pool = ["ok"] * draw(st.integers(0, 24)) + WRONG
    answer = st.sampled_from(pool) if end == "completed" else st.none() | st.sampled_from(pool)
    served = 0
    for code in draw(st.permutations(certifiable + not_certifiable)):
        count = draw(st.sampled_from([3, 3, 3, 2, 1]))
        qrocm = draw(st.none() | st.integers(0, count - 1))  # two in one competence: a unit test's job
        for i in range(count):
            fmt = "QROCM-dep" if i == qrocm else "QCM"
            cert.question(code, draw(answer), format=fmt, **draw(st.sampled_from(FEATURE_SETS)))
            served += 1
    for code in draw(st.lists(st.sampled_from(REPORT_CODES), max_size=3)):
        cert.incident(code, draw(st.integers(1, served + 2)) if code.startswith("E") else None)
    if end == "completed":
        cert.complete()
    if end != "completed" or draw(st.booleans()):
        cert.finalise(None if end == "completed" else end)
    for number, neutralise in draw(st.lists(st.tuples(st.integers(1, served), st.booleans()), max_size=3)):
        qid = f"cert-1-q{number}"
        cert.neutralise(qid) if neutralise else cert.deneutralise(qid)
    for decision, lifted in (("reject_for_fraud", "unreject"), ("cancel", "uncancel")):
        if draw(st.integers(0, 9)) == 7:  # 0 is what hypothesis draws most
            cert.ruling(decision)
            if draw(st.booleans()):
                cert.ruling(lifted)
    return cert.facts(), TIMELINE.get(draw(st.sampled_from(VERSIONS)))  # type: ignore[return-value]


@BOUNDED
@given(certifications())
def test_scoring_is_deterministic_and_survives_a_json_round_trip(case: tuple[CertificationFacts, RuleSet]) -> None:
    facts, rules = case
    first = score(facts, rules)
    assert score(facts, rules) == first
    stored = CertificationFacts.model_validate(facts.model_dump(mode="json", exclude_defaults=True))
    assert score(stored, rules) == first


@BOUNDED
@given(certifications(), st.data())
def test_turning_a_ko_into_an_ok_never_lowers_a_level_nor_the_total(case: tuple[CertificationFacts, RuleSet], data: st.DataObject) -> None:
    # Why it holds: the rate's numerator rises and its denominator stays, or (if the ko
    # was neutralised by a report) both rise by one, so the rate never falls and the band
    # never drops; C rises (or C rises as Z falls by the same weight); and every built-in
    # table is monotone in the band and in C at fixed N, Z, and in C + Z -> C.
    facts, rules = case
    kos = [qid for qid, status in facts.answers.items() if status == "ko"]
    assume(kos)
    qid = data.draw(st.sampled_from(kos))
    before = score(facts, rules)
    after = score(facts.model_copy(update={"answers": {**facts.answers, qid: "ok"}}), rules)
    if before.error:  # unscorable (its status may be a jury cancellation): nothing to compare
        return
    assert not after.error, after.error
    for code, mark in before.competences.items():
        assert after.competences[code].level >= mark.level
    assert after.pix_score >= before.pix_score


@BOUNDED
@given(certifications(), st.data())
def test_neutralising_a_question_never_changes_another_competences_counts(case: tuple[CertificationFacts, RuleSet], data: st.DataObject) -> None:
    facts, rules = case
    question = data.draw(st.sampled_from(facts.questions))
    decision = JuryQuestionDecision(neutralised=True, by="pix-9", at=datetime(2024, 7, 1, tzinfo=timezone.utc))
    neutralised = facts.model_copy(update={"jury_decisions": {**facts.jury_decisions, question.question_id: decision}})
    before, after = score(facts, rules).explanation.competences, score(neutralised, rules).explanation.competences
    for code, explained in before.items():
        if code != question.competence:
            assert (after[code].N, after[code].C, after[code].Z) == (explained.N, explained.C, explained.Z)


def _check_explanation(facts: CertificationFacts, result: Result) -> None:
    questions = result.explanation.questions
    assert [q.question_id for q in questions] == [q.question_id for q in facts.questions]
    assert [q.number for q in questions] == list(range(1, len(facts.questions) + 1))
    for q in questions:
        assert q.fate in ("counted", "neutralised", "ignored", "unanswered")
        assert (q.fate == "neutralised") == (q.neutralised_by is not None)
        if q.fate in ("neutralised", "ignored"):
            assert q.because, q  # why it was neutralised or ignored is said
        if q.answer is None and q.fate != "ignored" and facts.abort_reason:
            assert q.because, q  # what the abort made of it is said
    assert len(result.explanation.incidents) == len(facts.incidents)


@BOUNDED
@given(certifications())
def test_the_explanation_accounts_for_every_question_served(case: tuple[CertificationFacts, RuleSet]) -> None:
    facts, rules = case
    result = score(facts, rules)
    _check_explanation(facts, result)
    assert 0 <= result.reproducibility_rate <= 100
    # A score is the sum of its marks; what cannot be scored has neither (no 0 as a guess).
    assert result.pix_score == (None if result.error else sum(m.pix for m in result.competences.values()))
    if result.status == "validated":
        assert result.pix_score > 0 and result.reasons == ()
    if result.status == "error" or result.error:
        assert result.competences == {} and result.error
    else:
        certifiable = {c for c, e in facts.profile.items() if e.level >= 1}
        assert set(result.competences) == certifiable
        assert all(m.level <= rules.max_reachable_level and m.pix <= rules.max_reachable_level * 8
                   for m in result.competences.values())
    # Each question's credit is its share of its competence's C: what a what-if of
    # `partially_credit` names question by question.
    for code, counted in result.explanation.competences.items():
        questions = [q for q in result.explanation.questions if q.competence == code and q.fate != "ignored"]
        assert all((q.credit is None) == (q.fate == "neutralised") for q in questions)
        assert min(sum(q.credit or 0 for q in questions), rules.questions_per_competence) == counted.C
