"""The domain's closed vocabularies, restated from the Pix reference (pix-rules.md §1, §2, §4).

These are facts of the certification framework, not rule parameters: a rule version
may change how an incident is resolved, not which codes exist.
"""

from __future__ import annotations

COMPETENCES: dict[str, str] = {
    "1.1": "Mener une recherche et une veille d'information",
    "1.2": "Gérer des données",
    "1.3": "Traiter des données",
    "2.1": "Interagir",
    "2.2": "Partager et publier",
    "2.3": "Collaborer",
    "2.4": "S'insérer dans le monde numérique",
    "3.1": "Développer des documents textuels",
    "3.2": "Développer des documents multimédia",
    "3.3": "Adapter les documents à leur finalité",
    "3.4": "Programmer",
    "4.1": "Sécuriser l'environnement numérique",
    "4.2": "Protéger les données personnelles et la vie privée",
    "4.3": "Protéger la santé, le bien-être et l'environnement",
    "5.1": "Résoudre des problèmes techniques",
    "5.2": "Construire un environnement numérique",
}

# The framework's scale (§1): 8 pix per level, 8 levels, so at most 64 pix per competence.
# A positioning profile is measured on it; what certification may reach of it (the cap)
# is a rule parameter.
PIX_PER_LEVEL = 8
FRAMEWORK_LEVELS = 8
MAX_PIX_PER_COMPETENCE = PIX_PER_LEVEL * FRAMEWORK_LEVELS

AREAS: dict[str, str] = {
    "1": "Information et données",
    "2": "Communication et collaboration",
    "3": "Création de contenu",
    "4": "Protection et sécurité",
    "5": "Environnement numérique",
}

ANSWER_STATUSES: frozenset[str] = frozenset(
    {"ok", "ko", "partially", "skipped", "timedout", "focusedOut"}
)

# Codes a centre may use for a new report.
INCIDENT_CODES: dict[str, str] = {
    "C1": "candidate name or birth date change",
    "C2": "extra-time change",
    "C4": "signature issue",
    "C6": "fraud suspicion",
    "C7": "non-blocking technical issue",
    "C8": "non-blocking candidate issue",
    "E1": "image not displaying",
    "E2": "embed (simulator) not working",
    "E3": "file not opening",
    "E4": "website unavailable",
    "E5": "website blocked by the centre's network",
    "E8": "extra time exceeded",
    "E9": "software not working",
    "E10": "unintentional focus out",
    "E11": "'oops' error page / platform problem",
    "E12": "accessibility issue",
}

# Deprecated codes: refused for new reports, still readable in old streams.
DEPRECATED_INCIDENT_CODES: frozenset[str] = frozenset({"C3", "C5", "A1", "A2", "E6", "E7"})

ALL_INCIDENT_CODES: frozenset[str] = frozenset(INCIDENT_CODES) | DEPRECATED_INCIDENT_CODES

# In-challenge codes (E…) name a question by its rank among those served (1..500).
MAX_QUESTION_NUMBER = 500


def is_in_challenge(code: str) -> bool:
    return code.startswith("E")


ABORT_REASONS: frozenset[str] = frozenset({"candidate", "technical"})

JURY_DECISIONS: frozenset[str] = frozenset(
    {
        "reject_for_fraud",
        "unreject",
        "cancel",
        "uncancel",
        "ban_candidate",
        "unban",
        "resolve_incident",
        "comment",
    }
)

# Decisions that act on one candidate (kept in the candidate's stream).
CANDIDATE_DECISIONS: frozenset[str] = frozenset({"ban_candidate", "unban"})

# Decisions that act on one certification and so need its id.
CERTIFICATION_DECISIONS: frozenset[str] = frozenset(
    {"reject_for_fraud", "unreject", "cancel", "uncancel", "resolve_incident"}
)

RESULT_STATUSES: tuple[str, ...] = ("validated", "rejected", "cancelled", "error")
