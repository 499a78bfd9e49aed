"""The rule timeline as the ledger holds it: a fold of the `rules` stream.

A new ledger's stream starts with the built-in versions (see `genesis_events`), so the
timeline is always read from the ledger, never from code keyed on a date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ledger.events import LedgerEvent, RuleVersionChanged

GENESIS_RECORDER = "certledger:genesis"
GENESIS_REASON = "built-in rule version shipped with certledger (pix-rules.md §6)"


class RulesState:
    def __init__(self) -> None:
        from ledger.rules import RuleTimeline

        self.version = 0
        self.timeline = RuleTimeline()

    @classmethod
    def folded(cls, events: Iterable[LedgerEvent]) -> RulesState:
        """The state after `events`: the rules stream's, in order."""
        state = cls()
        for event in events:
            state.apply(event)
        return state

    def apply(self, event: LedgerEvent) -> None:
        from ledger.decisions import rule_document_of

        self.version += 1
        if isinstance(event, RuleVersionChanged):
            self.timeline.add(rule_document_of(event))

    # The interface the decisions read.
    def in_force(self, at: datetime):
        return self.timeline.in_force(at)

    def get(self, version: str):
        return self.timeline.get(version)

    def validate(self, doc: dict[str, Any]) -> None:
        """Raise RuleDocumentInvalid if `doc`, being recorded, would not resolve against
        this timeline (judged as written: strictly)."""
        from ledger.rules import resolve_document

        known = {v.version: v for v in self.timeline.versions()}
        resolve_document(doc, known, written=True)


def genesis_events() -> list[RuleVersionChanged]:
    """The built-in versions as the first facts of every ledger, with stable event ids so
    that exporting one ledger and importing it into a new one appends nothing twice."""
    from ledger.rules import builtin_documents

    events = []
    for doc in builtin_documents():
        effective = datetime.fromisoformat(str(doc["effective_from"]).replace("Z", "+00:00"))
        events.append(
            RuleVersionChanged(
                event_id=f"builtin-{doc['version']}",
                version=doc["version"],
                effective_from=effective,
                rules=doc,
                jury=[],
                reason=GENESIS_REASON,
                at=effective,
            )
        )
    return events


def rule_decision(recorded: Any) -> dict[str, Any]:
    """Who decided a rule version, why and when, as the ledger recorded it (`recorded`: the
    version's `Recorded` fact): the jury's members by id (none for a built-in version),
    its reason, its recorded time. `rules list` and the API's rule versions said none of
    it: only an audit or an export named the jury that decided a version."""
    event = recorded.event
    return {"jury": [member.member_id for member in event.jury], "reason": event.reason,
            "recorded_at": recorded.recorded_at.isoformat()}
