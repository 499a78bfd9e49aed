"""Each rule the ledger enforces: the fact is refused with the rule's error, and nothing
of the batch is appended. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from commands.bootstrap import open_ledger
from commands.recording import BatchRejected
from ledger import errors as E
from ledger.events import load_event
from tests.builders import JURY, PROFILE, Scenario, events


@pytest.fixture
def ledger(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        yield ledger


def refused(ledger, lines, code: str, *, field: str | None = None, line: int | None = None):
    """Record `lines` as one batch; assert it is refused for `code`, and nothing written."""
    before = ledger.store.max_position()
    with pytest.raises(BatchRejected) as info:
        ledger.service.record(events(lines), by="test")
    codes = [e.code for e in info.value.errors]
    assert code in codes, info.value
    err = next(e for e in info.value.errors if e.code == code)
    if field is not None:
        assert err.field == field
    if line is not None:
        assert err.line == line
    assert ledger.store.max_position() == before, "a refused batch must append nothing"
    return err


def accepted(ledger, lines):
    return ledger.service.record(events(lines), by="test")


def test_a_valid_session_is_recorded(ledger):
    s = Scenario()
    report = accepted(ledger, [s.open(), *s.full_test("c1"), s.finalise(), s.publish()])
    assert report.appended == 2 + 1 + 5 * 6 + 1 + 1


def test_nothing_is_appended_to_an_unknown_session(ledger):
    s = Scenario("nowhere")
    refused(ledger, [s.start("c1")], E.UnknownSession.code, field="session_id")


def test_nothing_is_appended_to_an_unknown_certification(ledger):
    s = Scenario()
    accepted(ledger, [s.open()])
    refused(ledger, [s.serve("ghost", "q1")], E.UnknownCertification.code, field="certification_id")
    refused(ledger, [s.answer("ghost", "q1")], E.UnknownCertification.code)


def test_a_session_is_opened_once_and_a_certification_started_once(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1")])
    refused(ledger, [s.open()], E.SessionAlreadyOpened.code)
    refused(ledger, [s.start("c1")], E.CertificationAlreadyStarted.code)


def test_an_answer_needs_its_question_served(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1")])
    refused(ledger, [s.answer("c1", "never-served")], E.QuestionNotServed.code, field="question_id")


def test_a_question_is_answered_once(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1"), s.serve("c1", "q1"), s.answer("c1", "q1")])
    refused(ledger, [s.answer("c1", "q1", "ko")], E.QuestionAlreadyAnswered.code)


def test_no_more_questions_per_competence_than_the_rules_allow(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1")] + [s.serve("c1", f"q{i}", "1.1") for i in range(3)])
    err = refused(ledger, [s.serve("c1", "q4", "1.1")], E.TooManyQuestionsForCompetence.code, field="competence")
    assert "allows 3" in err.message


def test_a_question_for_a_non_certifiable_competence_is_recorded(ledger):
    # Unusual, not impossible: scoring ignores it.
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1"), s.serve("c1", "q1", "5.2")])


def test_a_certification_needs_five_certifiable_competences(ledger):
    s = Scenario()
    profile = {"1.1": {"pix": 30}, "1.2": {"pix": 30}, "2.1": {"pix": 30}, "3.1": {"pix": 30}, "4.1": {"pix": 7}}
    accepted(ledger, [s.open()])
    err = refused(ledger, [s.start("c1", profile=profile)], E.NotEnoughCertifiableCompetences.code, field="profile")
    assert "4 certifiable" in err.message and "at least 5" in err.message


def test_a_banned_candidate_cannot_start_until_the_ban_ends(ledger, clock):
    from datetime import datetime, timezone

    s = Scenario()
    until = "2025-06-12T00:00:00+00:00"
    accepted(ledger, [s.open(), s.ruling("ban_candidate", candidate_id="cand-x", until=until)])
    refused(ledger, [s.start("c1", candidate="cand-x")], E.CandidateBanned.code, field="candidate_id")
    clock.now = datetime(2025, 7, 2, tzinfo=timezone.utc)  # (recorded once it happened)
    later = Scenario("s2", start=datetime(2025, 7, 1, tzinfo=timezone.utc))
    accepted(ledger, [later.open(), later.start("c2", candidate="cand-x")])


def test_the_jury_lifts_a_ban_and_the_candidate_may_start_again_from_then(ledger):
    """A ban recorded in error (the wrong candidate, an appeal upheld) could not be undone:
    the candidate stayed barred until its set end. `unban` ends it at its own moment."""
    s = Scenario()
    accepted(ledger, [s.open(), s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z")])
    refused(ledger, [s.start("c1", candidate="cand-x")], E.CandidateBanned.code, field="candidate_id")
    lift = s.ruling("unban", candidate_id="cand-x", comment="appeal upheld")
    accepted(ledger, [lift, s.start("c1", candidate="cand-x")])
    # Lifted once, there is no ban left to lift.
    err = refused(ledger, [s.ruling("unban", candidate_id="cand-x")], E.RulingDoesNotApply.code, field="decision")
    assert "cand-x" in err.message and "no ban" in err.message


def test_a_lifting_applies_only_to_a_ban_in_force_at_its_moment(ledger):
    s = Scenario()
    accepted(ledger, [s.open()])
    # none at all
    refused(ledger, [s.ruling("unban", candidate_id="cand-y")], E.RulingDoesNotApply.code, field="decision")
    ban = s.ruling("ban_candidate", candidate_id="cand-y", until="2030-01-01T00:00:00Z")
    # dated before the ban it would lift
    early = s.ruling("unban", candidate_id="cand-y", at="2020-01-01T00:00:00Z")
    refused(ledger, [ban, early], E.RulingDoesNotApply.code, field="decision", line=2)
    # a ban that begins later is a later decision: lifting it before it begins does nothing
    later_ban = s.ruling("ban_candidate", candidate_id="cand-z", until="2030-01-01T00:00:00Z",
                         at="2029-01-01T00:00:00Z")
    refused(ledger, [later_ban, s.ruling("unban", candidate_id="cand-z")], E.RulingDoesNotApply.code, line=2)


def test_a_ban_dated_before_a_lifting_it_would_outlast_is_refused(ledger):
    """A lifting ends every ban in force at its moment; a ban recorded after it, dated
    before it and still running at it, escaped it: the candidate stayed banned past a
    lifting the audit and the README said ended every ban then."""
    s = Scenario()
    accepted(ledger, [s.open(), s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z",
                                         at="2024-07-01T00:00:00Z"),
                      s.ruling("unban", candidate_id="cand-x", at="2024-08-01T00:00:00Z")])
    backdated = s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z",
                         at="2024-07-15T00:00:00Z")
    err = refused(ledger, [backdated], E.FactDatedOutOfOrder.code, field="at")
    assert "2024-08-01" in err.message and "lift" in err.message
    # One over before the lifting, or decided from its moment on, is a ban of its own.
    accepted(ledger, [s.ruling("ban_candidate", candidate_id="cand-x", until="2024-07-20T00:00:00Z",
                               at="2024-07-15T00:00:00Z"),
                      s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z",
                               at="2024-08-01T00:00:00Z")])
    # Spanning two liftings, it is told the last: dated from the first, it spans the other.
    accepted(ledger, [s.ruling("unban", candidate_id="cand-x", at="2024-09-01T00:00:00Z")])
    err = refused(ledger, [backdated], E.FactDatedOutOfOrder.code, field="at")
    assert "in force at 2024-09-01" in err.message, err.message


def test_a_ban_spanning_two_liftings_is_told_an_end_that_spans_neither(ledger):
    """Told "date it from that lifting on, or end it before" of the last lifting it spans,
    the jury ended it before that one and was refused again, for the first: the end that
    is accepted is the first lifting's moment."""
    s = Scenario()
    accepted(ledger, [s.open(), s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z",
                                         at="2024-07-01T00:00:00Z"),
                      s.ruling("unban", candidate_id="cand-x", at="2024-08-01T00:00:00Z"),
                      s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z",
                               at="2024-08-15T00:00:00Z"),
                      s.ruling("unban", candidate_id="cand-x", at="2024-09-01T00:00:00Z")])
    backdated = s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z",
                         at="2024-07-15T00:00:00Z")
    err = refused(ledger, [backdated], E.FactDatedOutOfOrder.code, field="at")
    assert "from that lifting on" in err.message and "end it by 2024-08-01T00:00:00+00:00" in err.message, err.message
    accepted(ledger, [{**backdated, "until": "2024-08-01T00:00:00Z"}])


