"""A certification's full trail, for an auditor.

    audit_trail(store, "cert-1")            # as the ledger stands (the projection's record)
    audit_trail(store, "cert-1", as_of=T)   # as the ledger knew it at recorded time T

The trail holds every event of the certification and of its session, and its
candidate's (the jury's bans of them), plus each rule version that rescored it or that a jury decided and one of its results
was scored under (or whose version extends it), with when the ledger recorded it and who caused it; every
result it was given, with why (cause, detail, the event's position and recorded time);
and the current (or as-of) result with its explanation. Without `as_of` the results are
the projection's own record (caught up first); with it they are recomputed from the
events recorded up to T, the way `projections.asof` does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ledger.aggregates import CandidateState, ban_covers
from ledger.events import load_event
from ledger.rule_stream import RulesState
from ledger.streams import RULES_STREAM
from ledger.vocabulary import CANDIDATE_DECISIONS
from projections.asof import Entry, KnownAt, commit_times, fold_entries, known_at, recorded_by, streams_for
from projections.fold import utc_iso
from projections.results import ResultsReader, catch_up
from projections.views import ResultsViews, read_snapshot
from storage.store import EventStore


class CertificationNotFound(LookupError):
    """No certification of that id was started (by the as-of time, if one is given)."""


def _event_row(position: int, stream: str, state: dict) -> dict[str, Any]:
    line = state["event"]
    return {
        "position": position,
        "recorded_at": utc_iso(state["recorded_at"]),
        "recorded_by": state["recorded_by"],
        "stream": stream,
        "type": line["type"],
        "at": line["at"],
        "event": line,
    }


def results_given_by(store: EventStore, certification_id: str, as_of: datetime | None,
                     entries: list[Entry] | None = None, *, explain: bool = False,
                     known: KnownAt | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every result the certification was given by recorded time `as_of` (None: by now),
    oldest first (the history as the ledger knew it then), and its result then;
    recomputed from the events recorded up to `as_of`, as `projections.asof` does, from
    its streams' `entries` when the caller has read them. With `explain`, each entry
    also carries its result's `explanation`."""
    if entries is None:
        entries = ResultsViews(store).stream_entries(streams_for(store, certification_id=certification_id))
    if known is None and as_of is not None:
        known = known_at(store, as_of)
    fold = fold_entries(entries, known, keep_history=True)
    cert = fold.certs.get(certification_id)
    if cert is None:
        by = f" by {as_of.isoformat()}" if as_of is not None else ""
        raise CertificationNotFound(f"no certification {certification_id} was recorded{by}")
    entries = [h.public() for h in fold.histories.get(certification_id, [])]
    if explain:
        for entry in entries:
            entry["explanation"] = orjson.loads(fold.history_results[(certification_id, entry["seq"])])["explanation"]
    return entries, fold.public_result(cert)


def _explained(recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The projection's record of the results, each with the explanation its replay gives
    (the same result: same seq, same position; a replay that saw an event appended since
    the record was read has entries of its own, left out)."""
    replay = {(r["seq"], r["position"]): r["explanation"] for r in replayed}
    return [{**r, "explanation": replay.get((r["seq"], r["position"]))} for r in recorded]


def audit_trail(store: EventStore, certification_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    views = ResultsViews(store)
    streams = streams_for(store, certification_id=certification_id, with_candidate=True)
    if as_of is None:
        catch_up(store)
        reader = ResultsReader(store)
        with read_snapshot(store):  # the result, its history and the events as of one moment
            current = reader.current(certification_id=certification_id)
            if not current:
                raise CertificationNotFound(f"no certification {certification_id} in the ledger")
            results, current_result = reader.history(certification_id), current[0]
            entries = views.stream_entries(streams)
        # The record keeps no explanation but the current one: each earlier result's is
        # replayed from the entries read (one certification's streams), so that any result
        # can be explained, even among results recorded at one instant (one import), which
        # no as-of tells apart.
        results = _explained(results, results_given_by(store, certification_id, None, entries, explain=True)[0])
    else:
        entries = views.stream_entries(streams)  # read once: replayed, then listed as known by then
        known = known_at(store, as_of)  # once: the results and the events listed agree
        results, current_result = results_given_by(store, certification_id, as_of, entries, explain=True,
                                                    known=known)
        entries = list(recorded_by(entries, known))
    causes = {r["position"] for r in results}
    decided = _jury_versions_behind(entries, [r["result"] for r in results] + [current_result])
    events = [
        _event_row(p, s, state) for p, s, state in entries
        # A rule version appears when it rescored this certification, or when a jury
        # decided one its results were scored under (or one that version extends): a
        # certification started after the decision was never rescored by it, and its
        # audit named the version without who decided it, when, or why.
        if s != RULES_STREAM or p in causes or p in decided
    ]
    # When the ledger came to hold each event and result (what an as-of time is compared
    # with): its `recorded_at` is when it was judged, earlier by the wait for the write
    # lock, or by a whole import's length.
    committed = commit_times(store, [e["position"] for e in events] + [r["position"] for r in results])
    for row in (*events, *results):
        row["committed_at"] = committed.get(row["position"])
    return {
        "certification_id": certification_id,
        "session_id": current_result["session_id"],
        "candidate_id": current_result["candidate_id"],
        "centre_id": current_result["centre_id"],
        "as_of": utc_iso(as_of) if as_of is not None else None,
        "events": events,
        "results": results,
        "current": current_result,
        "rule_versions": rule_versions(entries),  # (as of the trail's time: its entries are those known then)
        "bans_at_start": bans_at_start(events),
    }


def _jury_versions_behind(entries: list[Entry], results: list[dict[str, Any]]) -> set[int]:
    """Positions of the jury's rule versions (a `RuleVersionChanged` naming a jury: the
    built-in versions name none) that the given results were scored under, with the
    versions each extends, among the trail's entries (those known at its time)."""
    recorded = {state["event"].get("version"): (p, state["event"]) for p, s, state in entries if s == RULES_STREAM}
    positions: set[int] = set()
    for version in {r.get("rule_version") for r in results if r.get("rule_version")}:
        seen: set[str] = set()
        while version and version in recorded and version not in seen:
            seen.add(version)
            position, line = recorded[version]
            if line.get("jury"):
                positions.add(position)
            version = (line.get("rules") or {}).get("extends")
    return positions


