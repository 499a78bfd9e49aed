"""The rules a fact must satisfy before the ledger records it.

The ledger records facts, so it refuses what is malformed or impossible, not what is
merely unusual: a question for a competence the candidate cannot certify is recorded
(scoring ignores it). Rule-set parameters (minimum certifiable competences, questions
per competence) come from the version in force at the certification's date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from ledger import errors as E
from ledger.aggregates import CandidateState, CertificationState, SessionState
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
    ResultsPublished,
    ResultsUnpublished,
    RuleVersionChanged,
    SessionFinalised,
    SessionOpened,
)
from ledger.rules.problems import RuleDocumentInvalid
from ledger.vocabulary import DEPRECATED_INCIDENT_CODES, MAX_PIX_PER_COMPETENCE, PIX_PER_LEVEL

MIN_PIX_MEMBERS = 2
MIN_EXTERNAL_MEMBERS = 2
MAX_NAMED_MISSING = 20  # certifications an AbortReasonMissing names (it counts the others)


@dataclass
class Context:
    """The states a fact is judged against, loaded by the command layer."""

    stream: Any  # the state of the fact's own stream
    rules: Any  # ledger.rules.RuleTimeline
    session: SessionState | None = None  # the session the fact belongs to
    candidate: CandidateState | None = None
    certification: CertificationState | None = None
    session_certifications: Mapping[str, CertificationState] = field(default_factory=dict)
    recorded_at: datetime | None = None  # when the ledger records the fact (its clock, passed in)


# How far after its recording a fact may be dated: the centres' and the jury's clocks
# are not the ledger's, and a fact reported at once may be stamped a little ahead. A day
# covers any clock or time-zone slip; beyond, the date is a typo (2204 for 2024) that the
# immutable log would keep for good, and every as-of answer and rule choice would read.
MAX_DATED_AHEAD = timedelta(days=1)


def check(event: LedgerEvent, ctx: Context) -> None:
    """Raise the DomainError of the first rule the fact breaks."""
    if ctx.recorded_at is not None and event.at > ctx.recorded_at + MAX_DATED_AHEAD:
        raise E.FactDatedAhead(
            f"{event.type} is dated {event.at.isoformat()}, more than a day after the ledger records it "
            f"({ctx.recorded_at.isoformat()}): a fact is what has happened", field="at")
    _CHECKS[type(event)](event, ctx)


def _session_open(ctx: Context, session_id: str) -> SessionState:
    session = ctx.session
    if session is None or not session.exists:
        raise E.UnknownSession(f"session {session_id} was never opened", field="session_id")
    return session


def _certification(ctx: Context, event: LedgerEvent) -> CertificationState:
    """The certification a fact is about: started, and not after the fact's date."""
    certification_id = event.certification_id  # type: ignore[attr-defined]
    cert = ctx.certification
    if cert is None or not cert.exists:
        raise E.UnknownCertification(
            f"certification {certification_id} was never started", field="certification_id"
        )
    if cert.started_at is not None and event.at < cert.started_at:
        raise E.FactDatedOutOfOrder(
            f"{event.type} is dated {event.at.isoformat()}, before certification {certification_id} "  # type: ignore[attr-defined]
            f"started ({cert.started_at.isoformat()})",
            field="at",
        )
    return cert


def _centre_fact(event: LedgerEvent, ctx: Context) -> CertificationState:
    """A fact the centre reports during the test: refused once the session is finalised
    (ctx.session is known only for a started certification; an unknown one is refused
    next, by `_certification`)."""
    if ctx.session is not None and ctx.session.finalised:
        raise E.SessionFinalisedRefusesFact(
            f"session {ctx.session.session_id} is finalised: {event.type} is no longer accepted for "  # type: ignore[attr-defined]
            f"certification {event.certification_id}; only jury decisions and publication are",  # type: ignore[attr-defined]
            field="type",
        )
    return _certification(ctx, event)


