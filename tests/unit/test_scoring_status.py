"""The trust rule (§3.5) and the precedence of statuses (§3.7)."""

from __future__ import annotations

from ledger.scoring import Result
from ledger.vocabulary import COMPETENCES
from tests.unit.test_scoring_support import Certification

FIVE = sorted(COMPETENCES)[:5]


def _all_ok(competences: list[str], neutralised: int = 0) -> Certification:
    """3 questions per competence, all ok; the first `neutralised` (one per competence
    in turn) neutralised by the jury after finalisation."""
    cert = Certification().start({code: 24 for code in competences})
    ids = [cert.questions(code, "ok", "ok", "ok") for code in competences]
    cert.complete().finalise()
    in_turn = [ids[c][q] for q in range(3) for c in range(len(competences))]
    for qid in in_turn[:neutralised]:
        cert.neutralise(qid)
    return cert


def test_15_served_need_10_answered_so_5_neutralisations_are_trusted() -> None:
    # ceil(0.66 x 15) = ceil(9.9) = 10; 15 - 5 = 10 answered >= 10.
    result = _all_ok(FIVE, neutralised=5).score("pix-v2-2024-05")
    assert result.explanation.trust is not None
    assert (result.explanation.trust.required, result.explanation.trust.answered) == (10, 10)
    assert result.status == "validated"


def test_15_served_with_6_neutralisations_are_cancelled() -> None:
    # 15 - 6 = 9 < 10.
    result = _all_ok(FIVE, neutralised=6).score("pix-v2-2024-05")
    assert (result.status, result.reasons) == ("cancelled", ("TOO_MANY_NEUTRALISATIONS",))
    # The marks are still derived (the status says they are not awarded).
    assert result.pix_score == 5 * 24


def test_48_served_need_32_answered() -> None:
    # ceil(0.66 x 48) = ceil(31.68) = 32: 16 neutralisations leave 32, 17 leave 31.
    sixteen = sorted(COMPETENCES)
    assert _all_ok(sixteen, neutralised=16).score("pix-v2-2024-05").status == "validated"
    result = _all_ok(sixteen, neutralised=17).score("pix-v2-2024-05")
    assert (result.status, result.reasons) == ("cancelled", ("TOO_MANY_NEUTRALISATIONS",))
    assert result.explanation.trust.required == 32  # type: ignore[union-attr]


def test_there_is_no_trust_rule_before_30_august_2021() -> None:
    result = _all_ok(FIVE, neutralised=6).score("pix-v2-2021-04")
    assert result.explanation.trust is None and result.status == "validated"


def test_a_deneutralisation_lifts_the_cancellation() -> None:
    cert = _all_ok(FIVE, neutralised=6)
    last = cert.facts().questions[1].question_id  # the sixth neutralised: 1.1's second question
    cert.deneutralise(last)
    assert cert.score("pix-v2-2024-05").status == "validated"


def test_questions_neutralised_by_a_technical_abort_count_against_trust() -> None:
    # 15 served, 6 unanswered and neutralised by the technical abort: 9 < 10.
    cert = Certification().start({code: 24 for code in FIVE})
    for i, code in enumerate(FIVE):
        cert.questions(code, "ok", "ok", "ok") if i < 3 else [cert.question(code) for _ in range(3)]
    result = cert.finalise(abort="technical").score("pix-v2-2024-05")
    assert result.reproducibility_rate == 100
    assert result.reasons == ("TOO_MANY_NEUTRALISATIONS",)


def test_deneutralising_questions_left_unanswered_at_a_technical_abort_does_not_lift_the_cancellation() -> None:
    # 15 served, 9 answered: 9 < 10 whatever the jury de-neutralises, since a question
    # nobody answered is not answered (§3.5 counts the answered ones).
    cert = Certification().start({code: 24 for code in FIVE})
    unanswered = []
    for i, code in enumerate(FIVE):
        if i < 3:
            cert.questions(code, "ok", "ok", "ok")
        else:
            unanswered += [cert.question(code) for _ in range(3)]
    cert.finalise(abort="technical")
    for question_id in unanswered[:2]:
        cert.deneutralise(question_id)
    result = cert.score("pix-v2-2024-05")
    assert result.explanation.trust.answered == 9  # type: ignore[union-attr]
    assert (result.status, result.reasons[0]) == ("cancelled", "TOO_MANY_NEUTRALISATIONS")


