"""Intent: export facts in the interchange format, in the order the ledger recorded them."""

from __future__ import annotations

from collections.abc import Iterator
from heapq import merge

from commands.bootstrap import Ledger
from ledger.events import CertificationStarted, LedgerEvent
from ledger.streams import RULES_STREAM, candidate_stream, certification_stream, session_stream


def export_events(
    ledger: Ledger, *, certification_id: str | None = None, session_id: str | None = None
) -> Iterator[LedgerEvent]:
    store = ledger.store
    if certification_id:
        recs = store.read_stream(certification_stream(certification_id))
        yield from (r.event for r in recs)
        return
    if session_id:
        # The session's own stream and each of its certifications', and what their
        # results also depend on: the rule versions that applied to them (a jury's
        # retroactive one included) and the candidates' streams (bans). So the file
        # imported into an empty ledger scores as here; all merged in log order.
        streams = [session_stream(session_id)] + [
            certification_stream(c) for c in store.certifications_of_session(session_id)
        ]
        own = store.read_streams_in_log_order(streams)
        if not own:
            return
        starts = [r.event for r in own if isinstance(r.event, CertificationStarted)]
        candidates = [candidate_stream(c) for c in sorted({s.candidate_id for s in starts})]
        others = store.read_streams_in_log_order([RULES_STREAM, *candidates])  # the session's own: read above
        rules = _versions_applied([r for r in others if r.stream == RULES_STREAM], [s.at for s in starts])
        for rec in merge(own, others, key=lambda r: r.position):
            if rec.stream != RULES_STREAM or rec.event.version in rules:
                yield rec.event
        return
    for rec in store.iter_log():
        yield rec.event


def _versions_applied(rule_records: list, starts: list) -> set[str]:
    """The rule versions that were in force at one of `starts` at some point of the
    ledger's history, and the versions they extend. Not every version: imported into
    another ledger, a version that never applied to the session would rescore that
    ledger's own certifications for nothing (a version that did apply still rescores
    the ones it applies to there: rule versions are ledger-wide facts)."""
    from ledger.rule_stream import RulesState

    state, applied = RulesState(), set()
    for rec in rule_records:
        state.apply(rec.event)
        applied |= {rules.version for at in starts if (rules := state.in_force(at)) is not None}
    chain, timeline = set(), state.timeline
    for version in applied:
        while version is not None and version not in chain:
            chain.add(version)
            version = (timeline.raw(version) or {}).get("extends")
    return chain
