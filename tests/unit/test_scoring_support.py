"""Builders for the scoring tests: one certification's ledger events, written as a story.

(A module of its own so that every scoring test reads the same way; its few tests check
the builder itself.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ledger.events import (
    AnswerRecorded,
    CertificationCompleted,
    CertificationStarted,
    FraudReported,
    IncidentReported,
    JuryMember,
    JuryRuling,
    LedgerEvent,
    QuestionDeneutralised,
    QuestionNeutralised,
    QuestionServed,
    SessionFinalised,
)
from ledger.rules import RuleSet, RuleTimeline
from ledger.scoring import CertificationFacts, Result, score

UTC = timezone.utc
TIMELINE = RuleTimeline.builtin()
JURY = [JuryMember(member_id=m, external=m.startswith("ext")) for m in ("pix-1", "pix-2", "ext-1", "ext-2")]
# Four competences of filler questions, used to steer the reproducibility rate.
FILLER_COMPETENCES = ("2.1", "2.2", "3.1", "3.2")


def rules(version: str) -> RuleSet:
    found = TIMELINE.get(version)
    assert found is not None, version
    return found


class Certification:
    """The events of one certification, in ledger order, with a clock ticking by seconds."""

    def __init__(self, cert: str = "cert-1", session: str = "session-1",
                 at: datetime = datetime(2024, 6, 12, 8, 0, tzinfo=UTC)) -> None:
        self.cert, self.session = cert, session
        self.events: list[LedgerEvent] = []
        self._clock = at
        self._questions = 0
        self._reports = 0

    def _at(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def _add(self, event: LedgerEvent) -> None:
        self.events.append(event)

    def start(self, profile: dict[str, int]) -> Certification:
        """`profile`: competence -> pix (estimated level floor(pix / 8))."""
        self._add(CertificationStarted(certification_id=self.cert, session_id=self.session, candidate_id="cand-1",
                                       profile={c: {"pix": p} for c, p in profile.items()}, at=self._at()))
        return self

    def question(self, competence: str, status: str | None = None, *, format: str = "QCM", **features: bool) -> str:
        self._questions += 1
        qid = f"{self.cert}-q{self._questions}"
        self._add(QuestionServed(certification_id=self.cert, question_id=qid, competence=competence,
                                 format=format, at=self._at(), **features))
        if status is not None:
            self.answer(qid, status)
        return qid

    def questions(self, competence: str, *statuses: str, **kwargs: Any) -> list[str]:
        return [self.question(competence, s, **kwargs) for s in statuses]

    def answer(self, qid: str, status: str) -> None:
        self._add(AnswerRecorded(certification_id=self.cert, question_id=qid, status=status, at=self._at()))

    def fillers(self, ok: int, competences: tuple[str, ...] = FILLER_COMPETENCES) -> None:
        """3 questions per filler competence: the first `ok` answered ok, the rest ko."""
        served = 0
        for competence in competences:
            for _ in range(3):
                self.question(competence, "ok" if served < ok else "ko")
                served += 1

    def complete(self) -> Certification:
        self._add(CertificationCompleted(certification_id=self.cert, at=self._at()))
        return self

    def incident(self, code: str, number: int | None = None) -> str:
        self._reports += 1
        report = f"{self.cert}-r{self._reports}"
        self._add(IncidentReported(certification_id=self.cert, report_id=report, code=code,
                                   question_number=number, at=self._at()))
        return report

    def fraud_report(self) -> None:
        self._add(FraudReported(certification_id=self.cert, report_id="pv-1", reported_by="invigilator-1", at=self._at()))

    def finalise(self, abort: str | None = None) -> Certification:
        reasons = {self.cert: abort} if abort else {}
        self._add(SessionFinalised(session_id=self.session, abort_reasons=reasons, at=self._at()))
        return self

    def neutralise(self, qid: str, by: str = "pix-1", reason: str = "jury review") -> None:
        self._add(QuestionNeutralised(certification_id=self.cert, question_id=qid, by=by, reason=reason,
                                      event_id=f"neut-{qid}-{len(self.events)}", at=self._at()))

    def deneutralise(self, qid: str, by: str = "pix-2", reason: str = "jury review") -> None:
        self._add(QuestionDeneutralised(certification_id=self.cert, question_id=qid, by=by, reason=reason, at=self._at()))

    def ruling(self, decision: str, **fields: Any) -> None:
        self._add(JuryRuling(ruling_id=f"ruling-{len(self.events)}", decision=decision, jury=JURY,
                             certification_id=self.cert, comment=f"{decision} by the jury", at=self._at(), **fields))

    def facts(self) -> CertificationFacts:
        return CertificationFacts.from_events(self.events)

    def score(self, version: str) -> Result:
        return score(self.facts(), rules(version))


def test_the_builder_numbers_questions_in_the_order_served() -> None:
    cert = Certification().start({"1.1": 16})
    first, second = cert.question("1.1", "ok"), cert.question("1.1")
    facts = cert.facts()
    assert [q.question_id for q in facts.questions] == [first, second]
    assert facts.answers == {first: "ok"}


def test_the_builder_fillers_answer_the_first_ones_correctly() -> None:
    cert = Certification().start({"2.1": 16})
    cert.fillers(ok=5)
    statuses = list(cert.facts().answers.values())
    assert statuses == ["ok"] * 5 + ["ko"] * 7
