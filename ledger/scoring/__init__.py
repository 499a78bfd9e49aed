"""Deriving a certification's result from its facts under a rule version: pure, no I/O,
no clock.

    facts = CertificationFacts.from_events(events_of_one_certification)
    result = score(facts, timeline.in_force(facts.started_at))
"""

from ledger.scoring.facts import (
    CertificationFacts,
    JuryQuestionDecision,
    ReportedIncident,
    RulingRef,
    ServedQuestion,
)
from ledger.scoring.result import (
    CompetenceExplanation,
    CompetenceMark,
    Explanation,
    IncidentExplanation,
    JuryDecision,
    QuestionExplanation,
    RateExplanation,
    Result,
    RowRef,
    TrustExplanation,
)
from ledger.scoring.score import ALGORITHMS, AlgorithmNotSupported, score, score_events, scored_json

__all__ = [
    "ALGORITHMS",
    "AlgorithmNotSupported",
    "CertificationFacts",
    "CompetenceExplanation",
    "CompetenceMark",
    "Explanation",
    "IncidentExplanation",
    "JuryDecision",
    "JuryQuestionDecision",
    "QuestionExplanation",
    "RateExplanation",
    "ReportedIncident",
    "Result",
    "RowRef",
    "RulingRef",
    "ServedQuestion",
    "TrustExplanation",
    "score",
    "score_events",
    "scored_json",
]