def bans_at_start(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The candidate's bans in force when the certification started, among the trail's
    events (those known at its time). Recording refuses a start during a ban it holds
    (`candidate-banned`), so a ban here was recorded after the start, which stood and was
    scored as any other: the reference (§5) says nothing of a test taken during a ban, and
    the jury may cancel it. Without this an auditor met a result of a banned candidate
    with nothing to say why the start was not refused. A ban the jury lifted (`unban`)
    covers what it did until its lifting, which is named beside it."""
    start = next((e for e in events if e["type"] == "CertificationStarted"), None)
    if start is None:
        return []
    started = datetime.fromisoformat(start["at"])
    candidate_id = start["event"]["candidate_id"]
    # The candidate's rulings, folded as recording folds them: a ban lifted before the
    # start did not cover it, one lifted after it did, until its lifting.
    rulings = [e for e in events if e["type"] == "JuryRuling" and e["event"].get("decision") in CANDIDATE_DECISIONS
               and e["event"].get("candidate_id") == candidate_id]
    state = CandidateState()
    for e in rulings:
        state.apply(load_event(e["type"], e["event"]))
    # Each ban beside the ruling that decided it, in the order the fold appended them: a
    # ledger from before migration 006 may hold two bans under one ruling id. (A lifting's
    # id is unique: `unban` came after 006.)
    decided = [e for e in rulings if e["event"]["decision"] == "ban_candidate" and e["event"].get("until")]
    by_id = {e["event"]["ruling_id"]: e for e in rulings if e["event"]["decision"] == "unban"}
    bans = []
    for ban, ruling in zip(state.bans, decided):
        if not ban_covers(ban.at, ban.end, started):
            continue
        said = {"ruling_id": ban.ruling_id, "at": ruling["event"]["at"], "until": ruling["event"]["until"],
                "position": ruling["position"], "recorded_after_start": ruling["position"] > start["position"],
                "lifted": None}
        if ban.lifted is not None:
            lifting = by_id[ban.lifted[0]]
            said["lifted"] = {"ruling_id": ban.lifted[0], "at": lifting["event"]["at"], "position": lifting["position"]}
        bans.append(said)
    return bans


def rule_versions(entries: list[Entry]) -> list[dict[str, Any]]:
    """The rule timeline the trail's entries hold (as of its time), in order: what an
    auditor checks a result's version against (in force for certifications started from
    its `effective_from` until the next version's), and the parameters the explanation's
    counts take from it without naming them (a QROCM-dep's weight and `partially` credit)."""
    rules = [e for e in entries if e[1] == RULES_STREAM]
    timeline = RulesState.folded(load_event(state["event"]["type"], state["event"]) for _, _, state in rules).timeline
    # Where each was recorded: a superseded result was scored on the timeline of its time.
    position = {state["event"].get("version"): p for p, _, state in rules}
    return [{"version": r.version, "effective_from": utc_iso(r.effective_from), "position": position.get(r.version),
             "algorithm": r.algorithm, "questions_per_competence": r.questions_per_competence,
             "qrocm_dep": r.qrocm_dep.model_dump(mode="json")}
            for r in timeline.versions()]
