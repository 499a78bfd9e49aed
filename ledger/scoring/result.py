"""A scoring outcome and its explanation: enough for a person to redo the derivation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ledger.rules import Band

Status = Literal["validated", "rejected", "cancelled", "error"]
Outcome = Literal["validated", "downgraded", "uncertified"]
Fate = Literal["counted", "neutralised", "ignored", "unanswered"]
NeutralisedBy = Literal["jury", "incident_report", "abort"]
IncidentOutcome = Literal[
    "neutralised", "remarked", "no_effect", "left_to_jury", "resolved_by_jury", "awaiting_finalisation"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompetenceMark(_Frozen):
    level: int
    pix: int


class RateExplanation(_Frozen):
    correct: int
    answered: int
    rate: int
    rounding: str
    band: Band
    failed: bool  # below fail_below: every competence uncertified (§3.2)


class TrustExplanation(_Frozen):
    served: int
    answered: int  # non-neutralised and answered (or skipped automatically)
    ratio: str
    required: int  # ceil(ratio x served)
    trusted: bool


class RowRef(_Frozen):
    path: str  # e.g. "level_table[4]", in the document named by defined_in
    defined_in: str
    N: str
    C: str
    Z: str
    meaning: str
    band: Band
    cell: Literal["V", "D", "X"]


class CompetenceExplanation(_Frozen):
    estimated_level: int
    profile_pix: int
    N: int
    C: int
    Z: int
    outcome: Outcome | None  # None when no row of the table matches (an error)
    row: RowRef | None  # None when the rate gate decided, or no row matched
    level: int
    pix: int
    capped: bool
    because: str


class QuestionExplanation(_Frozen):
    number: int  # rank among the questions served, as incident reports count
    question_id: str
    competence: str
    format: str
    weight: int
    answer: str | None  # as recorded
    counted_as: str | None  # after automatic skip or re-marking; None if no answer counts
    credit: int | None  # what it adds to its competence's C, before the cap; None if ignored or neutralised
    fate: Fate
    neutralised_by: NeutralisedBy | None = None
    because: tuple[str, ...] = ()


class IncidentExplanation(_Frozen):
    report_id: str
    code: str
    question_number: int | None
    question_id: str | None
    outcome: IncidentOutcome
    because: str


class JuryDecision(_Frozen):
    """Who took a jury decision bearing on the result, and their own words.

    The explanation's prose names a decision by its ruling id or its event id and never
    the members nor their words: this record holds those, so that the API can withhold
    them from a role that must not see them (a `reader`) without rewording anything."""

    # A ruling's own decision, or what a question's jury event did.
    decision: Literal["cancel", "uncancel", "reject_for_fraud", "unreject", "resolve_incident", "neutralise",
                      "deneutralise"]
    ruling_id: str | None = None  # a ruling's id; None for a question's neutralisation
    event_id: str | None = None  # a neutralisation's event id, if its line gave one
    question_id: str | None = None  # what a neutralisation decided on
    report_id: str | None = None  # what a ruling resolving an incident report resolved
    jury: tuple[str, ...]  # the members who decided (a neutralisation: the one)
    words: str  # a ruling's comment, a neutralisation's reason ("" when none was given)
    resolution: str | None = None  # a ruling resolving an incident report: its resolution


class Explanation(_Frozen):
    algorithm: str
    rule_version: str
    completed: bool
    session_finalised: bool
    abort_reason: str | None
    rate: RateExplanation
    trust: TrustExplanation | None  # None: the version has no trust rule
    competences: dict[str, CompetenceExplanation]
    questions: tuple[QuestionExplanation, ...]
    incidents: tuple[IncidentExplanation, ...]
    status_because: tuple[str, ...]
    notes: tuple[str, ...] = ()
    jury: tuple[JuryDecision, ...] = ()  # who decided what the prose names, in their words


class Result(_Frozen):
    certification_id: str
    status: Status
    reasons: tuple[str, ...]  # the first decided the status; the others also held
    error: str | None = None
    reproducibility_rate: int
    pix_score: int | None  # None on error: what cannot be scored has no score (it was 0, a guess)
    rule_version: str
    competences: dict[str, CompetenceMark]  # the certifiable competences; empty on error
    explanation: Explanation
