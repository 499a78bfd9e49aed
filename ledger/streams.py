"""Which stream a fact belongs to.

One stream per certification (its questions, answers, reports, neutralisations and the
rulings that name it), per session (opening, finalisation, publication), per candidate
(bans and their lifting), one for the rule timeline and one for jury decisions naming nothing else.
Concurrent writers to one stream are serialised by its version numbers.
"""

from __future__ import annotations

from ledger.events import (
    JuryRuling,
    LedgerEvent,
    ResultsPublished,
    ResultsUnpublished,
    RuleVersionChanged,
    SessionFinalised,
    SessionOpened,
)
from ledger.vocabulary import CANDIDATE_DECISIONS

RULES_STREAM = "rules"
JURY_STREAM = "jury"

_SESSION_EVENTS = (SessionOpened, SessionFinalised, ResultsPublished, ResultsUnpublished)


def session_stream(session_id: str) -> str:
    return f"session:{session_id}"


def certification_stream(certification_id: str) -> str:
    return f"certification:{certification_id}"


_CERTIFICATION_PREFIX = certification_stream("")


def certification_of_stream(stream: str) -> str | None:
    """The certification whose stream this is (None for any other stream): the id every
    event of that stream names (`stream_of`)."""
    return stream[len(_CERTIFICATION_PREFIX):] if stream.startswith(_CERTIFICATION_PREFIX) else None


def candidate_stream(candidate_id: str) -> str:
    return f"candidate:{candidate_id}"


def stream_of(event: LedgerEvent) -> str:
    if isinstance(event, _SESSION_EVENTS):
        return session_stream(event.session_id)
    if isinstance(event, RuleVersionChanged):
        return RULES_STREAM
    if isinstance(event, JuryRuling):
        if event.decision in CANDIDATE_DECISIONS:
            return candidate_stream(event.candidate_id)
        if event.certification_id:
            return certification_stream(event.certification_id)
        return JURY_STREAM
    return certification_stream(event.certification_id)  # type: ignore[attr-defined]
