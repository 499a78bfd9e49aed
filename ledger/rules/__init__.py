"""Rule versions: JSON documents a jury can read and vary, resolved into RuleSets.

    timeline = RuleTimeline.builtin()
    rules = timeline.in_force(certification_started_at)
"""

from ledger.rules.builtin import builtin_documents
from ledger.rules.document import (
    ALGORITHMS,
    AbortPolicy,
    QrocmDep,
    ReproducibilityRate,
    RuleDocument,
    RuleSet,
    TrustRule,
)
from ledger.rules.incident_policy import IncidentRule, condition_met
from ledger.rules.level_table import BANDS, Band, LevelRow, Span
from ledger.rules.problems import RuleDocumentInvalid, RuleProblem
from ledger.rules.resolution import resolve_document
from ledger.rules.schema import rule_document_json_schema
from ledger.rules.timeline import RuleTimeline

__all__ = [
    "ALGORITHMS",
    "BANDS",
    "AbortPolicy",
    "Band",
    "IncidentRule",
    "LevelRow",
    "QrocmDep",
    "ReproducibilityRate",
    "RuleDocument",
    "RuleDocumentInvalid",
    "RuleProblem",
    "RuleSet",
    "RuleTimeline",
    "Span",
    "TrustRule",
    "builtin_documents",
    "condition_met",
    "resolve_document",
    "rule_document_json_schema",
]