def test_lifting_a_ban_takes_the_full_jury_and_names_its_candidate(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.ruling("ban_candidate", candidate_id="cand-x", until="2030-01-01T00:00:00Z")])
    refused(ledger, [s.ruling("unban", jury=[JURY[0]], candidate_id="cand-x")], E.JuryIncomplete.code, field="jury")
    with pytest.raises(ValidationError, match="needs candidate_id"):
        events([s.ruling("unban")])
    with pytest.raises(ValidationError, match="does not take until"):
        events([s.ruling("unban", candidate_id="cand-x", until="2031-01-01T00:00:00Z")])


def test_a_ban_ends_after_the_ruling_that_decides_it(ledger):
    """§5: a ban is for a set period; one over before it was decided did nothing, silently."""
    s = Scenario()
    accepted(ledger, [s.open()])
    ruling = s.ruling("ban_candidate", candidate_id="cand-x", until="2020-01-01T00:00:00Z")
    err = refused(ledger, [ruling], E.BanPeriodEmpty.code, field="until")
    assert "2020-01-01" in err.message
    refused(ledger, [{**ruling, "until": ruling["at"]}], E.BanPeriodEmpty.code, field="until")


def test_a_ban_needs_two_pix_and_two_external_members(ledger):
    s = Scenario()
    short = [JURY[0], JURY[2], JURY[3]]
    refused(ledger, [s.ruling("ban_candidate", jury=short, candidate_id="x", until="2025-01-01T00:00:00Z")],
            E.JuryIncomplete.code, field="jury")


def test_one_person_cannot_sit_twice_in_a_jury(ledger):
    s = Scenario()
    doubled = [JURY[0], JURY[1], {**JURY[0], "external": True}, {**JURY[1], "external": True}]
    err = refused(ledger, [s.ruling("ban_candidate", jury=doubled, candidate_id="x", until="2025-01-01T00:00:00Z")],
                  E.JuryIncomplete.code, field="jury")
    assert "pix-1" in err.message


def test_unknown_vocabulary_is_refused_with_its_field_and_nothing_appended(ledger):
    import io

    import orjson

    from commands.import_events import import_file

    s = Scenario()
    valid = [s.open(), s.start("c1"), s.serve("c1", "q1")]
    bad = [
        (s.serve("c1", "q2", "9.9"), "competence"),
        ({**s.answer("c1", "q1"), "status": "great"}, "status"),
        (s.incident("c1", "r1", "Z9"), "code"),
        (s.incident("c1", "r2", "E1"), "question_number"),  # in-challenge, without its question
        (s.ruling("hang_them", certification_id="c1"), "decision"),
    ]
    for line, field in bad:
        before = ledger.store.max_position()
        data = b"\n".join(orjson.dumps(l) for l in [*valid, line])
        with pytest.raises(BatchRejected) as info:
            import_file(ledger, io.BytesIO(data))
        [err] = info.value.errors
        assert err.line == len(valid) + 1 and err.field == field, err
        assert ledger.store.max_position() == before


def test_deprecated_incident_codes_are_refused_for_new_reports(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1")])
    refused(ledger, [s.incident("c1", "r1", "C3")], E.DeprecatedIncidentCode.code, field="code")


def test_an_in_challenge_report_needs_a_question_number():
    from pydantic import ValidationError

    s = Scenario()
    with pytest.raises(ValidationError, match="needs a question_number"):
        events([s.incident("c1", "r1", "E1")])


def test_a_report_outside_the_challenge_names_no_question():
    """A C7 report with question 3 was accepted, its number read by no rule."""
    from commands.interchange import parse_line
    from commands.recording import LineError

    s = Scenario()
    problem = parse_line(2, orjson.dumps({**s.incident("c1", "r1", "C7"), "question_number": 3}))
    assert isinstance(problem, LineError) and problem.field == "question_number", problem
    assert "C7 is not in-challenge and takes no question_number" in problem.message
    assert not isinstance(parse_line(2, orjson.dumps(s.incident("c1", "r1", "C7"))), LineError)
    # A stored report is read back as it was accepted.
    assert load_event("IncidentReported", {**s.incident("c1", "r1", "C7"), "question_number": 3}).question_number == 3


def test_finalisation_needs_an_abort_reason_for_each_certification_not_completed(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("done"), s.start("left"), s.start("cut")])
    err = refused(ledger, [s.finalise({"left": "candidate"})], E.AbortReasonMissing.code, field="abort_reasons")
    assert "cut" in err.message and "left" not in err.message
    accepted(ledger, [s.finalise({"left": "candidate", "cut": "technical"})])


