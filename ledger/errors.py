"""Domain errors, one per broken rule.

Each carries a stable `code` (the API's problem type) and the offending `field` when
one field is to blame; the message is meant for a person.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain-error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def _error(name: str, code: str, doc: str) -> type[DomainError]:
    return type(name, (DomainError,), {"code": code, "__doc__": doc})


UnknownSession = _error("UnknownSession", "unknown-session", "The session was never opened in this ledger.")
UnknownCertification = _error(
    "UnknownCertification", "unknown-certification", "The certification was never started in this ledger."
)
SessionAlreadyOpened = _error("SessionAlreadyOpened", "session-already-opened", "A session id is opened once.")
CertificationAlreadyStarted = _error(
    "CertificationAlreadyStarted", "certification-already-started", "A certification id is started once."
)
SessionAlreadyFinalised = _error(
    "SessionAlreadyFinalised", "session-already-finalised", "Finalisation happens once per session."
)
SessionFinalisedRefusesFact = _error(
    "SessionFinalisedRefusesFact",
    "session-finalised",
    "After finalisation only jury decisions and publication are accepted.",
)
NoCertificationStarted = _error(
    "NoCertificationStarted", "no-certification-started", "A session without any certification cannot be finalised."
)
AbortReasonMissing = _error(
    "AbortReasonMissing", "abort-reason-missing", "Every certification not completed needs an abort reason."
)
AbortReasonNotApplicable = _error(
    "AbortReasonNotApplicable",
    "abort-reason-not-applicable",
    "An abort reason names a certification of the session that was not completed.",
)
NotEnoughCertifiableCompetences = _error(
    "NotEnoughCertifiableCompetences",
    "not-enough-certifiable-competences",
    "A certification starts only with the rule set's minimum of certifiable competences.",
)
CandidateBanned = _error("CandidateBanned", "candidate-banned", "A banned candidate cannot start a certification.")
NoRuleVersionInForce = _error(
    "NoRuleVersionInForce", "no-rule-version-in-force", "No rule version is in force at that date."
)
QuestionAlreadyServed = _error("QuestionAlreadyServed", "question-already-served", "A question id is served once.")
FormatMisspelt = _error(
    "FormatMisspelt", "format-misspelt",
    "A question's format that reads as the one the rule version weighs (QROCM-dep) is written as it names it.",
)
TooManyQuestionsForCompetence = _error(
    "TooManyQuestionsForCompetence",
    "too-many-questions-for-competence",
    "No more questions per competence than the rule set allows.",
)
QuestionNotServed = _error("QuestionNotServed", "question-not-served", "Only a served question can be answered or judged.")
QuestionAlreadyAnswered = _error("QuestionAlreadyAnswered", "question-already-answered", "A question is answered once.")
CertificationAlreadyCompleted = _error(
    "CertificationAlreadyCompleted", "certification-already-completed", "Nothing is served or answered after completion."
)
DeprecatedIncidentCode = _error(
    "DeprecatedIncidentCode", "deprecated-incident-code", "Deprecated incident codes are refused for new reports."
)
ReportIdAlreadyUsed = _error("ReportIdAlreadyUsed", "report-id-already-used", "A report id is used once per certification.")
UnknownReport = _error("UnknownReport", "unknown-report", "The ruling names a report the certification does not have.")
FactDatedAhead = _error(
    "FactDatedAhead", "fact-dated-ahead",
    "A fact is not dated more than a day after the ledger records it: what has not happened yet is no fact.",
)
FactDatedOutOfOrder = _error(
    "FactDatedOutOfOrder", "fact-dated-out-of-order",
    "A fact is not dated before what it follows: a start before its session opened, a certification's fact "
    "before its start.",
)
ProfileOffScale = _error(
    "ProfileOffScale", "profile-off-scale",
    "A profile has at most 64 pix per competence, and its level is floor(pix / 8).",
)
QuestionAlreadyNeutralised = _error(
    "QuestionAlreadyNeutralised", "question-already-neutralised", "The question is already neutralised."
)
QuestionAlreadyDeneutralised = _error(
    "QuestionAlreadyDeneutralised", "question-already-deneutralised",
    "The jury's last word on the question is already a de-neutralisation.",
)
PublishedResultNeedsUnpublishing = _error(
    "PublishedResultNeedsUnpublishing",
    "published-result-needs-unpublishing",
    "A published result cannot be rejected for fraud before the results are unpublished.",
)
RulingDoesNotApply = _error(
    "RulingDoesNotApply", "ruling-does-not-apply", "The ruling undoes a decision that is not in force."
)
JuryIncomplete = _error(
    "JuryIncomplete", "jury-incomplete", "This decision needs at least 2 Pix members and 2 external members."
)
RuleDocumentRefused = _error(
    "RuleDocumentRefused", "rule-document-invalid", "The rule document does not validate."
)
RuleVersionAlreadyExists = _error(
    "RuleVersionAlreadyExists", "rule-version-already-exists", "A rule version name is used once."
)
SessionNotFinalised = _error(
    "SessionNotFinalised", "session-not-finalised",
    "Results are published, and the jury decides on a certification, only once its session is finalised."
)
ResultsAlreadyPublished = _error(
    "ResultsAlreadyPublished", "results-already-published", "The session's results are already published."
)
ResultsNotPublished = _error(
    "ResultsNotPublished", "results-not-published", "Only published results can be unpublished."
)
BanPeriodEmpty = _error("BanPeriodEmpty", "ban-period-empty", "A ban ends after the ruling that decides it.")
RulingIdConflict = _error(
    "RulingIdConflict", "ruling-id-conflict", "A ruling_id names one decision: it is already recorded with other content."
)
EventIdReserved = _error(
    "EventIdReserved", "event-id-reserved", "An event_id may not start with the prefix the ledger keeps for ruling ids."
)
EventIdConflict = _error(
    "EventIdConflict", "event-id-conflict", "An event_id is already recorded with different content."
)
OutOfScope = _error(
    "OutOfScope", "out-of-scope", "The writer may not append this fact (another centre's session)."
)