def _jury_fact(event: LedgerEvent, ctx: Context) -> CertificationState:
    """A jury's fact about a certification: the jury processes a finalised session
    (pix-rules.md §5: created → finalised → processed by the jury), so its decisions
    follow the finalisation, in the ledger and in time. Before, a neutralisation or a
    rejection could be written while the test went on, and an as-of or an audit showed
    the jury ruling on a test not yet over. Judged on writing only: facts already stored
    are read as they were."""
    cert = _certification(ctx, event)
    if ctx.session is not None:
        too_soon = jury_fact_too_soon(event, cert.certification_id, cert.session_id, ctx.session.finalised,
                                      ctx.session.finalised_at)
        if too_soon is not None:
            raise too_soon
    return cert


def jury_fact_too_soon(event: LedgerEvent, certification_id: str, session_id: str, finalised: bool,
                       finalised_at: datetime | None) -> E.DomainError | None:
    """The refusal of a jury's fact about a certification recorded before its session's
    finalisation, or dated before it; None if it comes after. (`verify` asks it of the
    facts recorded before this rule, which an import of their export would refuse.)"""
    if not finalised:
        return E.SessionNotFinalised(
            f"session {session_id} is not finalised: the jury decides on certification "
            f"{certification_id} once its session is", field="certification_id",
        )
    if finalised_at is not None and event.at < finalised_at:
        return E.FactDatedOutOfOrder(
            f"{event.type} is dated {event.at.isoformat()}, before session {session_id} was finalised "
            f"({finalised_at.isoformat()})", field="at",
        )
    return None


def _rules_at(ctx: Context, moment: datetime):
    """The rule set in force at a certification's start: its parameters bind the test."""
    rules = ctx.rules.in_force(moment)
    if rules is None:
        raise E.NoRuleVersionInForce(f"no rule version is in force at {moment.isoformat()}", field="at")
    return rules


def _check_session_opened(event: SessionOpened, ctx: Context) -> None:
    if ctx.stream.exists:
        raise E.SessionAlreadyOpened(f"session {event.session_id} is already opened", field="session_id")


def _check_profile_scale(event: CertificationStarted) -> None:
    """pix-rules.md §1-§2: 64 pix at most per competence, and the estimated level is
    floor(pix / 8). Scoring takes the level for certifiability and for what V and D
    certify: a stated level that contradicts the pix would decide results on it."""
    problems: list[tuple[str, str]] = []  # (field, what): every competence off scale, not the first only
    for code, entry in sorted(event.profile.items()):
        if entry.pix > MAX_PIX_PER_COMPETENCE:
            problems.append((f"profile.{code}.pix",
                             f"competence {code}: {entry.pix} pix is above the framework's {MAX_PIX_PER_COMPETENCE}"))
        elif entry.level != entry.pix // PIX_PER_LEVEL:
            problems.append((f"profile.{code}.level",
                             f"competence {code}: level {entry.level} is not floor(pix / {PIX_PER_LEVEL}) = "
                             f"{entry.pix // PIX_PER_LEVEL} for {entry.pix} pix"))
    if problems:
        raise E.ProfileOffScale("; ".join(what for _, what in problems), field=problems[0][0])


def _check_certification_started(event: CertificationStarted, ctx: Context) -> None:
    if ctx.stream.exists:
        raise E.CertificationAlreadyStarted(
            f"certification {event.certification_id} is already started", field="certification_id"
        )
    session = _session_open(ctx, event.session_id)
    if session.finalised:
        raise E.SessionFinalisedRefusesFact(
            f"session {event.session_id} is finalised: no certification can start in it", field="session_id"
        )
    # The start's date chooses the rule version in force and is checked against bans: it
    # cannot go back before its session opened.
    if session.opened_at is not None and event.at < session.opened_at:
        raise E.FactDatedOutOfOrder(
            f"certification {event.certification_id} is dated {event.at.isoformat()}, before session "
            f"{event.session_id} opened ({session.opened_at.isoformat()})",
            field="at",
        )
    _check_profile_scale(event)
    rules = _rules_at(ctx, event.at)
    certifiable = sum(1 for p in event.profile.values() if p.level >= 1)
    if certifiable < rules.min_certifiable_competences:
        raise E.NotEnoughCertifiableCompetences(
            f"the profile has {certifiable} certifiable competences (level >= 1); rule version "
            f"{rules.version} needs at least {rules.min_certifiable_competences}",
            field="profile",
        )
    if ctx.candidate is not None:
        until = ctx.candidate.banned_at(event.at)
        if until is not None:
            raise E.CandidateBanned(
                f"candidate {event.candidate_id} is banned from certification until {until.isoformat()}",
                field="candidate_id",
            )