def _failing(abort: str | None = None) -> Certification:
    """Rate below 50: 5 competences, 2 of 15 questions ok (13%)."""
    cert = Certification().start({code: 24 for code in FIVE})
    for i, code in enumerate(FIVE):
        cert.questions(code, "ok" if i < 2 else "ko", "ko", "ko")
    return cert.complete().finalise(abort)


def _good() -> Certification:
    return _all_ok(FIVE)


def _status(result: Result) -> tuple[str, tuple[str, ...]]:
    return result.status, result.reasons


def test_a_good_certification_is_validated_without_reasons() -> None:
    result = _good().score("pix-v2-2024-05")
    assert _status(result) == ("validated", ())
    assert result.pix_score == 120


def test_a_jury_cancellation_comes_first() -> None:
    cert = _good()
    cert.ruling("reject_for_fraud")
    cert.ruling("cancel")
    assert _status(cert.score("pix-v2-2024-05")) == ("cancelled", ("CANCELLED_BY_JURY", "FRAUD"))


def test_fraud_rejects_but_pix_are_still_computed() -> None:
    cert = _good()
    cert.fraud_report()
    cert.ruling("reject_for_fraud")
    result = cert.score("pix-v2-2024-05")
    assert _status(result) == ("rejected", ("FRAUD",))
    assert result.pix_score == 120 and result.competences["1.1"].level == 3


def test_fraud_comes_before_the_trust_rule() -> None:
    cert = _all_ok(FIVE, neutralised=6)
    cert.ruling("reject_for_fraud")
    assert _status(cert.score("pix-v2-2024-05")) == ("rejected", ("FRAUD", "TOO_MANY_NEUTRALISATIONS"))


def test_a_fraud_report_alone_changes_nothing() -> None:
    cert = _good()
    cert.fraud_report()
    assert cert.score("pix-v2-2024-05").status == "validated"


def test_an_unreject_and_an_uncancel_restore_the_score() -> None:
    cert = _good()
    cert.ruling("reject_for_fraud")
    cert.ruling("cancel")
    cert.ruling("unreject")
    cert.ruling("uncancel")
    assert _status(cert.score("pix-v2-2024-05")) == ("validated", ())


def test_the_trust_rule_comes_before_the_technical_lack_of_answers() -> None:
    # 15 served; 10 unanswered, neutralised by the technical abort: 5 < 10 required;
    # 2 of the 5 answered ok: 40 < 50.
    cert = Certification().start({code: 24 for code in FIVE})
    for i, code in enumerate(FIVE):
        if i == 0:
            cert.questions(code, "ok", "ok", "ko")
        elif i == 1:
            cert.questions(code, "ko", "ko")
            cert.question(code)
        else:
            [cert.question(code) for _ in range(3)]
    result = cert.finalise(abort="technical").score("pix-v2-2024-05")
    assert result.reproducibility_rate == 40
    assert _status(result) == ("cancelled", (
        "TOO_MANY_NEUTRALISATIONS", "LACK_OF_ANSWERS_FOR_TECHNICAL_REASON", "INSUFFICIENT_CORRECT_ANSWERS"))


def test_a_technical_end_with_a_rate_below_50_is_cancelled() -> None:
    result = _failing(abort="technical").score("pix-v2-2024-05")
    assert result.reproducibility_rate == 13  # 2/15 = 13.3
    assert _status(result) == ("cancelled", ("LACK_OF_ANSWERS_FOR_TECHNICAL_REASON", "INSUFFICIENT_CORRECT_ANSWERS"))


def test_a_candidate_end_with_a_rate_below_50_is_rejected() -> None:
    assert _status(_failing(abort="candidate").score("pix-v2-2024-05")) == ("rejected", ("INSUFFICIENT_CORRECT_ANSWERS",))


def test_a_rate_below_50_is_rejected() -> None:
    result = _failing().score("pix-v2-2024-05")
    assert _status(result) == ("rejected", ("INSUFFICIENT_CORRECT_ANSWERS",))
    assert result.pix_score == 0


def test_a_jury_cancellation_stands_over_an_unscorable_certification() -> None:
    cert = Certification().start({code: 24 for code in FIVE})
    for code in FIVE:
        cert.question(code)  # never answered, no abort reason
    cert.ruling("cancel")
    result = cert.score("pix-v2-2024-05")
    assert result.status == "cancelled"
    assert result.reasons[0] == "CANCELLED_BY_JURY" and "QUESTION_WITHOUT_ANSWER" in result.reasons
    assert result.competences == {} and result.error
