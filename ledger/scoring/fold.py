"""The fold from ledger events to CertificationFacts, one small handler per event type."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ledger.events import (
    AnswerRecorded,
    CertificationCompleted,
    CertificationStarted,
    FraudReported,
    IncidentReported,
    JuryRuling,
    LedgerEvent,
    QuestionDeneutralised,
    QuestionNeutralised,
    QuestionServed,
    SessionFinalised,
)
from ledger.scoring.facts import (
    CertificationFacts,
    JuryQuestionDecision,
    ReportedIncident,
    RulingRef,
    ServedQuestion,
    Withdrawal,
)

_QUESTION_FIELDS = tuple(ServedQuestion.model_fields)


class FactsFold:
    """Mutable while folding; `facts()` freezes the result."""

    def __init__(self, certification_id: str | None) -> None:
        self.certification_id = certification_id
        self.state: dict[str, Any] = {"served_ids": set()}
        self.lists: dict[str, list[Any]] = {
            k: [] for k in ("questions", "answered_twice", "served_twice", "incidents", "fraud_reports", "comments")
        }
        self.maps: dict[str, dict[str, Any]] = {
            k: {} for k in ("profile", "answers", "jury_decisions", "incident_rulings")
        }

    @classmethod
    def resume(cls, facts: CertificationFacts) -> FactsFold:
        fold = cls(facts.certification_id)
        for name in fold.lists:
            fold.lists[name] = list(getattr(facts, name))
        for name in fold.maps:
            fold.maps[name] = dict(getattr(facts, name))
        for name in ("session_id", "candidate_id", "started_at", "completed", "session_finalised",
                     "abort_reason", "rejected_for_fraud", "cancelled", "unrejected", "uncancelled"):
            fold.state[name] = getattr(facts, name)
        fold.state["served_ids"] = {q.question_id for q in facts.questions}
        return fold

    def apply_all(self, events: Iterable[LedgerEvent]) -> FactsFold:
        for event in events:
            self.apply(event)
        return self

    def apply(self, event: LedgerEvent) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return
        if isinstance(event, SessionFinalised):
            handler(self, event)
            return
        named = event.certification_id  # type: ignore[attr-defined]
        if named is None:
            return  # a ruling about a candidate (ban), not a certification
        if self.certification_id is None:
            self.certification_id = named
        if named == self.certification_id:
            handler(self, event)

    def facts(self) -> CertificationFacts:
        if self.certification_id is None:
            raise ValueError("no event names a certification")
        state = {k: v for k, v in self.state.items() if k != "served_ids"}
        return CertificationFacts(
            certification_id=self.certification_id, **state, **self.lists, **self.maps
        )


def _started(fold: FactsFold, e: CertificationStarted) -> None:
    if fold.state.get("started_at") is not None:
        return  # the first start stands; the ledger refuses a second one
    fold.state.update(session_id=e.session_id, candidate_id=e.candidate_id, started_at=e.at)
    fold.maps["profile"] = dict(e.profile)


def _served(fold: FactsFold, e: QuestionServed) -> None:
    if e.question_id in fold.state["served_ids"]:
        fold.lists["served_twice"].append(e.question_id)
        return
    fold.state["served_ids"].add(e.question_id)
    # Plain data until facts(): one validation of the whole is cheaper than one per question.
    fold.lists["questions"].append({f: getattr(e, f) for f in _QUESTION_FIELDS})


def _answered(fold: FactsFold, e: AnswerRecorded) -> None:
    if e.question_id in fold.maps["answers"]:
        fold.lists["answered_twice"].append(e.question_id)
        return
    fold.maps["answers"][e.question_id] = e.status


def _completed(fold: FactsFold, e: CertificationCompleted) -> None:
    fold.state["completed"] = True


def _finalised(fold: FactsFold, e: SessionFinalised) -> None:
    session = fold.state.get("session_id")
    if fold.state.get("session_finalised") or (session is not None and e.session_id != session):
        return  # finalisation is refused twice: the first one stands
    fold.state["session_finalised"] = True
    fold.state["abort_reason"] = e.abort_reasons.get(fold.certification_id or "")


def _incident(fold: FactsFold, e: IncidentReported) -> None:
    fold.lists["incidents"].append(ReportedIncident(report_id=e.report_id, code=e.code, question_number=e.question_number))


def _fraud(fold: FactsFold, e: FraudReported) -> None:
    fold.lists["fraud_reports"].append(e.report_id)


def _jury_question(fold: FactsFold, e: QuestionNeutralised | QuestionDeneutralised) -> None:
    before = fold.maps["jury_decisions"].get(e.question_id)
    fold.maps["jury_decisions"][e.question_id] = JuryQuestionDecision(
        neutralised=isinstance(e, QuestionNeutralised), by=e.by, reason=e.reason, event_id=e.event_id, at=e.at,
        overrides=before.model_copy(update={"overrides": None}) if before is not None else None,
    )


def _stand_or_lift(fold: FactsFold, standing: str, lifted: str, ref: RulingRef, *, lifts: bool) -> None:
    """A reject or cancel stands (and drops an earlier lifting); an unreject or uncancel
    lifts the standing one and keeps it, to be named."""
    before = fold.state.get(standing)
    if lifts:
        fold.state[standing] = None
        fold.state[lifted] = Withdrawal(**ref.model_dump(), withdraws=before) if before is not None else None
    else:
        fold.state[standing] = ref
        fold.state[lifted] = None


def _ruling(fold: FactsFold, e: JuryRuling) -> None:
    ref = RulingRef(ruling_id=e.ruling_id, at=e.at, comment=e.comment, resolution=e.resolution,
                    jury=tuple(member.member_id for member in e.jury))
    decision = e.decision
    if decision in ("reject_for_fraud", "unreject"):
        _stand_or_lift(fold, "rejected_for_fraud", "unrejected", ref, lifts=decision == "unreject")
    elif decision in ("cancel", "uncancel"):
        _stand_or_lift(fold, "cancelled", "uncancelled", ref, lifts=decision == "uncancel")
    elif decision == "resolve_incident" and e.report_id:
        fold.maps["incident_rulings"][e.report_id] = ref
    elif decision == "comment":
        fold.lists["comments"].append(ref)


_HANDLERS: dict[type[LedgerEvent], Callable[[FactsFold, Any], None]] = {
    CertificationStarted: _started,
    QuestionServed: _served,
    AnswerRecorded: _answered,
    CertificationCompleted: _completed,
    SessionFinalised: _finalised,
    IncidentReported: _incident,
    FraudReported: _fraud,
    QuestionNeutralised: _jury_question,
    QuestionDeneutralised: _jury_question,
    JuryRuling: _ruling,
}