def _check_question_served(event: QuestionServed, ctx: Context) -> None:
    cert = _centre_fact(event, ctx)
    if cert.completed:
        raise E.CertificationAlreadyCompleted(
            f"certification {cert.certification_id} is completed: no question can be served", field="type"
        )
    if event.question_id in cert.questions:
        raise E.QuestionAlreadyServed(
            f"question {event.question_id} is already served to {cert.certification_id}", field="question_id"
        )
    rules = _rules_at(ctx, cert.started_at)
    weighed = rules.qrocm_dep.format
    if event.format != weighed and _letters(event.format) == _letters(weighed):
        # "qrocm-dep" or "QROCM dep" was taken as some other format, weighed 1 without a
        # word (§3.3: the format that validates two skills). Other formats weigh nothing
        # apart, and stay free text: a new test modality is the jury's to name.
        raise E.FormatMisspelt(
            f"format {event.format!r} reads as {weighed!r}, the format rule version {rules.version} weighs "
            f"{rules.qrocm_dep.weight} in a competence of fewer than {rules.questions_per_competence} questions, but "
            f"is not written as it: write {weighed!r}", field="format")
    served = cert.per_competence.get(event.competence, 0)
    if served >= rules.questions_per_competence:
        raise E.TooManyQuestionsForCompetence(
            f"competence {event.competence} already has {served} questions in {cert.certification_id}; "
            f"rule version {rules.version} allows {rules.questions_per_competence}",
            field="competence",
        )


