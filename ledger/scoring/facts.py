"""What the ledger says about one certification, folded into what scoring needs.

A pure fold, in ledger order, kept per certification by a projection (hence compact and
JSON-serialisable: `model_dump(mode="json", exclude_defaults=True)` / `model_validate`).
Anomalies that the ledger refuses but a bad import may carry (a second answer, a second
serving of a question) are kept as facts, so that scoring reports them as errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Literal, Sequence

from pydantic import BaseModel, ConfigDict

from ledger.events import LedgerEvent, ProfileEntry


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServedQuestion(_Fact):
    question_id: str
    competence: str
    format: str
    has_image: bool = False
    has_embed: bool = False
    has_attachment: bool = False
    timed: bool = False
    focused: bool = False


class ReportedIncident(_Fact):
    report_id: str
    code: str
    question_number: int | None = None


class JuryQuestionDecision(_Fact):
    """The last jury event on a question: neutralised or de-neutralised."""

    neutralised: bool
    by: str
    reason: str = ""
    event_id: str | None = None
    at: datetime
    # The jury's decision on the question before this one (its own `overrides` dropped):
    # what a de-neutralisation withdraws, for the explanation ("it was not neutralised"
    # was said of a question the jury itself had neutralised).
    overrides: JuryQuestionDecision | None = None


class RulingRef(_Fact):
    ruling_id: str
    at: datetime
    comment: str = ""
    resolution: str | None = None
    jury: tuple[str, ...] = ()  # the members who took it: in the explanation's `jury` record

    def named(self) -> str:
        """"jury ruling R", as the explanations' prose says it: who took it and their words
        are in the explanation's `jury` record, which a reader does not see."""
        return f"jury ruling {self.ruling_id}"


class Withdrawal(RulingRef):
    """A ruling that lifted a standing one (an `unreject`, an `uncancel`), with the ruling
    it lifted: who reinstated a certification, and what they withdrew, stay on its facts
    for its explanation, as a question's de-neutralisation keeps the neutralisation."""

    withdraws: RulingRef


class CertificationFacts(_Fact):
    certification_id: str
    session_id: str | None = None
    candidate_id: str | None = None
    started_at: datetime | None = None
    profile: dict[str, ProfileEntry] = {}
    questions: tuple[ServedQuestion, ...] = ()  # in the order served: report numbers count here
    answers: dict[str, str] = {}  # question id -> first status recorded
    answered_twice: tuple[str, ...] = ()
    served_twice: tuple[str, ...] = ()
    completed: bool = False
    session_finalised: bool = False
    abort_reason: Literal["candidate", "technical"] | None = None
    incidents: tuple[ReportedIncident, ...] = ()
    fraud_reports: tuple[str, ...] = ()
    jury_decisions: dict[str, JuryQuestionDecision] = {}  # question id -> last decision
    rejected_for_fraud: RulingRef | None = None  # the standing reject ruling, if any
    cancelled: RulingRef | None = None  # the standing cancel ruling, if any
    # The standing unreject / uncancel, if the last such ruling lifted one (a later reject
    # or cancel stands instead, and drops it).
    unrejected: Withdrawal | None = None
    uncancelled: Withdrawal | None = None
    incident_rulings: dict[str, RulingRef] = {}  # report id -> last resolve_incident
    comments: tuple[RulingRef, ...] = ()

    @property
    def started(self) -> bool:
        return self.started_at is not None

    @classmethod
    def from_events(
        cls, events: Iterable[LedgerEvent], certification_id: str | None = None
    ) -> CertificationFacts:
        """Fold `events` (ledger order). Events of other certifications and sessions are
        ignored; without `certification_id`, the first event naming one decides."""
        from ledger.scoring.fold import FactsFold

        return FactsFold(certification_id).apply_all(events).facts()

    def with_events(self, events: Sequence[LedgerEvent]) -> CertificationFacts:
        """These facts with later events folded in (what a projection does per event)."""
        from ledger.scoring.fold import FactsFold

        return FactsFold.resume(self).apply_all(events).facts()