def test_a_finalisation_missing_many_abort_reasons_names_the_first_and_counts_the_others(ledger):
    """Every id was named: a session of 5,000 unfinished certifications made each refused
    finalisation's message 100 KB (3 MB for a batch's 50 listed refusals)."""
    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("done"), *(s.start(f"left-{n:02}") for n in range(25))])
    err = refused(ledger, [s.finalise()], E.AbortReasonMissing.code, field="abort_reasons")
    assert "left-00" in err.message and "left-19" in err.message and "left-20" not in err.message
    assert err.message.endswith(" and 5 more")


def test_an_abort_reason_must_name_an_uncompleted_certification_of_the_session(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("done")])
    refused(ledger, [s.finalise({"done": "technical"})], E.AbortReasonNotApplicable.code)
    refused(ledger, [s.finalise({"elsewhere": "technical"})], E.AbortReasonNotApplicable.code)


def test_finalisation_is_refused_twice_and_without_certifications(ledger):
    s = Scenario()
    accepted(ledger, [s.open()])
    refused(ledger, [s.finalise()], E.NoCertificationStarted.code)
    accepted(ledger, [*s.full_test("c1"), s.finalise()])
    refused(ledger, [s.finalise()], E.SessionAlreadyFinalised.code)


def test_after_finalisation_only_jury_decisions_and_publication_are_accepted(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1"), s.serve("c1", "q1"), s.finalise({"c1": "technical"})])
    refused(ledger, [s.answer("c1", "q1")], E.SessionFinalisedRefusesFact.code)
    refused(ledger, [s.serve("c1", "q2", "1.2")], E.SessionFinalisedRefusesFact.code)
    refused(ledger, [s.incident("c1", "r1", "C7")], E.SessionFinalisedRefusesFact.code)
    refused(ledger, [s.start("c2")], E.SessionFinalisedRefusesFact.code)
    accepted(ledger, [
        s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-1", reason="jury"),
        s.ruling("cancel", certification_id="c1"),
        s.publish(),
    ])


def test_the_jury_decides_on_a_certification_once_its_session_is_finalised(ledger):
    """§5: created → finalised by the centre → processed by the jury. A neutralisation or
    a ruling on a certification whose test may still go on was recorded, and an as-of or
    an audit showed the jury deciding before the session was over; one dated before the
    finalisation it follows is as impossible. A ban and a general comment name no
    certification, and are judged as before."""
    s = Scenario()
    test = [s.open(), s.start("c1"), s.serve("c1", "q1"), s.answer("c1", "q1"), s.incident("c1", "r1", "C7")]
    answered = test[3]
    accepted(ledger, test)
    jury_lines = [
        s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-1", reason="jury"),
        s.line("QuestionDeneutralised", certification_id="c1", question_id="q1", by="pix-1"),
        s.ruling("reject_for_fraud", certification_id="c1"),
        s.ruling("cancel", certification_id="c1"),
        s.ruling("resolve_incident", certification_id="c1", report_id="r1", jury=[JURY[0]], resolution="no effect"),
        s.ruling("comment", certification_id="c1", jury=[JURY[0]], comment="seen"),
    ]
    for line in jury_lines:
        err = refused(ledger, [line], E.SessionNotFinalised.code, field="certification_id")
        assert "session s1 is not finalised" in err.message and "c1" in err.message
    accepted(ledger, [s.ruling("comment", jury=[JURY[0]], comment="a general comment"),
                      s.ruling("ban_candidate", candidate_id="cand-c1", until="2099-01-01T00:00:00+00:00")])
    final = s.finalise({"c1": "technical"})
    accepted(ledger, [final])
    for line in jury_lines:
        err = refused(ledger, [{**line, "at": answered["at"]}], E.FactDatedOutOfOrder.code, field="at")
        assert "before session s1 was finalised" in err.message
    # The finalisation's own instant is no earlier.
    accepted(ledger, [{**line, "at": final["at"]} for line in jury_lines])


def test_fraud_rejection_of_a_published_result_needs_unpublishing_first(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1"), s.finalise(), s.publish()])
    refused(ledger, [s.ruling("reject_for_fraud", certification_id="c1")], E.PublishedResultNeedsUnpublishing.code)
    accepted(ledger, [s.unpublish(), s.ruling("reject_for_fraud", certification_id="c1"), s.publish()])


def test_publication_needs_finalisation(ledger):
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1")])
    refused(ledger, [s.publish()], E.SessionNotFinalised.code)


def test_an_unpublication_is_not_dated_before_the_publication_it_lifts_nor_the_other_way_round(ledger):
    """A withdrawal dated before the publication it withdraws was recorded: the audit and
    the export showed the results withdrawn before they were published."""
    from datetime import datetime, timedelta

    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1"), s.finalise()])
    published = s.publish()
    accepted(ledger, [published])
    a_second_before = (datetime.fromisoformat(published["at"]) - timedelta(seconds=1)).isoformat()  # (finalised)
    err = refused(ledger, [{**s.unpublish(), "at": a_second_before}], E.FactDatedOutOfOrder.code, field="at", line=1)
    assert "before the publication of session s1" in err.message
    unpublished = s.unpublish()
    accepted(ledger, [{**unpublished, "at": published["at"]}])  # (the same instant is no earlier)
    err = refused(ledger, [{**s.publish(), "at": a_second_before}], E.FactDatedOutOfOrder.code, field="at")
    assert "before the unpublication of session s1" in err.message
    accepted(ledger, [s.publish()])


def test_a_jury_decision_is_not_dated_before_the_one_it_lifts_nor_the_other_way_round(ledger):
    """A de-neutralisation dated before the neutralisation it withdraws, or a ruling lifting
    a fraud rejection (or a cancellation) dated before that ruling, was recorded: the audit
    said a decision was lifted days before it was taken."""
    from datetime import datetime, timedelta

    def earlier(line: dict) -> str:
        return (datetime.fromisoformat(line["at"]) - timedelta(seconds=1)).isoformat()

    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1"), s.finalise()])
    neutralised = s.line("QuestionNeutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-1")
    accepted(ledger, [neutralised])
    deneutralised = s.line("QuestionDeneutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-2")
    err = refused(ledger, [{**deneutralised, "at": earlier(neutralised)}], E.FactDatedOutOfOrder.code, field="at")
    assert "before the neutralisation of question c1-1.1-0 of c1 it withdraws" in err.message
    accepted(ledger, [{**deneutralised, "at": neutralised["at"]}])  # (the same instant is no earlier)
    again = s.line("QuestionNeutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-1")
    err = refused(ledger, [{**again, "at": earlier(neutralised)}], E.FactDatedOutOfOrder.code, field="at")
    assert "before the de-neutralisation of question c1-1.1-0 of c1 it follows" in err.message
    for decision, lifting in (("reject_for_fraud", "unreject"), ("cancel", "uncancel")):
        taken = s.ruling(decision, certification_id="c1")
        accepted(ledger, [taken])
        lifted = s.ruling(lifting, certification_id="c1")
        err = refused(ledger, [{**lifted, "at": earlier(taken)}], E.FactDatedOutOfOrder.code, field="at")
        assert f"before the ruling {taken['ruling_id']} ({decision}) of c1 it lifts" in err.message
        accepted(ledger, [lifted])
        err = refused(ledger, [{**s.ruling(decision, certification_id="c1"), "at": earlier(lifted)}],
                      E.FactDatedOutOfOrder.code, field="at")
        assert f"before the ruling {lifted['ruling_id']} ({lifting}) of c1 it follows" in err.message


def test_a_rule_version_needs_a_full_jury_and_a_valid_document(ledger):
    s = Scenario()
    doc = {"version": "jury-x", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00Z",
           "max_reachable_level": 6}
    line = s.line("RuleVersionChanged", version="jury-x", effective_from="2024-06-01T00:00:00Z", rules=doc,
                  jury=JURY[:3], reason="test")
    refused(ledger, [line], E.JuryIncomplete.code, field="jury")
    bad_doc = {**doc, "max_reachable_level": "six", "colour": "blue"}
    line = s.line("RuleVersionChanged", version="jury-x", effective_from="2024-06-01T00:00:00Z", rules=bad_doc,
                  jury=JURY, reason="test")
    err = refused(ledger, [line], E.RuleDocumentRefused.code)
    assert "max_reachable_level" in err.message and "colour" in err.message
    assert err.field in ("rules.max_reachable_level", "rules.colour")  # the first problem's path
    assert err.message.count("invalid") == 1, err.message  # was "… is invalid: invalid rule document: …"
    # Recorded documents are judged as written: a boolean or a string is not a count,
    # though the lenient reading of stored documents would take `true` as 1.
    for loose in ({"max_reachable_level": True}, {"max_reachable_level": "6"}, {"pix_per_level": 8.0}):
        line = s.line("RuleVersionChanged", version="jury-x", effective_from="2024-06-01T00:00:00Z",
                      rules={**doc, **loose}, jury=JURY, reason="test")
        err = refused(ledger, [line], E.RuleDocumentRefused.code, field=f"rules.{next(iter(loose))}")
        assert "valid integer" in err.message, (loose, err.message)
    good = s.line("RuleVersionChanged", version="jury-x", effective_from="2024-06-01T00:00:00Z", rules=doc,
                  jury=JURY, reason="test")
    accepted(ledger, [good])
    refused(ledger, [{**good, "event_id": "another"}], E.RuleVersionAlreadyExists.code)


@pytest.mark.parametrize("written", ["2024-06-01t00:00:00z", "2024-06-01 00:00:00Z", "2024-06-01T02:00:00+02:00"])
def test_a_rule_documents_date_in_another_rfc_3339_form_than_its_lines_is_judged_as_the_same_instant(ledger, written):
    """RFC 3339 allows a lower-case `t` and `z` (and a space): such a document passed `rules
    check`, and recording it broke the import with a traceback (a 500 over HTTP), its date
    compared by a parser that knew only `Z`."""
    s = Scenario()
    doc = {"version": "jury-x", "extends": "pix-v2-2024-05", "effective_from": written, "max_reachable_level": 6}
    line = s.line("RuleVersionChanged", version="jury-x", effective_from="2024-06-01T00:00:00Z", rules=doc,
                  jury=JURY, reason="test")
    assert accepted(ledger, [line]).appended == 1
    other = s.line("RuleVersionChanged", version="jury-y", effective_from="2024-06-01T00:00:00Z",
                   rules={**doc, "version": "jury-y", "effective_from": "2024-06-01t00:00:01z"}, jury=JURY)
    refused(ledger, [other], E.RuleDocumentRefused.code, field="rules.effective_from")


def test_one_bad_fact_refuses_the_whole_batch_and_names_its_line(ledger):
    s = Scenario()
    lines = [s.open(), s.start("c1"), s.serve("c1", "q1"), s.answer("c1", "q2"), s.answer("c1", "q1")]
    refused(ledger, lines, E.QuestionNotServed.code, line=4)
    assert ledger.store.read_stream("session:s1") == []


def test_the_same_event_id_with_other_content_is_refused(ledger):
    s = Scenario()
    opened = s.open()
    accepted(ledger, [opened])
    assert accepted(ledger, [opened]).skipped == 1
    err = refused(ledger, [{**opened, "centre_id": "other"}], E.EventIdConflict.code, field="event_id")
    assert "it is already recorded with different content" in err.message
    # Twice in one refused batch, nothing is recorded: the message says where the other is.
    later = s.start("c1")
    err = refused(ledger, [later, {**later, "candidate_id": "someone-else"}], E.EventIdConflict.code, line=2)
    assert "an earlier line of this batch has it" in err.message and "already recorded" not in err.message
    ruling = s.line("JuryRuling", ruling_id="r-twice", decision="comment", comment="first", jury=JURY)
    err = refused(ledger, [ruling, {**ruling, "event_id": "other", "comment": "second"}], E.RulingIdConflict.code,
                  line=2)
    assert "an earlier line of this batch has it" in err.message and "already recorded" not in err.message


def test_the_jury_may_deneutralise_any_served_question_once_per_last_word(ledger):
    """§4: the jury can de-neutralise a question whoever neutralised it (here a technical
    abort did); only repeating its own last word is refused."""
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1"), s.serve("c1", "q1"), s.finalise({"c1": "technical"})])
    deneutralise = lambda: s.line("QuestionDeneutralised", certification_id="c1", question_id="q1", by="pix-1")  # noqa: E731
    accepted(ledger, [deneutralise()])
    refused(ledger, [deneutralise()], E.QuestionAlreadyDeneutralised.code, field="question_id")
    accepted(ledger, [s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-2")])
    refused(ledger, [s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-2")],
            E.QuestionAlreadyNeutralised.code, field="question_id")
    accepted(ledger, [deneutralise()])
    refused(ledger, [s.line("QuestionDeneutralised", certification_id="c1", question_id="q9", by="pix-1")],
            E.QuestionNotServed.code, field="question_id")


def test_a_profile_is_on_the_framework_scale(ledger):
    """§1-§2: 64 pix at most per competence, the estimated level floor(pix / 8). A pix
    written "48" or 48.0 is refused where a line is recorded (it is judged as written);
    stored by an earlier version that took it, it is read back as that integer."""
    s = Scenario()
    accepted(ledger, [s.open()])
    refused(ledger, [s.start("c1", profile={**PROFILE, "3.1": {"pix": 0, "level": 4}})], E.ProfileOffScale.code,
            field="profile.3.1.level")
    refused(ledger, [s.start("c1", profile={**PROFILE, "1.1": {"pix": 70}})], E.ProfileOffScale.code,
            field="profile.1.1.pix")
    # Every competence off scale is named, not the first only.
    err = refused(ledger, [s.start("c1", profile={**PROFILE, "1.1": {"pix": 70}, "3.1": {"pix": 0, "level": 4}})],
                  E.ProfileOffScale.code, field="profile.1.1.pix")
    assert "competence 1.1" in err.message and "competence 3.1" in err.message
    for loose in ({"pix": "48"}, {"pix": 40.0, "level": 5}):
        with pytest.raises(ValidationError, match="valid integer"):
            events([s.start("c1", profile={**PROFILE, "1.1": loose})])
    stored = load_event("CertificationStarted", s.start("c1", profile={**PROFILE, "1.1": {"pix": "48"},
                                                                         "1.2": {"pix": 40.0, "level": 5}}))
    assert (stored.profile["1.1"].pix, stored.profile["1.1"].level) == (48, 6)
    assert (stored.profile["1.2"].pix, stored.profile["1.2"].level) == (40, 5)


@pytest.mark.parametrize("line", [
    lambda s: {**s.open(), "centre_id": "centre\x00"},
    lambda s: {**s.open(), "session_id": "s\x00"},
    lambda s: {**s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-1"), "reason": "why\x00"},
    lambda s: s.line("RuleVersionChanged", version="v", effective_from="2024-06-01T00:00:00Z",
                     rules={"extends": "pix-v2-2024-05", "level_table": [{"meaning": "\x00"}]}, jury=JURY),
], ids=["an id", "a stream's id", "free text", "inside a rule document"])
def test_the_nul_character_is_refused_in_any_text(line):
    """PostgreSQL's text cannot hold U+0000: such a line was stored, then broke every read."""
    with pytest.raises(ValueError, match="NUL"):
        events([line(Scenario())])


def test_an_instant_outside_utc_years_is_refused():
    s = Scenario()
    with pytest.raises(ValueError, match="outside the years"):
        events([{**s.open(), "at": "9999-12-31T23:30:00-05:00"}])
    with pytest.raises(ValueError, match="outside the years"):
        events([{**s.open(), "at": "0001-01-01T00:30:00+01:00"}])


@pytest.mark.parametrize("decision", ["reject_for_fraud", "cancel"])
def test_a_ruling_on_a_status_needs_the_full_jury_and_any_ruling_names_its_members(ledger, decision):
    """§5: the jury (2 Pix and 2 external members, the reference's opening) decides fraud and cancellation; a
    ruling with no jury at all was accepted and rejected a certification."""
    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1"), s.incident("c1", "r1", "C7"), s.finalise()])
    refused(ledger, [s.ruling(decision, jury=[], certification_id="c1")], E.JuryIncomplete.code, field="jury")
    refused(ledger, [s.ruling(decision, jury=JURY[:1], certification_id="c1")], E.JuryIncomplete.code, field="jury")
    refused(ledger, [s.ruling("resolve_incident", jury=[], certification_id="c1", report_id="r1",
                              resolution="no effect")], E.JuryIncomplete.code, field="jury")
    accepted(ledger, [s.ruling("resolve_incident", jury=JURY[:1], certification_id="c1", report_id="r1",
                               resolution="no effect")])
    accepted(ledger, [s.ruling(decision, certification_id="c1")])


def test_a_fact_is_not_dated_before_what_it_follows(ledger):
    """A start dated before its session opened chose an older rule version (and could
    slip under a ban); a certification's fact dated before its start is as impossible,
    as is an answer before its question, or a completion or a finalisation before the
    test's last question or answer.
    (A finalisation may be dated before reports recorded ahead of it: the example
    session's fraud report was written up after the session it was reported in; not
    before the last start, question, answer or completion of its certifications.)"""
    s = Scenario()
    opened = s.open()
    accepted(ledger, [opened])
    refused(ledger, [{**s.start("c1"), "at": "2019-03-01T08:00:00+00:00"}], E.FactDatedOutOfOrder.code, field="at")
    start = s.start("c1")
    accepted(ledger, [start, s.serve("c1", "q1")])
    refused(ledger, [{**s.answer("c1", "q1"), "at": opened["at"]}], E.FactDatedOutOfOrder.code, field="at")
    refused(ledger, [{**s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-1"),
                      "at": opened["at"]}], E.FactDatedOutOfOrder.code, field="at")
    # An answer is no earlier than its question's serving (the same instant is no earlier).
    served = s.serve("c1", "q1")["at"]
    err = refused(ledger, [{**s.answer("c1", "q1"), "at": start["at"]}], E.FactDatedOutOfOrder.code, field="at")
    assert "before question q1 was served" in err.message
    answer = {**s.answer("c1", "q1"), "at": served}
    accepted(ledger, [answer, s.serve("c1", "q2")])
    late = s.answer("c1", "q2")["at"]
    accepted(ledger, [{**s.answer("c1", "q2"), "at": late}])
    # A completion is no earlier than the test's last question served or answer.
    err = refused(ledger, [{**s.complete("c1"), "at": served}], E.FactDatedOutOfOrder.code, field="at")
    assert "before the last question or answer of c1" in err.message
    # A finalisation is no earlier than its certifications' tests (one dated 2020 of a
    # session opened in 2024 was accepted; one before the answers too), a publication no
    # earlier than the finalisation.
    refused(ledger, [{**s.finalise({"c1": "candidate"}), "at": opened["at"]}], E.FactDatedOutOfOrder.code,
            field="at")
    refused(ledger, [{**s.finalise({"c1": "candidate"}), "at": start["at"]}], E.FactDatedOutOfOrder.code,
            field="at")
    final = {**s.finalise({"c1": "candidate"}), "at": late}
    accepted(ledger, [final])
    refused(ledger, [{**s.publish(), "at": opened["at"]}], E.FactDatedOutOfOrder.code, field="at")
    accepted(ledger, [{**s.publish(), "at": final["at"]}])


def test_lines_about_a_refused_start_are_counted_on_it_not_listed(ledger):
    """One bad start made every later line of its certification 'never started': those
    filled the report and hid a real problem after them."""
    import io

    import orjson

    from commands.import_events import import_file

    s = Scenario()
    c1 = s.full_test("c1")
    c1[0] = {**c1[0], "profile": {"1.1": {"pix": "many"}}}  # refused when parsed
    c2 = s.full_test("c2")
    c2[0] = {**c2[0], "at": "2019-01-01T00:00:00+00:00"}  # refused when judged: before the session opened
    lines = [s.open(), *c1, *c2, s.serve("c9", "q1"), s.answer("ghost", "q1")]
    before = ledger.store.max_position()
    data = b"\n".join(orjson.dumps(line) for line in lines)
    with pytest.raises(BatchRejected) as info:
        import_file(ledger, io.BytesIO(b"\xef\xbb\xbf" + data))  # a byte-order mark is not a problem
    errors = info.value.errors
    assert [(e.line, e.field) for e in errors] == [
        (2, "profile.1.1.pix"), (2 + len(c1), "at"), (len(lines) - 1, "certification_id"), (len(lines), "certification_id")]
    assert errors[0].followers == len(c1) - 1 and errors[1].followers == len(c2) - 1
    assert f"{len(c1) - 1} later line(s) about certification c1 are refused with it" in str(errors[0])
    assert ledger.store.max_position() == before


def test_a_line_is_judged_as_its_json_is_written_and_a_missing_field_is_named():
    """A jury member's "external": "no" or 1 was taken as a boolean, towards a full jury;
    a ruling missing the field its decision needs was refused with no field named."""
    from commands.interchange import parse_line
    from commands.recording import LineError

    s = Scenario()
    members = [{**m, "external": value} for m, value in zip(JURY, (False, False, "yes", 1))]
    cases = [
        (s.line("JuryRuling", ruling_id="r1", decision="cancel", certification_id="c1", jury=members),
         "jury.2.external"),
        ({**s.serve("c1", "q1"), "has_image": "yes"}, "has_image"),
        (s.line("JuryRuling", ruling_id="r2", decision="ban_candidate", candidate_id="k", jury=JURY), "until"),
        (s.line("JuryRuling", ruling_id="r3", decision="resolve_incident", certification_id="c1", jury=JURY),
         "report_id"),
        # pydantic read these as instants: a "_" for the "T", no seconds, nanoseconds cut.
        ({**s.open(), "at": "2024-06-12_08:00:00Z"}, "at"),
        ({**s.open(), "at": "2024-06-12T08:00Z"}, "at"),
        ({**s.open(), "at": "2024-06-12T08:00:00.1234567Z"}, "at"),
        # Python read "+12:75" as +13:15; RFC 3339's offset minutes run to 59, its hours to 23.
        ({**s.open(), "at": "2024-06-12T08:00:00+12:75"}, "at"),
        ({**s.open(), "at": "2024-06-12T08:00:00+24:00"}, "at"),
        # Ids written but never read back: "/" in an id the API's paths name; "s1 " beside "s1".
        ({**s.open(), "session_id": "sess/slash"}, "session_id"),
        ({**s.start("c1"), "certification_id": " c1"}, "certification_id"),
        ({**s.serve("c1", "q1"), "question_id": "q1 "}, "question_id"),
    ]
    for line, field in cases:
        problem = parse_line(7, orjson.dumps(line))
        assert isinstance(problem, LineError) and (problem.line, problem.field) == (7, field), (line, problem)
        if field == "at":
            assert "an RFC 3339 instant with its offset is expected" in problem.message, problem
        if line.get("at", "").endswith(("+12:75", "+24:00")):  # named, not in Python's timedelta terms
            assert f"the offset {line['at'][-6:]} is not one" in problem.message and "timedelta" not in problem.message
    # A stored line is read back as it was accepted, whatever form an earlier version took.
    assert load_event("SessionOpened", {**s.open(), "at": "2024-06-12T08:00Z"}).at.minute == 0
    for fine in ("2024-06-12T08:00:00Z", "2024-06-12t08:00:00z", "2024-06-12 10:00:00+02:00", "2024-06-12T08:00:00.5Z",
                 "2024-06-12T08:00:00-23:59", "2024-06-12T08:00:00+14:00"):
        assert not isinstance(parse_line(1, orjson.dumps({**s.open(), "at": fine})), LineError), fine
    assert not isinstance(parse_line(1, orjson.dumps({**s.serve("c1", "q/1 a")})), LineError)  # not a path's id
    assert load_event("SessionOpened", {**s.open(), "session_id": "old/ id "}).session_id == "old/ id "
    # A line without its type is told so (import and the API alike), not "unknown event type None".
    for untyped_line in ({k: v for k, v in s.open().items() if k != "type"}, {**s.open(), "type": None}):
        untyped = parse_line(3, orjson.dumps(untyped_line))
        assert (untyped.field, untyped.code) == ("type", "missing-type") and "type is missing" in untyped.message


def test_a_ruling_is_refused_a_field_its_decision_does_not_take():
    """A fraud rejection carrying `until` was recorded and banned no one, silently; a ban
    naming a certification, or a comment a candidate, kept the name nowhere."""
    from commands.interchange import parse_line
    from commands.recording import LineError

    s = Scenario()
    cases = [
        (s.line("JuryRuling", ruling_id="r1", decision="reject_for_fraud", certification_id="c1", jury=JURY,
                until="2025-06-21T00:00:00+02:00"), "until", "it takes certification_id"),
        (s.line("JuryRuling", ruling_id="r2", decision="ban_candidate", candidate_id="k", jury=JURY,
                until="2025-06-21T00:00:00Z", certification_id="c1", report_id="x"),
         "certification_id", "it takes candidate_id, until"),
        (s.line("JuryRuling", ruling_id="r3", decision="comment", candidate_id="k", jury=JURY),
         "candidate_id", "it takes certification_id"),
        (s.line("JuryRuling", ruling_id="r4", decision="cancel", certification_id="c1", jury=JURY,
                resolution="neutralised"), "resolution", "it takes certification_id"),
        (s.line("JuryRuling", ruling_id="r7", decision="unreject", certification_id="c1", jury=JURY,
                until="2025-06-21T00:00:00Z"), "until", "an unreject ruling"),
    ]
    for line, field, takes in cases:
        problem = parse_line(4, orjson.dumps(line))
        assert isinstance(problem, LineError) and (problem.line, problem.field) == (4, field), (line, problem)
        assert f"ruling does not take {field}" in problem.message and takes in problem.message, problem
    fine = [s.line("JuryRuling", ruling_id="r5", decision="resolve_incident", certification_id="c1", jury=JURY,
                   report_id="i1", resolution="neutralised"),
            s.line("JuryRuling", ruling_id="r6", decision="comment", jury=JURY)]
    for line in fine:
        assert not isinstance(parse_line(1, orjson.dumps(line)), LineError), line
    # A stored ruling is read back as it was accepted.
    assert load_event("JuryRuling", cases[0][0]).until is not None


def test_a_finalisation_cannot_miss_a_certification_started_by_another_writer_meanwhile(ledger):
    """A start writes the certification's stream, not the session's: a finalisation judged
    before it and written after it finalised the session without it, leaving a
    certification neither completed nor given an abort reason (a helper's race, with
    several API workers, or an import beside the API)."""
    from commands.recording import StateCache, _UnitOfWork
    from storage.errors import StreamVersionConflict

    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1")])
    service = ledger.service
    finalising = _UnitOfWork(ledger.store, StateCache(), service.clock(), "writer-1")
    service._judge_all(finalising, events([s.finalise()]), first_line=1)  # judged: c1 only, completed
    accepted(ledger, [s.start("c2")])  # another writer, meanwhile
    with pytest.raises(StreamVersionConflict, match="members:s1"):
        with ledger.store.writer() as w:
            w.write(finalising.records, expect=finalising.read_only_versions())
    # Judged again, as the service does after a conflict: c2 needs its abort reason.
    refused(ledger, [s.finalise()], E.AbortReasonMissing.code, field="abort_reasons")
    accepted(ledger, [s.finalise({"c2": "candidate"})])


def test_a_stream_read_and_not_written_that_moved_refuses_the_whole_write(ledger):
    """A start reads its session's stream without writing it: if the session was
    finalised meanwhile, the write is refused whole, naming that stream."""
    from commands.recording import StateCache, _UnitOfWork
    from storage.errors import StreamVersionConflict

    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1")])
    starting = _UnitOfWork(ledger.store, StateCache(), ledger.service.clock(), "writer-1")
    ledger.service._judge_all(starting, events([s.start("c2")]), first_line=1)
    assert "session:s1" in starting.read_only_versions()
    accepted(ledger, [s.finalise()])  # another writer, meanwhile
    before = ledger.store.max_position()
    with pytest.raises(StreamVersionConflict, match="moved meanwhile: .*session:s1"):
        with ledger.store.writer() as w:
            w.write(starting.records, expect=starting.read_only_versions(), last=True)
    assert ledger.store.max_position() == before
    # Unmoved, the same write goes through.
    fresh = _UnitOfWork(ledger.store, StateCache(), ledger.service.clock(), "writer-1")
    t = Scenario("s2")
    accepted(ledger, [t.open()])
    ledger.service._judge_all(fresh, events([t.start("d1")]), first_line=1)
    with ledger.store.writer() as w:
        w.write(fresh.records, expect=fresh.read_only_versions(), last=True)
    assert ledger.store.max_position() > before


def test_both_backends_check_what_a_write_was_judged_against_alike(ledger):
    """PostgreSQL checks on the server (`certledger_expect`), SQLite in Python: the same
    keys refused, in the same words, whether the write appends events or none."""
    from storage.errors import StreamVersionConflict
    from storage.store import members_key

    s = Scenario()
    accepted(ledger, [s.open(), *s.full_test("c1")])
    session_version = len(ledger.store.read_stream("session:s1"))
    as_stored = {"session:s1": session_version, members_key("s1"): 1, "session:none": 0, members_key("none"): 0}
    with ledger.store.writer() as w:
        w.write([], expect=as_stored)  # nothing moved: no refusal
    before = ledger.store.max_position()
    moved = {**as_stored, "session:s1": session_version + 1, members_key("s1"): 2, "session:none": 3}
    with pytest.raises(StreamVersionConflict) as refused_alone:
        with ledger.store.writer() as w:
            w.write([], expect=moved)
    t = Scenario("s2")
    starting = _judged(ledger, [t.open()])
    with pytest.raises(StreamVersionConflict) as refused_with_events:
        with ledger.store.writer() as w:
            w.write(starting.records, expect=moved, last=True)
    expected = "streams read by this batch moved meanwhile: members:s1, session:none, session:s1"
    assert str(refused_alone.value) == str(refused_with_events.value) == expected
    assert ledger.store.max_position() == before  # nothing of the refused write is kept


def _judged(ledger, lines):
    from commands.recording import StateCache, _UnitOfWork

    uow = _UnitOfWork(ledger.store, StateCache(), ledger.service.clock(), "writer-1")
    ledger.service._judge_all(uow, events(lines), first_line=1)
    return uow


def test_a_key_written_twice_in_one_object_refuses_its_line(ledger):
    """`{"session_id": "a", "session_id": "b"}` was recorded as session b: a reader that
    keeps the first value would read another fact from the same file."""
    from commands.interchange import parse_line, parse_lines
    from commands.recording import LineError

    s = Scenario()
    opened = orjson.dumps(s.open())
    twice = opened[:-1] + b',"session_id":"another"}'
    problem = parse_line(4, twice)
    assert isinstance(problem, LineError) and (problem.line, problem.field, problem.code) == (
        4, "session_id", "repeated-key")
    assert "'session_id' is written twice" in problem.message
    # Nested: a jury member written with two ids; spaced out as a person writes it.
    ruling = s.line("JuryRuling", ruling_id="r1", decision="cancel", certification_id="c1", jury=JURY)
    text = orjson.dumps(ruling, option=orjson.OPT_INDENT_2).replace(
        b'"member_id": ', b'"member_id": "someone-else",\n      "member_id": ', 1)
    problem = parse_line(1, text)
    assert (problem.field, problem.code) == ("jury.0.member_id", "repeated-key") and "(in jury.0)" in problem.message
    # The same lines with each key once are facts; a repeated name across objects is no repeat.
    assert not isinstance(parse_line(1, orjson.dumps(ruling)), LineError)
    assert not isinstance(parse_line(1, orjson.dumps(ruling, option=orjson.OPT_INDENT_2)), LineError)
    start = orjson.dumps(s.start("c1"))
    assert start.count(b'"pix"') > 1 and not isinstance(parse_line(1, start), LineError)
    # In a batch: refused whole, the lines about the refused session counted on it.
    before = ledger.store.max_position()
    centre_twice = opened[:-1] + b',"centre_id":"another-centre"}'
    with pytest.raises(BatchRejected) as refused:
        ledger.service.record_stream(parse_lines([centre_twice, start]), by="test")
    [error] = refused.value.errors
    assert (error.line, error.field, error.code, error.followers) == (1, "centre_id", "repeated-key", 1)
    assert ledger.store.max_position() == before


def test_a_fact_dated_more_than_a_day_after_its_recording_is_refused(ledger, clock):
    """`2204` typed for `2024` was recorded for good: a session opened two centuries
    ahead, its results published today. A fact is what has happened; a day covers the
    centres' and the jury's clocks, and a time zone written wrong."""
    from datetime import timedelta

    ahead = Scenario("ahead", start=clock.now + timedelta(days=1, seconds=-5))  # its first line: 1 day + 5 s ahead
    err = refused(ledger, [ahead.open()], E.FactDatedAhead.code, field="at", line=1)
    assert "more than a day after the ledger records it" in err.message
    typo = Scenario("typo", start=clock.now.replace(year=2204))
    refused(ledger, [typo.open()], E.FactDatedAhead.code, field="at")
    within = Scenario("within", start=clock.now + timedelta(hours=23))  # a clock ahead, a zone written wrong
    accepted(ledger, [within.open(), within.start("w1")])
    clock.advance(days=2)  # recorded once it has happened, the same date is a fact
    accepted(ledger, [ahead.open()])


def test_an_integer_beyond_64_bits_refuses_its_line_not_the_import(ledger):
    """A line is read as any size of integer, the ledger's codec writes 64 bits: a pix of
    10**30 on a line with an event_id broke `import` with a traceback (and POST /events
    with a 500) as the line was digested; in a rule document alike."""
    from commands.interchange import parse_lines

    s = Scenario()
    opened = orjson.dumps(s.open())
    huge = b"1" + b"0" * 30
    start = orjson.dumps(s.start("c1")).replace(b'"1.2":{"pix":30}', b'"1.2":{"pix":' + huge + b"}")
    stated = orjson.dumps(s.start("c2")).replace(b'"1.2":{"pix":30}', b'"1.2":{"pix":30,"level":' + huge + b"}")
    rule = orjson.dumps(s.line("RuleVersionChanged", version="v-huge", effective_from="2024-06-01T00:00:00Z",
                               rules={"extends": "pix-v2-2024-05", "max_reachable_level": 6}, jury=JURY))
    rule = rule.replace(b'"max_reachable_level":6', b'"max_reachable_level":' + huge)
    before = ledger.store.max_position()
    with pytest.raises(BatchRejected) as refused:
        ledger.service.record_stream(parse_lines([opened, start, stated, rule]), by="test")
    assert [(e.line, e.field, e.code) for e in refused.value.errors] == [
        (2, "profile.1.2.pix", "invalid-field"), (3, "profile.1.2.level", "invalid-field"),
        (4, "rules", "invalid-field")]
    assert all("beyond 64 bits" in e.message for e in refused.value.errors)
    assert ledger.store.max_position() == before
    # At the bound, a number the ledger holds: judged by the ledger's rules as any other.
    at_bound = orjson.dumps(s.start("c3")).replace(b'"1.2":{"pix":30}', b'"1.2":{"pix":%d}' % (2**64 - 1))
    with pytest.raises(BatchRejected) as refused:
        ledger.service.record_stream(parse_lines([opened, at_bound]), by="test")
    assert [(e.line, e.code) for e in refused.value.errors] == [(2, E.ProfileOffScale.code)]


def test_a_format_that_reads_as_the_weighed_one_is_written_as_it(ledger):
    """A QROCM-dep written "qrocm-dep" was taken as another format, weighed 1 without a
    word (found by a fuzzing review); other formats stay free text."""
    s = Scenario()
    accepted(ledger, [s.open(), s.start("c1")])
    for misspelt in ("qrocm-dep", "QROCM dep", "QROCM_DEP", "QROCMdep"):
        err = refused(ledger, [s.serve("c1", f"q-{misspelt}", "1.1", format=misspelt)], E.FormatMisspelt.code,
                      field="format")
        assert "write 'QROCM-dep'" in err.message, err.message
    accepted(ledger, [s.serve("c1", "q1", "1.1", format="QROCM-dep"), s.serve("c1", "q2", "1.1", format="qcm"),
                      s.serve("c1", "q3", "1.1", format="a new modality")])


def test_a_misspelt_format_is_told_the_weighing_of_the_version_in_force(ledger):
    """Rules are data: the refusal named a weight of 2 and competences of fewer than 3
    questions whatever the version in force weighed."""
    s = Scenario()
    doc = {"version": "jury-w", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00Z",
           "questions_per_competence": 4, "qrocm_dep": {"weight": 3}}
    accepted(ledger, [s.line("RuleVersionChanged", version="jury-w", effective_from="2024-06-01T00:00:00Z",
                             rules=doc, jury=JURY, reason="test"), s.open(), s.start("c1")])
    err = refused(ledger, [s.serve("c1", "q1", "1.1", format="qrocm dep")], E.FormatMisspelt.code, field="format")
    assert "weighs 3 in a competence of fewer than 4 questions" in err.message, err.message