@lru_cache(maxsize=256)  # (a handful of formats, met at every question served)
def _letters(text: str) -> str:
    """A format as read: its letters and digits, case folded."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _check_answer_recorded(event: AnswerRecorded, ctx: Context) -> None:
    cert = _centre_fact(event, ctx)
    if event.question_id not in cert.questions:
        raise E.QuestionNotServed(
            f"question {event.question_id} was not served to {cert.certification_id}", field="question_id"
        )
    if event.question_id in cert.answered:
        raise E.QuestionAlreadyAnswered(
            f"question {event.question_id} of {cert.certification_id} is already answered", field="question_id"
        )
    if cert.completed:
        raise E.CertificationAlreadyCompleted(
            f"certification {cert.certification_id} is completed: no answer can be recorded", field="type"
        )
    served_at = cert.served_at.get(event.question_id)
    if served_at is not None and event.at < served_at:
        raise E.FactDatedOutOfOrder(
            f"the answer is dated {event.at.isoformat()}, before question {event.question_id} was served "
            f"({served_at.isoformat()})", field="at",
        )


def _check_certification_completed(event: CertificationCompleted, ctx: Context) -> None:
    cert = _centre_fact(event, ctx)
    if cert.completed:
        raise E.CertificationAlreadyCompleted(
            f"certification {cert.certification_id} is already completed", field="type"
        )
    # A completion closes the test: dated before a question served or an answer, the
    # as-of and the audit showed the test going on after it was over.
    if cert.tested_until is not None and event.at < cert.tested_until:
        raise E.FactDatedOutOfOrder(
            f"the completion is dated {event.at.isoformat()}, before the last question or answer of "
            f"{cert.certification_id} ({cert.tested_until.isoformat()})", field="at",
        )


def _check_incident_reported(event: IncidentReported, ctx: Context) -> None:
    cert = _centre_fact(event, ctx)
    if event.code in DEPRECATED_INCIDENT_CODES:
        raise E.DeprecatedIncidentCode(
            f"incident code {event.code} is deprecated and refused for new reports", field="code"
        )
    _new_report(cert, event.report_id)


def _check_fraud_reported(event: FraudReported, ctx: Context) -> None:
    cert = _centre_fact(event, ctx)
    _new_report(cert, event.report_id)


def _new_report(cert: CertificationState, report_id: str) -> None:
    if report_id in cert.report_ids:
        raise E.ReportIdAlreadyUsed(
            f"report {report_id} is already recorded for {cert.certification_id}", field="report_id"
        )


def _check_session_finalised(event: SessionFinalised, ctx: Context) -> None:
    session = _session_open(ctx, event.session_id)
    if session.finalised:
        raise E.SessionAlreadyFinalised(f"session {event.session_id} is already finalised", field="session_id")
    certs = ctx.session_certifications
    if not certs:
        raise E.NoCertificationStarted(
            f"session {event.session_id} has no started certification: it cannot be finalised", field="session_id"
        )
    # A session is finalised after its certifications' tests (so after it opened): a
    # finalisation dated before was accepted, and an as-of or an audit then showed the
    # session finalised before anything happened in it, or answers after it. (Reports
    # may be dated later: a fraud is often written up after the session.)
    tested = [(c.tested_until, cid) for cid, c in certs.items() if c.tested_until is not None]
    last, latest = max(tested) if tested else (session.opened_at, None)
    if last is not None and event.at < last:
        raise E.FactDatedOutOfOrder(
            f"the finalisation is dated {event.at.isoformat()}, before the last fact of the tests of session "
            f"{event.session_id}: "
            + (f"certification {latest}'s start, question served, answer or completion of {last.isoformat()}"
               if latest is not None else f"its opening ({last.isoformat()})"),
            field="at",
        )
    for cert_id in event.abort_reasons:
        if cert_id not in certs:
            raise E.AbortReasonNotApplicable(
                f"abort reason given for {cert_id}, which is not a certification of session {event.session_id}",
                field=f"abort_reasons.{cert_id}",
            )
        if certs[cert_id].completed:
            raise E.AbortReasonNotApplicable(
                f"abort reason given for {cert_id}, which was completed", field=f"abort_reasons.{cert_id}"
            )
    missing = sorted(c for c, s in certs.items() if not s.completed and c not in event.abort_reasons)
    if missing:
        # The first ones named, not every one: 5,000 ids in each of a batch's 50 listed
        # refusals (and the problem's detail) answered 3 MB to a 420 KB request.
        named = ", ".join(missing[:MAX_NAMED_MISSING])
        more = f" and {len(missing) - MAX_NAMED_MISSING} more" if len(missing) > MAX_NAMED_MISSING else ""
        raise E.AbortReasonMissing(
            f"certifications not completed need an abort reason (candidate or technical): {named}{more}",
            field="abort_reasons",
        )


def _check_neutralised(event: QuestionNeutralised, ctx: Context) -> None:
    cert = _jury_fact(event, ctx)
    _served(cert, event.question_id)
    if event.question_id in cert.neutralised:
        raise E.QuestionAlreadyNeutralised(
            f"question {event.question_id} of {cert.certification_id} is already neutralised by the jury",
            field="question_id",
        )
    _not_before_the_jury_word(event, cert, "the neutralisation", "the de-neutralisation", "follows")


def _check_deneutralised(event: QuestionDeneutralised, ctx: Context) -> None:
    # The jury may de-neutralise any question (pix-rules.md §4), whoever neutralised it:
    # itself, an incident report or a technical abort, and so lift a cancellation for
    # too many neutralisations (§3.5). Whether a question is neutralised automatically
    # is derived, by the rule version in force, which a later version can change: the
    # ledger cannot refuse on it. The result's explanation says when there was nothing to
    # lift. Only a repetition of the jury's own last word is refused.
    cert = _jury_fact(event, ctx)
    _served(cert, event.question_id)
    if event.question_id in cert.deneutralised:
        raise E.QuestionAlreadyDeneutralised(
            f"question {event.question_id} of {cert.certification_id} is already de-neutralised by the jury",
            field="question_id",
        )
    _not_before_the_jury_word(event, cert, "the de-neutralisation", "the neutralisation", "withdraws")


def _not_before_the_jury_word(event: QuestionNeutralised | QuestionDeneutralised, cert: CertificationState,
                              this: str, undone: str, how: str) -> None:
    """A neutralisation and a de-neutralisation of a question each undo the jury's word
    before them: dated before it, the audit said a decision was withdrawn before it was
    taken. (A question neutralised automatically has no jury word: nothing to date.)"""
    last = cert.jury_word_at.get(event.question_id)
    if last is not None and event.at < last:
        raise E.FactDatedOutOfOrder(
            f"{this} is dated {event.at.isoformat()}, before {undone} of question {event.question_id} of "
            f"{cert.certification_id} it {how} ({last.isoformat()})", field="at",
        )


def _served(cert: CertificationState, question_id: str) -> None:
    if question_id not in cert.questions:
        raise E.QuestionNotServed(
            f"question {question_id} was not served to {cert.certification_id}", field="question_id"
        )


# The jury's decisions that settle a result's status (pix-rules.md §5: "the jury
# decides"), taken, like a ban, by the jury as constituted: 2 Pix and 2 external members.
# The others (resolving an incident by hand, a comment) name at least who took them.
FULL_JURY_DECISIONS = {"ban_candidate": "a ban", "unban": "lifting a ban", "reject_for_fraud": "a fraud rejection",
                       "unreject": "lifting a fraud rejection", "cancel": "a cancellation",
                       "uncancel": "lifting a cancellation"}


def _check_jury_ruling(event: JuryRuling, ctx: Context) -> None:
    if event.decision in FULL_JURY_DECISIONS:
        _full_jury(event.jury, FULL_JURY_DECISIONS[event.decision])
    elif not event.jury:
        raise E.JuryIncomplete(f"{event.decision} names no jury member: who took it?", field="jury")
    if event.decision == "ban_candidate":
        if event.until is not None and event.until <= event.at:
            # §5: a ban is for a set period from the ruling; one over before it was decided
            # was recorded and silently did nothing.
            raise E.BanPeriodEmpty(
                f"the ban ends ({event.until.isoformat()}) no later than the ruling that decides it "
                f"({event.at.isoformat()}): it must end after it", field="until",
            )
        _not_running_past_a_lifting(event, ctx.candidate)
        return
    if event.decision == "unban":
        # Lifting a ban the candidate is not under at that moment (none, over, lifted, or
        # decided later) would be recorded and do nothing.
        if ctx.candidate is None or ctx.candidate.banned_at(event.at) is None:
            raise E.RulingDoesNotApply(
                f"candidate {event.candidate_id} is under no ban at {event.at.isoformat()}: there is none to lift",
                field="decision")
        return
    if not event.certification_id:
        return  # a general comment
    cert = _jury_fact(event, ctx)
    decision = event.decision
    if decision == "reject_for_fraud":
        if cert.rejected_for_fraud:
            raise E.RulingDoesNotApply(f"{cert.certification_id} is already rejected for fraud", field="decision")
        if ctx.session is not None and ctx.session.published:
            raise E.PublishedResultNeedsUnpublishing(
                f"the results of session {cert.session_id} are published: unpublish them before rejecting "
                f"{cert.certification_id} for fraud",
                field="decision",
            )
    elif decision == "unreject" and not cert.rejected_for_fraud:
        raise E.RulingDoesNotApply(f"{cert.certification_id} is not rejected for fraud", field="decision")
    elif decision == "cancel" and cert.cancelled:
        raise E.RulingDoesNotApply(f"{cert.certification_id} is already cancelled", field="decision")
    elif decision == "uncancel" and not cert.cancelled:
        raise E.RulingDoesNotApply(f"{cert.certification_id} is not cancelled", field="decision")
    elif decision == "resolve_incident" and event.report_id not in cert.report_ids:
        raise E.UnknownReport(
            f"certification {cert.certification_id} has no report {event.report_id}", field="report_id"
        )
    if decision in ("reject_for_fraud", "unreject"):
        _not_before_the_ruling_undone(event, cert, cert.last_rejection_ruling)
    elif decision in ("cancel", "uncancel"):
        _not_before_the_ruling_undone(event, cert, cert.last_cancellation_ruling)


def _not_running_past_a_lifting(event: JuryRuling, candidate: CandidateState | None) -> None:
    """A lifting ends every ban of the candidate in force at its moment: a ban recorded
    after it, dated before it and running past it, would have escaped it, the candidate
    banned on after a lifting the audit says ended every ban then. (One decided at the
    lifting's moment follows it: the jury lifting a ban and deciding another at one sitting.)"""
    spanned = [(at, ruling_id) for ruling_id, at in (candidate.liftings if candidate is not None else ())
               if event.until is not None and event.at < at < event.until]
    if spanned:
        at, ruling_id = max(spanned)  # (the last: a ban dated from it spans none)
        first = min(spanned)[0]  # (one ending by the first spans none either; "before" the last spanned the first)
        raise E.FactDatedOutOfOrder(
            f"the ban is dated {event.at.isoformat()}, before the ruling {ruling_id} that lifted every ban of "
            f"candidate {event.candidate_id} in force at {at.isoformat()}, and runs past it: date it from "
            f"that lifting on, or end it by {first.isoformat()}", field="at",
        )


def _not_before_the_ruling_undone(event: JuryRuling, cert: CertificationState,
                                  last: tuple[str, str, datetime] | None) -> None:
    """Lifting a fraud rejection or a cancellation undoes the ruling before it (and a new
    one undoes that lifting): dated before it, the audit said a ruling was lifted days
    before it was decided."""
    if last is not None and event.at < last[2]:
        ruling_id, decision, at = last
        how = "lifts" if event.decision in ("unreject", "uncancel") else "follows"
        raise E.FactDatedOutOfOrder(
            f"the ruling is dated {event.at.isoformat()}, before the ruling {ruling_id} ({decision}) of "
            f"{cert.certification_id} it {how} ({at.isoformat()})", field="at",
        )


def _full_jury(jury: list[JuryMember], what: str) -> None:
    ids = [m.member_id for m in jury]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        # One person counted as Pix and external (or twice) would make a jury of fewer.
        raise E.JuryIncomplete(f"{what}: jury members are listed more than once: {', '.join(twice)}", field="jury")
    pix = {m.member_id for m in jury if not m.external}
    external = {m.member_id for m in jury if m.external}
    if len(pix) < MIN_PIX_MEMBERS or len(external) < MIN_EXTERNAL_MEMBERS:
        raise E.JuryIncomplete(
            f"{what} needs a jury of at least {MIN_PIX_MEMBERS} Pix members and {MIN_EXTERNAL_MEMBERS} "
            f"external members; this one has {len(pix)} Pix and {len(external)} external",
            field="jury",
        )


def rule_document_of(event: RuleVersionChanged) -> dict[str, Any]:
    """The document the event carries, with the event's version and date filled in."""
    doc = dict(event.rules)
    doc.setdefault("version", event.version)
    doc.setdefault("effective_from", event.effective_from.isoformat())
    return doc


def rule_document_of_line(line: dict[str, Any]) -> dict[str, Any] | None:
    """The document a RuleVersionChanged line carries (not parsed: one that may not parse),
    with the line's version and date filled in as `rule_document_of` fills them; None if
    its `rules` is no object."""
    doc = line.get("rules")
    if not isinstance(doc, dict):
        return None
    doc = dict(doc)
    for key in ("version", "effective_from"):
        if isinstance(line.get(key), str):
            doc.setdefault(key, line[key])
    return doc


def _check_rule_version_changed(event: RuleVersionChanged, ctx: Context) -> None:
    judge_rule_version(event, ctx.rules)


def judge_rule_version(event: RuleVersionChanged, rules: Any) -> None:
    """What recording a rule version asks beyond its line's fields, against the rules
    stream before it (`RulesState`): the full jury, a new version name, and its document,
    judged as written. `verify` asks it again of the versions a ledger holds, whose
    export an import would judge so."""
    _full_jury(event.jury, "a rule version")
    if rules.get(event.version) is not None:
        raise E.RuleVersionAlreadyExists(f"rule version {event.version} already exists", field="version")
    doc = rule_document_of(event)
    if doc["version"] != event.version:
        raise E.RuleDocumentRefused(
            f"the document names version {doc['version']!r} but the event {event.version!r}", field="rules.version"
        )
    try:
        rules.validate(doc)
    except RuleDocumentInvalid as invalid:  # each problem with its path; the field is the first's
        first = invalid.problems[0].path if invalid.problems else ""
        raise E.RuleDocumentRefused(
            f"rule document {event.version} is invalid: " + "; ".join(map(str, invalid.problems)),
            field=f"rules.{first}" if first else "rules",
        ) from invalid
    except Exception as problem:  # a document so malformed the resolution itself broke
        raise E.RuleDocumentRefused(f"rule document {event.version} is invalid: {problem}", field="rules") from problem
    if _as_datetime(doc["effective_from"]) != event.effective_from:
        raise E.RuleDocumentRefused(
            "the document's effective_from differs from the event's", field="rules.effective_from"
        )


def _as_datetime(value: Any) -> datetime:
    # Upper-cased: RFC 3339 allows `t` and `z`, which the document's own check takes (a
    # lower-case `z` was compared here as text Python could not read, and broke the import).
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).upper().replace("Z", "+00:00"))


