"""What the ledger must remember of each stream to judge the next fact.

Each state is a pure fold over its stream's events (`apply`); the validation rules in
`ledger.decisions` read them. They hold only what a rule needs: scoring works from the
events themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

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
    ResultsPublished,
    ResultsUnpublished,
    SessionFinalised,
    SessionOpened,
)


@dataclass
class SessionState:
    version: int = 0
    session_id: str | None = None
    centre_id: str | None = None
    finalised: bool = False
    published: bool = False
    opened_at: datetime | None = None
    finalised_at: datetime | None = None
    published_changed_at: datetime | None = None  # the date of its last publication or unpublication

    @property
    def exists(self) -> bool:
        return self.session_id is not None

    def apply(self, event: LedgerEvent) -> None:
        self.version += 1
        if isinstance(event, SessionOpened):
            self.session_id, self.centre_id = event.session_id, event.centre_id
            self.opened_at = event.at
        elif isinstance(event, SessionFinalised):
            self.finalised, self.finalised_at = True, event.at
        elif isinstance(event, ResultsPublished):
            self.published, self.published_changed_at = True, event.at
        elif isinstance(event, ResultsUnpublished):
            self.published, self.published_changed_at = False, event.at


@dataclass
class CertificationState:
    version: int = 0
    certification_id: str | None = None
    session_id: str | None = None
    candidate_id: str | None = None
    started_at: datetime | None = None
    completed: bool = False
    questions: dict[str, str] = field(default_factory=dict)  # question id → competence
    # Question id → when it was served, until it is answered (a second answer is refused
    # anyway): kept for all 48 questions, a state grew by 43%, in a cache of 50,000.
    served_at: dict[str, datetime] = field(default_factory=dict)
    # The latest date of its test: its start, questions served, answers, completion.
    tested_until: datetime | None = None
    order: list[str] = field(default_factory=list)  # question ids in the order served
    per_competence: dict[str, int] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    neutralised: set[str] = field(default_factory=set)  # the jury's last word: neutralised
    deneutralised: set[str] = field(default_factory=set)  # the jury's last word: de-neutralised
    report_ids: set[str] = field(default_factory=set)
    rejected_for_fraud: bool = False
    cancelled: bool = False
    # When the jury last neutralised or de-neutralised each question it decided on, and its
    # last ruling on a rejection and on a cancellation (id, decision, date): a decision that
    # undoes one is not dated before it.
    jury_word_at: dict[str, datetime] = field(default_factory=dict)
    last_rejection_ruling: tuple[str, str, datetime] | None = None
    last_cancellation_ruling: tuple[str, str, datetime] | None = None

    @property
    def exists(self) -> bool:
        return self.certification_id is not None

    def apply(self, event: LedgerEvent) -> None:
        self.version += 1
        if isinstance(event, (CertificationStarted, QuestionServed, AnswerRecorded, CertificationCompleted)):
            if self.tested_until is None or event.at > self.tested_until:
                self.tested_until = event.at
        if isinstance(event, CertificationStarted):
            self.certification_id = event.certification_id
            self.session_id, self.candidate_id = event.session_id, event.candidate_id
            self.started_at = event.at
        elif isinstance(event, QuestionServed):
            self.questions[event.question_id] = event.competence
            self.served_at[event.question_id] = event.at
            self.order.append(event.question_id)
            self.per_competence[event.competence] = self.per_competence.get(event.competence, 0) + 1
        elif isinstance(event, AnswerRecorded):
            self.answered.add(event.question_id)
            self.served_at.pop(event.question_id, None)
        elif isinstance(event, CertificationCompleted):
            self.completed = True
        elif isinstance(event, (IncidentReported, FraudReported)):
            self.report_ids.add(event.report_id)
        elif isinstance(event, QuestionNeutralised):
            self.neutralised.add(event.question_id)
            self.deneutralised.discard(event.question_id)
            self.jury_word_at[event.question_id] = event.at
        elif isinstance(event, QuestionDeneutralised):
            self.neutralised.discard(event.question_id)
            self.deneutralised.add(event.question_id)
            self.jury_word_at[event.question_id] = event.at
        elif isinstance(event, JuryRuling):
            if event.decision in ("reject_for_fraud", "unreject"):
                self.rejected_for_fraud = event.decision == "reject_for_fraud"
                self.last_rejection_ruling = (event.ruling_id, event.decision, event.at)
            elif event.decision in ("cancel", "uncancel"):
                self.cancelled = event.decision == "cancel"
                self.last_cancellation_ruling = (event.ruling_id, event.decision, event.at)


class Ban(NamedTuple):
    """A ban the jury decided (§5: "a ban from the certification for a set period"), and
    the ruling that lifted it, if one did."""

    ruling_id: str
    at: datetime
    until: datetime
    lifted: tuple[str, datetime] | None = None  # (the `unban` ruling, its moment)

    @property
    def end(self) -> datetime:
        """When the ban stops being in force: its set end, or the moment it was lifted."""
        return self.lifted[1] if self.lifted is not None else self.until


@dataclass
class CandidateState:
    version: int = 0
    bans: list[Ban] = field(default_factory=list)
    liftings: list[tuple[str, datetime]] = field(default_factory=list)  # (the `unban` ruling, its moment)

    def apply(self, event: LedgerEvent) -> None:
        self.version += 1
        if not isinstance(event, JuryRuling):
            return
        if event.decision == "ban_candidate" and event.until:
            self.bans.append(Ban(event.ruling_id, event.at, event.until))
        elif event.decision == "unban":
            self.liftings.append((event.ruling_id, event.at))
            # Lifting ends every ban in force at its moment (the candidate may start again
            # from then); a ban decided later is a new decision, which it does not touch.
            self.bans = [b._replace(lifted=(event.ruling_id, event.at)) if ban_covers(b.at, b.end, event.at) else b
                         for b in self.bans]

    def banned_at(self, moment: datetime) -> datetime | None:
        """The end of a ban in force at `moment`, if any."""
        for ban in self.bans:
            if ban_covers(ban.at, ban.end, moment):
                return ban.end
        return None


def ban_covers(ban_at: datetime, until: datetime, moment: datetime) -> bool:
    """Whether a ban decided at `ban_at`, until `until` (its end, or the moment it was
    lifted), is in force at `moment`: from its decision, up to but not including its end.
    One definition for the refusal of a start, for a lifting, and for what an audit and
    `verify` say of a start that a ban recorded later covers."""
    return ban_at <= moment < until


@dataclass
class PlainStream:
    """Streams whose facts constrain nothing later (the jury's general comments)."""

    version: int = 0

    def apply(self, event: LedgerEvent) -> None:
        self.version += 1
