"""Abort reasons at finalisation (§5) and what cannot be scored (§3.7)."""

from __future__ import annotations

from ledger.events import AnswerRecorded, QuestionServed
from ledger.scoring import Result
from tests.unit.test_scoring_support import FILLER_COMPETENCES, Certification

LATEST = "pix-v2-2024-05"


def _stopped(abort: str | None) -> Result:
    """1.1: ok, ok, then one unanswered; fillers 12 ok; not completed."""
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.fillers(ok=12)
    cert.questions("1.1", "ok", "ok")
    cert.question("1.1")
    return cert.finalise(abort).score(LATEST)


def test_a_candidate_abort_counts_unanswered_questions_as_skipped() -> None:
    # 14 ok of 15 answered (the skip counts): 93.3 -> 93; 1.1: N3 C2 Z0, high -> V.
    result = _stopped("candidate")
    last = result.explanation.questions[-1]
    assert (last.answer, last.counted_as, last.fate) == (None, "skipped", "counted")
    assert "counted as skipped automatically" in last.because[0]
    assert result.reproducibility_rate == 93
    target = result.explanation.competences["1.1"]
    assert (target.N, target.C, target.Z, target.outcome) == (3, 2, 0, "validated")


def test_a_technical_abort_neutralises_unanswered_questions() -> None:
    # 14 of 14 answered: 100; 1.1: N3 C2 Z1 -> V.
    result = _stopped("technical")
    last = result.explanation.questions[-1]
    assert (last.fate, last.neutralised_by) == ("neutralised", "abort")
    assert result.reproducibility_rate == 100
    target = result.explanation.competences["1.1"]
    assert (target.N, target.C, target.Z) == (3, 2, 1)
    assert result.status == "validated"


def test_an_unanswered_question_without_an_abort_reason_cannot_be_scored() -> None:
    result = _stopped(None)
    assert (result.status, result.reasons) == ("error", ("QUESTION_WITHOUT_ANSWER",))
    assert result.error == "question cert-1-q15 has no answer and no abort reason"
    assert result.explanation.questions[-1].fate == "unanswered"


def test_a_running_certification_is_scored_on_what_is_there() -> None:
    # Not finalised, not completed, every served question answered: scorable.
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.questions("1.1", "ok", "ok", "ok")
    cert.fillers(ok=12)
    result = cert.score(LATEST)
    assert result.status == "validated" and not result.explanation.completed


def test_a_jury_deneutralisation_of_a_question_left_unanswered_at_a_technical_abort_does_not_answer_it() -> None:
    # §3.1: answered means an answer, or skipped automatically (a candidate's abort). The
    # technical abort neutralised it; de-neutralised, it is served and unanswered: in N
    # with no credit, outside the rate (12 ok + 2 ok of 14 answered: 100, not 14/15 = 93).
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.fillers(ok=12)
    cert.questions("1.1", "ok", "ok")
    last = cert.question("1.1")
    cert.finalise("technical")
    cert.deneutralise(last)
    result = cert.score(LATEST)
    question = result.explanation.questions[-1]
    assert (question.fate, question.counted_as, question.neutralised_by) == ("unanswered", None, None)
    assert "not skipped automatically" in question.because[-1]
    assert (result.explanation.rate.answered, result.reproducibility_rate) == (14, 100)
    target = result.explanation.competences["1.1"]
    assert (target.N, target.C, target.Z) == (3, 2, 0)
    assert result.status == "validated" and result.error is None


def _five() -> Certification:
    cert = Certification().start({code: 24 for code in ("1.1", *FILLER_COMPETENCES)})
    cert.questions("1.1", "ok", "ok", "ok")
    cert.fillers(ok=12)
    return cert


def test_two_answers_to_one_question_cannot_be_scored() -> None:
    cert = _five()
    cert.answer("cert-1-q1", "ko")
    result = cert.complete().score(LATEST)
    assert (result.status, result.reasons, result.error) == ("error", ("QUESTION_ANSWERED_TWICE",), "question cert-1-q1 answered twice")
    assert result.competences == {} and result.pix_score is None


def test_an_answer_to_a_question_never_served_cannot_be_scored() -> None:
    cert = _five()
    cert.answer("cert-1-q99", "ok")
    assert cert.score(LATEST).reasons == ("ANSWER_WITHOUT_QUESTION",)


def test_a_question_served_twice_cannot_be_scored() -> None:
    cert = _five()
    first = cert.events[1]  # events: started, served q1, answered q1, …
    assert isinstance(first, QuestionServed)
    cert.events.append(first)
    assert cert.score(LATEST).reasons == ("QUESTION_SERVED_TWICE",)


def test_a_certifiable_competence_without_question_cannot_be_scored() -> None:
    cert = Certification().start({"1.1": 35, "1.2": 16, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.questions("1.1", "ok", "ok", "ok")
    cert.fillers(ok=12)
    result = cert.complete().score(LATEST)
    assert (result.status, result.reasons) == ("error", ("COMPETENCE_WITHOUT_QUESTION",))
    assert result.error == "competence 1.2: no question served"


def test_a_certification_that_never_started_cannot_be_scored() -> None:
    cert = Certification()
    cert.question("1.1", "ok")
    result = cert.score(LATEST)
    assert result.status == "error" and result.reasons[0] == "NOT_STARTED"


def test_fewer_than_5_certifiable_competences_cannot_be_scored() -> None:
    cert = Certification().start({"1.1": 35, "1.2": 24, "1.3": 24, "2.1": 24, "2.2": 7})
    for code in ("1.1", "1.2", "1.3", "2.1"):
        cert.questions(code, "ok", "ok", "ok")
    result = cert.complete().score(LATEST)
    assert result.reasons == ("TOO_FEW_CERTIFIABLE_COMPETENCES",)


def test_every_problem_is_reported() -> None:
    cert = _five()
    cert.answer("cert-1-q1", "ko")
    cert.answer("cert-1-q99", "ok")
    cert.question("1.1")
    result = cert.score(LATEST)
    assert set(result.reasons) == {"QUESTION_ANSWERED_TWICE", "ANSWER_WITHOUT_QUESTION", "QUESTION_WITHOUT_ANSWER", "NO_LEVEL_RULE"}
    assert result.error is not None and result.error.count(";") == 3


def test_questions_and_answers_of_a_competence_not_certifiable_are_ignored_everywhere() -> None:
    cert = Certification().start({"1.1": 35, "5.2": 7, **{code: 24 for code in FILLER_COMPETENCES}})
    ignored = cert.question("5.2", "ko")
    cert.events.append(AnswerRecorded(certification_id="cert-1", question_id=ignored, status="ok", at=cert.events[-1].at))
    cert.question("5.2")  # not even answered
    cert.questions("1.1", "ok", "ok", "ok")
    cert.fillers(ok=12)
    result = cert.complete().score(LATEST)
    assert result.status == "validated" and "5.2" not in result.competences
    assert [q.fate for q in result.explanation.questions[:2]] == ["ignored", "ignored"]
    assert result.explanation.questions[0].because == ("ignored: competence 5.2 is not certifiable (estimated level 0 < 1)",)
    assert (result.explanation.rate.answered, result.reproducibility_rate) == (15, 100)