def _check_results_published(event: ResultsPublished, ctx: Context) -> None:
    session = _session_open(ctx, event.session_id)
    if not session.finalised:
        raise E.SessionNotFinalised(f"session {event.session_id} is not finalised", field="session_id")
    if session.published:
        raise E.ResultsAlreadyPublished(f"session {event.session_id} is already published", field="session_id")
    if session.finalised_at is not None and event.at < session.finalised_at:
        raise E.FactDatedOutOfOrder(
            f"the publication is dated {event.at.isoformat()}, before session {event.session_id} was finalised "
            f"({session.finalised_at.isoformat()})", field="at",
        )
    _not_before_the_last_publication_change(event, session, "unpublication")


def _check_results_unpublished(event: ResultsUnpublished, ctx: Context) -> None:
    session = _session_open(ctx, event.session_id)
    if not session.published:
        raise E.ResultsNotPublished(f"session {event.session_id} is not published", field="session_id")
    _not_before_the_last_publication_change(event, session, "publication")


def _not_before_the_last_publication_change(event: LedgerEvent, session: SessionState, undone: str) -> None:
    """A publication undoes the unpublication before it, and the other way round: dated
    before it, an audit and an export showed the results withdrawn before they were
    published (and an import of that export took it as it came)."""
    last = session.published_changed_at
    if last is not None and event.at < last:
        raise E.FactDatedOutOfOrder(
            f"the {'publication' if undone == 'unpublication' else 'unpublication'} is dated {event.at.isoformat()}, "
            f"before the {undone} of session {session.session_id} it follows ({last.isoformat()})", field="at",
        )


_CHECKS: dict[type, Callable[[Any, Context], None]] = {
    SessionOpened: _check_session_opened,
    CertificationStarted: _check_certification_started,
    QuestionServed: _check_question_served,
    AnswerRecorded: _check_answer_recorded,
    CertificationCompleted: _check_certification_completed,
    IncidentReported: _check_incident_reported,
    FraudReported: _check_fraud_reported,
    SessionFinalised: _check_session_finalised,
    QuestionNeutralised: _check_neutralised,
    QuestionDeneutralised: _check_deneutralised,
    JuryRuling: _check_jury_ruling,
    RuleVersionChanged: _check_rule_version_changed,
    ResultsPublished: _check_results_published,
    ResultsUnpublished: _check_results_unpublished,
}
