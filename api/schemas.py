"""The API's bodies, named by role (`ResultPublic`, `ResultsPage`, `WhatIfRequest` …),
separate from the domain types they are built from.

Result bodies are the results projection's public result dicts, the shape of
`certledger results --json`: the scoring result (status, reasons, rate, pix, rule
version, competence marks, explanation) plus certification_id, candidate_id,
session_id, centre_id, started_at and `published`. The models below describe them for
the OpenAPI document; routes pass the dicts through as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from commands.interchange import json_kind
from ledger.events import Instant, Text, storable_inside

ResultStatus = Literal["started", "validated", "rejected", "cancelled", "error"]


class _Open(BaseModel):
    """A body that may gain fields: clients must ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow")


class CompetenceMarkPublic(_Open):
    level: int
    pix: int


class ResultPublic(_Open):
    """A certification's result. `published: false` marks a result the candidate does not
    see yet (its session is not published); `status: "started"` a certification not
    scored yet (every score field null); `explanation.session_finalised: false` a
    provisional result, computed before the session's finalisation."""

    certification_id: str
    candidate_id: str
    session_id: str
    centre_id: str | None
    started_at: str = Field(description="when the certification started (UTC): what `started_from` / `started_to` "
                                        "select on, and what puts a rule version in force for it")
    published: bool
    status: ResultStatus
    reasons: list[str]
    error: str | None = Field(description="why the certification cannot be scored; null when it can")
    reproducibility_rate: int | None
    pix_score: int | None = Field(description="the total certified; null while started and when `error` is set")
    rule_version: str | None
    competences: dict[str, CompetenceMarkPublic]
    explanation: dict[str, Any] | None = Field(default=None, description=(
        "how the result was derived; null while started; absent from the change feed asked `explanations=false`. "
        "Its `jury` record (who took each jury decision its prose names, and their words) is withheld from "
        "`reader`"))
    as_of: str | None = Field(default=None, description="in an answer asked `as_of`: that recorded time (UTC); "
                                                        "absent from a current result")


AS_OF_ECHO = "the `as_of` asked (UTC): the answer as the ledger knew it then; null for a current answer"


class SessionSummary(BaseModel):
    session_id: str
    centre_id: str | None
    finalised: bool
    published: bool = Field(description="its results are published: a `reader` sees them")


