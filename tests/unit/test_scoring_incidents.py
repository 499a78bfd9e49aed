"""Automatic resolution of incident reports at finalisation (§4), under each version.

Set-up: question 1 (competence 1.1) has the features and answer of the case; questions
2 and 3 of 1.1 and 12 filler questions are ok. The report names question 1.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.scoring import IncidentExplanation, QuestionExplanation, Result
from tests.unit.test_scoring_support import FILLER_COMPETENCES, JURY, Certification

LATEST = "pix-v2-2024-05"


def _reported(code: str, answer: str, features: dict[str, bool], *, number: int = 1, finalise: bool = True,
              ruling: str | None = None) -> Certification:
    cert = Certification().start({"1.1": 35, **{code_: 24 for code_ in FILLER_COMPETENCES}})
    cert.question("1.1", answer, **features)
    cert.questions("1.1", "ok", "ok")
    cert.fillers(ok=12)
    report = cert.incident(code, number if code.startswith("E") else None)
    cert.complete()
    if finalise:
        cert.finalise()
    if ruling:
        cert.ruling("resolve_incident", report_id=report, resolution=ruling)
    return cert


def _first(result: Result) -> tuple[IncidentExplanation, QuestionExplanation]:
    return result.explanation.incidents[0], result.explanation.questions[0]


IMAGE: dict[str, Any] = {"has_image": True}
EMBED: dict[str, Any] = {"has_embed": True}
ATTACHMENT: dict[str, Any] = {"has_attachment": True}
TIMED: dict[str, Any] = {"timed": True}
FOCUSED: dict[str, Any] = {"focused": True}
PLAIN: dict[str, Any] = {}


@pytest.mark.parametrize("code, features, answer, outcome", [
    # E1, E2: the question has an image or an embed.
    ("E1", IMAGE, "ko", "neutralised"),
    ("E1", EMBED, "skipped", "neutralised"),
    ("E1", ATTACHMENT, "ko", "no_effect"),
    ("E2", EMBED, "ko", "neutralised"),
    ("E2", IMAGE, "skipped", "neutralised"),
    ("E2", PLAIN, "ko", "no_effect"),
    # E3: the question has an attachment.
    ("E3", ATTACHMENT, "ko", "neutralised"),
    ("E3", IMAGE, "ko", "no_effect"),
    # E4, E5, E9, E11, E12: always.
    ("E4", PLAIN, "ko", "neutralised"),
    ("E5", PLAIN, "skipped", "neutralised"),
    ("E9", PLAIN, "ko", "neutralised"),
    ("E11", PLAIN, "ko", "neutralised"),
    ("E12", PLAIN, "skipped", "neutralised"),
    # E8: the question is timed.
    ("E8", TIMED, "ko", "neutralised"),
    ("E8", PLAIN, "ko", "no_effect"),
    # The answer condition: only ko or skipped; a correct answer is never neutralised.
    ("E4", PLAIN, "ok", "no_effect"),
    ("E1", IMAGE, "ok", "no_effect"),
    ("E8", TIMED, "timedout", "no_effect"),
    ("E4", PLAIN, "focusedOut", "no_effect"),
    ("E1", IMAGE, "partially", "no_effect"),  # since May 2024
    # Not resolved automatically: left to the jury.
    ("C7", PLAIN, "ko", "left_to_jury"),
    ("C6", PLAIN, "ko", "left_to_jury"),
    ("E6", PLAIN, "ko", "left_to_jury"),  # deprecated, still readable
])
def test_automatic_resolution_under_the_current_rules(code: str, features: dict[str, bool], answer: str, outcome: str) -> None:
    result = _reported(code, answer, features).score(LATEST)
    incident, question = _first(result)
    assert incident.outcome == outcome, incident.because
    neutralised = outcome == "neutralised"
    assert (question.fate == "neutralised") is neutralised
    assert result.explanation.competences["1.1"].Z == (1 if neutralised else 0)
    if neutralised:
        assert question.neutralised_by == "incident_report"
        assert f"incident report cert-1-r1 ({code}) auto-resolved under version {LATEST}" in question.because[0]


def test_e10_remarks_a_focused_out_answer_ok() -> None:
    result = _reported("E10", "focusedOut", FOCUSED).score(LATEST)
    incident, question = _first(result)
    assert incident.outcome == "remarked"
    assert (question.answer, question.counted_as, question.fate) == ("focusedOut", "ok", "counted")
    # Counted correct: 15 of 15, and C = 3 for 1.1.
    assert result.reproducibility_rate == 100 and result.explanation.competences["1.1"].C == 3


def test_e10_neutralises_a_skipped_focus_question() -> None:
    incident, question = _first(_reported("E10", "skipped", FOCUSED).score(LATEST))
    assert (incident.outcome, question.fate) == ("neutralised", "neutralised")


@pytest.mark.parametrize("answer, features", [("ko", FOCUSED), ("ok", FOCUSED), ("focusedOut", PLAIN)])
def test_e10_has_no_effect_otherwise(answer: str, features: dict[str, bool]) -> None:
    incident, question = _first(_reported("E10", answer, features).score(LATEST))
    assert incident.outcome == "no_effect" and question.counted_as == answer


@pytest.mark.parametrize("code, features, answer, version, outcome", [
    # Partially qualified for E1/E2/E3 from June 2021 until May 2024, never for E4/E5/E9.
    ("E1", IMAGE, "partially", "pix-v2-2021-04", "neutralised"),
    ("E3", ATTACHMENT, "partially", "pix-v2-2023-12", "neutralised"),
    ("E3", ATTACHMENT, "partially", "pix-v2-2024-05", "no_effect"),
    ("E4", PLAIN, "partially", "pix-v2-2021-04", "no_effect"),
    # Each code from its version on.
    ("E4", PLAIN, "ko", "pix-v2-2021-01", "left_to_jury"),  # no automatic resolution before April 2021
    ("E1", IMAGE, "ko", "pix-v2-2017-12", "left_to_jury"),
    ("E10", FOCUSED, "focusedOut", "pix-v2-2021-08", "left_to_jury"),
    ("E10", FOCUSED, "focusedOut", "pix-v2-2022-03", "remarked"),
    ("E11", PLAIN, "ko", "pix-v2-2022-03", "left_to_jury"),
    ("E12", PLAIN, "ko", "pix-v2-2022-05", "neutralised"),
    ("E8", TIMED, "ko", "pix-v2-2023-12", "left_to_jury"),  # E8's start is not given: from 2024-05 here
])
def test_automatic_resolution_follows_the_version(code: str, features: dict[str, bool], answer: str, version: str, outcome: str) -> None:
    incident, _ = _first(_reported(code, answer, features).score(version))
    assert incident.outcome == outcome, incident.because


def test_a_later_version_re_derives_the_resolution_from_the_same_facts() -> None:
    facts = _reported("E1", "partially", IMAGE)
    assert facts.score("pix-v2-2023-12").explanation.questions[0].fate == "neutralised"
    assert facts.score("pix-v2-2024-05").explanation.questions[0].fate == "counted"


def test_a_report_naming_a_question_that_does_not_exist_has_no_effect() -> None:
    incident, _ = _first(_reported("E4", "ko", PLAIN, number=16).score(LATEST))
    assert incident.outcome == "no_effect" and incident.question_id is None
    assert "question number 16 does not exist (15 questions served)" == incident.because


def test_reports_wait_for_the_session_to_be_finalised() -> None:
    incident, question = _first(_reported("E4", "ko", PLAIN, finalise=False).score(LATEST))
    assert incident.outcome == "awaiting_finalisation" and question.fate == "counted"


def test_a_report_left_to_the_jury_is_resolved_by_a_jury_ruling() -> None:
    result = _reported("C7", "ko", PLAIN, ruling="no impact on the answers").score(LATEST)
    incident, question = _first(result)
    assert incident.outcome == "resolved_by_jury"
    assert incident.because.startswith("resolved by jury ruling ruling-")
    assert "(a ruling records the resolution;" in incident.because
    assert question.fate == "counted"  # the jury acts on questions by neutralising them
    # The jury's words are in the record, with who took the ruling, not in the prose.
    assert "no impact" not in incident.because
    [ruling] = result.explanation.jury
    assert (ruling.decision, ruling.report_id, ruling.resolution, ruling.words, ruling.jury) == (
        "resolve_incident", incident.report_id, "no impact on the answers", "resolve_incident by the jury",
        tuple(m.member_id for m in JURY))
    assert incident.because.startswith(f"resolved by jury ruling {ruling.ruling_id} ")


def test_a_resolution_saying_neutralise_says_it_neutralises_nothing_by_itself() -> None:
    incident, question = _first(_reported("C7", "ko", PLAIN, ruling="neutralise").score(LATEST))
    assert incident.outcome == "resolved_by_jury" and question.fate == "counted"
    assert incident.because.endswith("only the jury's neutralisation or de-neutralisation of the question "
                                     "changes its scoring)")


def test_a_jury_ruling_on_an_automatic_report_is_shown_beside_the_automatic_outcome() -> None:
    incident, _ = _first(_reported("E4", "ko", PLAIN, ruling="confirmed").score(LATEST))
    assert incident.outcome == "neutralised" and "; also resolved by jury ruling ruling-" in incident.because


def test_a_jury_deneutralisation_overrides_an_automatic_neutralisation() -> None:
    cert = _reported("E4", "ko", PLAIN)
    cert.deneutralise("cert-1-q1", by="ext-1", reason="the site was up")
    explanation = cert.score(LATEST).explanation
    question, incident = explanation.questions[0], explanation.incidents[0]
    assert (question.fate, question.counted_as) == ("counted", "ko")
    assert question.because[-1] == "de-neutralised by the jury"
    # The report says what resolving it did, and that the jury's word came after.
    assert incident.outcome == "neutralised"
    assert incident.because.endswith("; then de-neutralised by the jury, whose word is last: counted")
    # Who decided, and why, is the jury record's.
    assert [(d.decision, d.question_id, d.jury, d.words, d.event_id) for d in explanation.jury] == [
        ("deneutralise", "cert-1-q1", ("ext-1",), "the site was up", None)]


def test_a_deneutralisation_names_the_jury_neutralisation_it_withdraws() -> None:
    """It said "(it was not neutralised)" of a question the jury itself had neutralised."""
    cert = _reported("C7", "ko", PLAIN)  # a report left to the jury: nothing automatic
    cert.neutralise("cert-1-q1", by="pix-1", reason="image missing")
    cert.deneutralise("cert-1-q1", by="ext-1", reason="the image was there")
    explanation = cert.score(LATEST).explanation
    question = explanation.questions[0]
    assert question.fate == "counted"
    said = question.because[-1]
    assert said.startswith("de-neutralised by the jury; it withdraws the neutralisation by the jury (neut-"), said
    # The record holds both decisions, the withdrawn one first, each with who and why.
    first, last = explanation.jury
    assert said.endswith(f"({first.event_id})")
    assert [(d.decision, d.jury, d.words) for d in (first, last)] == [
        ("neutralise", ("pix-1",), "image missing"), ("deneutralise", ("ext-1",), "the image was there")]
    cert.neutralise("cert-1-q1", by="pix-2", reason="on second thoughts")
    again = cert.score(LATEST).explanation
    assert again.questions[0].fate == "neutralised"
    said = again.questions[0].because[-1]
    assert said.startswith("neutralised by the jury (neut-") and said.endswith(
        "); after the de-neutralisation by the jury"), said
    assert [(d.decision, d.jury, d.words) for d in again.jury] == [
        ("deneutralise", ("ext-1",), "the image was there"), ("neutralise", ("pix-2",), "on second thoughts")]
    assert said.startswith(f"neutralised by the jury ({again.jury[1].event_id})")
    alone = _reported("C7", "ko", PLAIN)
    alone.deneutralise("cert-1-q1", by="ext-1", reason="nothing to lift")
    assert alone.score(LATEST).explanation.questions[0].because[-1].endswith("(it was not neutralised)")


def test_a_report_on_a_question_of_a_competence_not_certifiable_has_no_effect() -> None:
    cert = Certification().start({"1.1": 35, "5.2": 7, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.question("5.2", "ko")
    cert.questions("1.1", "ok", "ok", "ok")
    cert.fillers(ok=12)
    cert.incident("E4", 1)
    result = cert.complete().finalise().score(LATEST)
    incident, question = _first(result)
    assert incident.outcome == "no_effect" and question.fate == "ignored"


def test_two_reports_on_one_question_are_judged_on_the_same_answer() -> None:
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.question("1.1", "skipped", focused=True)
    cert.questions("1.1", "ok", "ok")
    cert.fillers(ok=12)
    cert.incident("E10", 1)
    cert.incident("E4", 1)
    result = cert.complete().finalise().score(LATEST)
    assert [i.outcome for i in result.explanation.incidents] == ["neutralised", "neutralised"]
    assert len(result.explanation.questions[0].because) == 2