class SessionsPage(BaseModel):
    data: list[SessionSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    limit: int


class DocketIncident(BaseModel):
    report_id: str
    code: str
    question_number: int | None
    because: str = Field(description="why no rule resolves it, as the result's explanation says")


class DocketBanLifted(BaseModel):
    ruling_id: str
    at: str = Field(description="when the jury lifted the ban: in force up to then (not included)")


class DocketBan(BaseModel):
    ruling_id: str
    at: str = Field(description="when the jury decided it: in force from then")
    until: str = Field(description="its end as decided (not included); `lifted` says if it was lifted before")
    lifted: DocketBanLifted | None = Field(description="the ruling that lifted it after the start, if one did")


class DocketItem(BaseModel):
    certification_id: str
    candidate_id: str | None
    status: str = Field(description="its current result's status (`started` while it has none)")
    fraud_reports: list[str] = Field(
        description="fraud reports and C6 reports on which the jury has ruled nothing: none resolved by hand, "
                    "and no fraud rejection, cancellation, lifting of either, nor comment on the certification")
    incidents_left_to_jury: list[DocketIncident] = Field(
        description="incident reports the version in force does not resolve, that no ruling resolved by hand, "
                    "whose question (if they name one) the jury has not neutralised or de-neutralised; none for a "
                    "cancelled certification")
    error: str | None = Field(description="why its result is unscorable (status `error`)")
    banned_at_start: DocketBan | None = Field(
        description="a ban of its candidate covering its start, which the ledger recorded after the start (so the "
                    "start stood), with no ruling on the certification since: the jury may cancel it")


class DocketSession(SessionSummary):
    certifications: int
    awaiting: list[DocketItem] = Field(description="its certifications that await the jury, by id")
    ready_to_publish: bool = Field(description="finalised, not published, and nothing awaits the jury")
    as_of: str | None = Field(None, description="with `as_of`: the recorded time the entry answers for")


class DocketPage(BaseModel):
    data: list[DocketSession]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    limit: int


class ResultsPage(BaseModel):
    data: list[ResultPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    limit: int
    as_of: str | None = Field(description=AS_OF_ECHO)


class ResultChange(BaseModel):
    """One certification in the change feed, at its current state."""

    changed: int = Field(description="the log position of the last event that changed this result: its start, a "
                                     "rescoring, or its session's results published or unpublished; for a `reader`, the last "
                                     "it may see (a rescoring while the result is withdrawn is not one: it "
                                     "comes with the republication)")
    certification_id: str
    session_id: str
    published: bool
    withdrawn: bool = Field(description="its results were published and are no more (unpublished)")
    result: ResultPublic | None = Field(description="the current result, as `GET /certifications/{id}/result` "
                                                    "gives it; null for a `reader` when `withdrawn`")


class ChangesPage(BaseModel):
    data: list[ResultChange]
    cursor: str | None = Field(description="pass as `cursor` to read the changes after this page, now or later; "
                                           "null only when nothing has changed yet")
    more: bool = Field(description="more changes were waiting past this page: ask again at once")
    limit: int


class ResultOutcome(_Open):
    """A result without its explanation, as the history keeps it."""

    status: ResultStatus
    reasons: list[str] = []
    pix_score: int | None = None
    rule_version: str | None = None


_COMMITTED = ("when the ledger came to hold it: its transaction's commit, what `as_of` is compared with "
              "(`recorded_at` is when it was judged, before it waited for the write lock); null for an event "
              "known by its `recorded_at`: recorded before the ledger kept commit times, or written beside it "
              "by a process of an older release")


class HistoryEntryPublic(_Open):
    seq: int = Field(description="1 for the first result, then one more per rescoring")
    cause: str = Field(description="why it was (re)scored: first scoring, finalisation, neutralisation, …")
    detail: str
    recorded_at: str = Field(description="when the ledger judged the event that caused it")
    committed_at: str | None = Field(description=_COMMITTED)
    position: int = Field(description="that event's position in the log")
    result: ResultOutcome


class ResultHistory(BaseModel):
    certification_id: str
    data: list[HistoryEntryPublic]
    next_cursor: str | None
    limit: int
    as_of: str | None = Field(description=AS_OF_ECHO)


class AuditEvent(_Open):
    position: int
    recorded_at: str = Field(description="when the ledger judged the batch that holds it")
    committed_at: str | None = Field(description=_COMMITTED)
    recorded_by: str
    stream: str
    type: str
    at: str
    event: dict[str, Any]


class AuditResult(HistoryEntryPublic):
    explanation: dict[str, Any] | None = Field(
        description="how that result was derived (as the current result's `explanation`); null while started"
    )


class AuditRuleVersion(_Open):
    version: str
    effective_from: str = Field(description="in force for certifications started from then, until the next version's")
    position: int | None = Field(description="where the log recorded it: a result before it was scored without it")
    algorithm: str
    questions_per_competence: int
    qrocm_dep: dict[str, Any] = Field(description="a QROCM-dep's format, weight and `partially` credit")


class AuditBanLifted(_Open):
    ruling_id: str
    at: str = Field(description="when the jury lifted the ban: it is in force up to then (not included)")
    position: int = Field(description="where the log recorded the lifting")


class AuditBan(_Open):
    ruling_id: str
    at: str = Field(description="when the jury decided it: the ban is in force from then")
    until: str = Field(description="the ban's end as decided (not included); `lifted` says if it was lifted before")
    position: int = Field(description="where the log recorded the ruling")
    recorded_after_start: bool = Field(
        description="the ledger recorded the ban after the certification's start (a start during a ban it "
                    "holds is refused, `candidate-banned`)")
    lifted: AuditBanLifted | None = Field(
        description="the jury's ruling that lifted the ban (`unban`) after this start, as known at the trail's time")


class AuditTrail(_Open):
    """Every event of the certification, its session and its candidate (a ban, its lifting), each rule
    version that rescored it, every result it was given with why, and the current result."""

    certification_id: str
    session_id: str
    candidate_id: str
    centre_id: str | None
    as_of: str | None
    events: list[AuditEvent]
    results: list[AuditResult] = Field(description="every result it was given, each explained, oldest first")
    current: ResultPublic
    rule_versions: list[AuditRuleVersion] = Field(
        description="the rule timeline as of the trail's time, in order: why a result's version was in force")
    bans_at_start: list[AuditBan] = Field(
        description="the candidate's bans in force when the certification started, as known at the trail's time; "
                    "the start stood (recorded before the ban) and was scored as any other")


class RuleVersionDecision(BaseModel):
    jury: list[str] = Field(description="the members of the jury that decided it, by id (none for a built-in version)")
    reason: str = Field(description="the jury's words on why")
    recorded_at: datetime = Field(description="when the ledger recorded it")


class RuleVersionSummary(RuleVersionDecision):
    version: str
    effective_from: datetime
    extends: str | None
    description: str
    algorithm: str


class RuleVersionsPage(BaseModel):
    data: list[RuleVersionSummary]
    next_cursor: str | None
    limit: int


class RuleVersionPublic(RuleVersionDecision):
    version: str
    effective_from: datetime
    resolved: dict[str, Any] = Field(description="the version with its `extends` chain merged in, with `origins`")
    written: dict[str, Any] = Field(description="the document as recorded (perhaps with `extends`)")


def _document_or_name(proposal: Any) -> Any:
    """Said as one problem of `proposal`: left to the union, each of its branches was named
    as a field of its own (`proposal.dict[str,any]`, `proposal.str`), fields no body has."""
    if not isinstance(proposal, dict | str):
        raise ValueError("a rule document (a JSON object) or the name of a version in the ledger (a JSON "
                         f"string), not {json_kind(proposal)}")
    return proposal


class WhatIfRequest(BaseModel):
    """A proposed rule document (or the name of a version already in the ledger) and the
    period of certifications (by start time, bounds inclusive) to score under it."""

    model_config = ConfigDict(extra="forbid")

    proposal: Annotated[dict[str, Any] | str, BeforeValidator(_document_or_name)] = Field(
        description="a rule document (may `extend` a version of the ledger), or a version name"
    )
    against: Text | None = Field(default=None, description="compare with this version instead of the current results")
    start: Instant = Field(description="first start time of the period (inclusive)")
    end: Instant = Field(description="last start time of the period (inclusive)")

    @field_validator("proposal")
    @classmethod
    def _storable(cls, proposal: dict[str, Any] | str) -> dict[str, Any] | str:
        return storable_inside(proposal)

    @field_validator("end")
    @classmethod
    def _after_the_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and start > end:
            raise ValueError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        return end


class RuleVersionWarning(BaseModel):
    line: int = Field(description="the batch's line (1-based) holding the rule version")
    version: str = Field(description="the rule version")
    detail: str = Field(description="what `certledger rules check` warns of it (recorded all the same)")


_RULE_WARNINGS = ("present only when the batch records a rule version `certledger rules check` warns of "
                  "(an effective_from equal to another version's, which then never applies; one before the "
                  "version it extends; counts its level table cannot score): recorded all the same")


class PublishedAwaitingJury(BaseModel):
    line: int = Field(description="the batch's line (1-based) publishing the session")
    session_id: str = Field(description="the session published")
    awaiting: int | None = Field(description="its certifications awaiting the jury (`GET /docket?session_id=`); "
                                             "null while the results catch up and it is not known yet")
    detail: str = Field(description="what they await, counted by kind")


class EventsAppended(BaseModel):
    appended: int = Field(description="facts appended now")
    skipped: int = Field(description="facts already in the ledger with the same event_id and content")
    position: int = Field(description="the ledger's last position after the append")
    warnings: list[RuleVersionWarning] | None = Field(default=None, description=_RULE_WARNINGS)
    awaiting_jury: list[PublishedAwaitingJury] | None = Field(default=None, description=(
        "present only when the batch publishes a session (`ResultsPublished`) in which certifications still "
        "await the jury, as `GET /docket` lists them (a fraud report not ruled on, an incident report left to "
        "the jury, an unscorable result, a start during a ban), or while that is not known yet: published all "
        "the same (the docket advises; the jury may unpublish). `POST /events/check` does not say it: the "
        "batch's own rulings would not be counted"))


class EventsChecked(BaseModel):
    would_append: int = Field(description="facts that `POST /events` would append, were the batch sent now")
    already_recorded: int = Field(description="facts already in the ledger with the same event_id and content")
    position: int = Field(description="the ledger's last position when the check began: the batch was judged "
                                      "against the ledger as it stood then, or later")
    warnings: list[RuleVersionWarning] | None = Field(default=None, description=_RULE_WARNINGS)


class ChainHeadPublic(BaseModel):
    position: int = Field(description="the last link's position: every event up to it is chained")
    digest: str = Field(description="the link, 64 hexadecimal digits (SHA-256)")
    anchor: int = Field(description="where the chain starts (migration 014): the events up to it are not covered")
    committed_at: str | None = Field(description="when the commit the link closes committed (UTC); null for the "
                                                 "anchor of a ledger created empty")
    expect_chain: str = Field(description="the same head as `certledger verify --expect-chain` takes it")


class Health(BaseModel):
    status: Literal["ok"]
    backend: Literal["sqlite", "postgresql"]
    position: int = Field(description="the last position of the event log")
    projection_position: int
    lag: int = Field(description=(
        "how far the results projection is behind the log, in log positions: an upper bound on the events not "
        "yet in it (a refused or rolled-back write on PostgreSQL takes positions it leaves empty), exact at 0"))
    catching_up: bool = Field(description="the projection is being caught up in the background, by this process or "
                                          "(with several workers) another: reads answer 503 `results-catching-up` "
                                          "meanwhile")
    catch_up_failed: bool = Field(description="this process's last background catch-up failed (its log says why; "
                                              "reads answer 500 `results-catch-up-failed` until one succeeds)")


LINE = ("POST /events: 1-based, the line of a JSON Lines body (blank lines counted) or the item of a "
        "JSON array")


class LineProblem(BaseModel):
    line: int | None = Field(default=None, description=LINE)
    field: str | None
    detail: str
    code: str | None = None
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with the domain error's `code` and offending `field`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="https://certledger.dev/problems/<code>: stable per error")
    title: str
    status: int
    detail: str
    code: str
    field: str | None
    instance: str | None = None
    line: int | None = Field(default=None, description=f"the first refused line; {LINE}")
    errors: list[LineProblem] | None = Field(default=None, description="every problem, with `line` on POST /events")
    truncated: bool | None = Field(default=None, description=(
        "POST /events: true when `errors` stops at the first 50 lines refused and more were; false when it "
        "lists them all"))
    limit: int | None = Field(default=None, description="413: the limit the request went beyond, in `unit`")
    unit: Literal["bytes", "events"] | None = Field(default=None, description="413: what `limit` counts")
    accepted: list[str] | None = Field(default=None, description="415: the media types (or, for a content-encoded "
                                                                  "body, the content codings) the route reads")
