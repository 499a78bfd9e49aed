"""What awaits the jury: the finalised sessions whose results are not yet published, and
in each, the certifications it has still to decide on.

pix-rules.md §5: a session is finalised by its centre, processed by the jury, then its
results are published; the jury decides on fraud (a `FraudReported`, or an incident report
C6, "fraud suspicion"), resolves by hand the incident reports no rule resolves. Nothing
listed that: a jury found its work by reading every result of every finalised session.

A certification awaits the jury for what the ledger holds of it, as the results
projection holds it:

* **fraud reported and not ruled on**: a fraud report or a C6 report, not resolved by
  hand, and no ruling on the certification at all (a fraud rejection, its lifting, a cancellation, its
  lifting, a comment). The ledger refuses a centre's report once the session is
  finalised and the jury's rulings before it, so any ruling came after every report: the
  jury has seen them. A comment is how it says a suspicion was not established.
* **incident reports left to the jury**: those the version in force does not resolve
  automatically (`left_to_jury` in the result's explanation; a C6 counts as a fraud
  report above), that no `resolve_incident` resolved by hand, and whose question (for a
  report naming one) the jury has not neutralised or de-neutralised: that is the jury's
  word on what the report is about.
* **unscorable**: the result is an `error`, with its reason: publishing it publishes no
  score (the jury may neutralise, cancel, or record a rule version).
* **started during a ban of its candidate**, one the ledger recorded after the start
  (recording refuses a start during a ban it holds), and no ruling on the certification
  recorded since (one recorded before the ban was on another matter):
  the start stood and is scored as any other (§5 says nothing of a test taken during a
  ban), and the audit and `verify` say the jury may cancel it.

A cancelled certification awaits nothing for its incident reports: the jury's ruling on
the whole certification makes them moot.

A session with none of these is ready to publish (advice: a publication is not refused
while something awaits the jury, which may publish as it judges). Read from the results
projection (call `catch_up` first), what a result says of its incidents being its current
explanation's; or, as of a past recorded time, from a replay of the log as the ledger held
it then (`docket_as_of`): what awaited the jury that day, for an auditor asking whether a
session was published with something undecided.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from ledger.aggregates import Ban, CandidateState, ban_covers
from ledger.events import load_event
from ledger.streams import candidate_stream, certification_stream, session_stream
from projections.asof import Entry, KnownAt, fold_entries, known_at, recorded_by, streams_for
from projections.fold import CertState, SessionInfo, utc_iso
from projections.results import ResultsReader
from projections.views import ResultsViews, chunks
from storage.store import EventStore

FRAUD_SUSPICION = "C6"
# The jury's rulings on a certification as a whole (its facts' `rejected_for_fraud`,
# `unrejected`, `cancelled`, `uncancelled`, `comments`).
RULINGS_ON_IT = frozenset({"reject_for_fraud", "unreject", "cancel", "uncancel", "comment"})


def certification_awaits(facts: dict[str, Any], result: dict[str, Any] | None,
                         ban: Ban | None = None) -> dict[str, Any] | None:
    """What the jury has still to decide on one certification (`facts`: its stored
    scoring inputs, compact JSON; `result`: its current result, explanation included, None
    while started; `ban`: a ban of its candidate covering its start, on which the jury
    has ruled nothing since the ledger recorded it), or None if nothing."""
    # A report resolved by hand has the jury's word, a fraud report as a C6 (the ledger
    # takes a `resolve_incident` naming any report of the certification).
    resolved = set(facts.get("incident_rulings") or ())
    reports = [r for r in facts.get("fraud_reports") or () if r not in resolved] + [
        i["report_id"] for i in facts.get("incidents") or ()
        if i["code"] == FRAUD_SUSPICION and i["report_id"] not in resolved]
    ruled = any(facts.get(k) for k in ("rejected_for_fraud", "unrejected", "cancelled", "uncancelled", "comments"))
    fraud = reports if not ruled else []
    judged = set(facts.get("jury_decisions") or ())  # questions the jury neutralised or de-neutralised
    explained = ((result or {}).get("explanation") or {}).get("incidents") or ()
    incidents = [] if facts.get("cancelled") else [  # (a cancellation makes them moot)
        {"report_id": i["report_id"], "code": i["code"], "question_number": i.get("question_number"),
         "because": i["because"]}
        for i in explained
        if i["outcome"] == "left_to_jury" and i["code"] != FRAUD_SUSPICION and i.get("question_id") not in judged]
    error = result.get("error") if result is not None and result.get("status") == "error" else None
    # As the audit says a ban: its end as decided, and its lifting apart.
    banned = {"ruling_id": ban.ruling_id, "at": utc_iso(ban.at), "until": utc_iso(ban.until),
              "lifted": None if ban.lifted is None else {"ruling_id": ban.lifted[0], "at": utc_iso(ban.lifted[1])}
              } if ban is not None else None
    if not (fraud or incidents or error or banned):
        return None
    return {"certification_id": facts["certification_id"], "candidate_id": facts.get("candidate_id"),
            "status": result["status"] if result is not None else "started",
            "fraud_reports": fraud, "incidents_left_to_jury": incidents, "error": error, "banned_at_start": banned}


def docket(reader: ResultsReader, *, session_id: str | None = None, centre_id: str | None = None,
           after: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """The sessions awaiting the jury (finalised, not published), by session id (`after`:
    a keyset cursor), each with what its certifications await; with `session_id`, that
    session whatever its state (none if unknown, or not of `centre_id`)."""
    if session_id is not None:
        return _entries(reader, [i for i in reader.views.load_sessions({session_id})
                                 if centre_id is None or i.centre_id == centre_id])
    listed = [s["session_id"] for s in
              reader.sessions(centre_id=centre_id, finalised=True, published=False, after=after, limit=limit)]
    entries = []
    for chunk in chunks(listed, SESSIONS_AT_ONCE):
        infos = {i.session_id: i for i in reader.views.load_sessions(set(chunk))}
        entries += _entries(reader, [infos[sid] for sid in chunk if sid in infos])  # (gone: a rebuild meanwhile)
    return entries


def docket_as_of(store: EventStore, as_of: datetime, *, session_id: str | None = None,
                 centre_id: str | None = None, after: str | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """The docket as the ledger knew it at recorded time `as_of`: what awaited the jury
    then (its facts and results as of then, under the rule versions it held). A replay of
    the streams of the sessions it lists: those finalised and not published then, found
    from the sessions' own streams (or `session_id`, whatever its state). Without
    `session_id`, the sessions are those the results projection knows: call `catch_up`
    first, as for `docket`."""
    known = known_at(store, as_of)
    views = ResultsViews(store)
    if session_id is not None:
        ids = [session_id]
    else:  # (any session the ledger knows may have been pending then)
        ids = [s["session_id"] for s in ResultsReader(store).sessions(centre_id=centre_id, after=after)]
    sessions = [_listed(info) for info in _sessions_then(views, ids, known)
                if (centre_id is None or info.centre_id == centre_id)
                and (session_id is not None or (info.finalised and not info.published))][:limit]
    return [entry for chunk in chunks(sessions, SESSIONS_AT_ONCE) for entry in _entries_then(store, views, chunk, known)]


def _sessions_then(views: ResultsViews, ids: list[str], known: KnownAt) -> list[SessionInfo]:
    """The sessions as they stood at `known.as_of` (opened by then, finalised or published
    then), from their own streams alone: a few facts each, whatever their certifications."""
    then: list[SessionInfo] = []
    for chunk in chunks(ids, CANDIDATES_AT_ONCE):
        fold = fold_entries(views.stream_entries([session_stream(s) for s in chunk]), known)
        then += [fold.sessions[sid] for sid in chunk if sid in fold.sessions]
    return then


def _entries_then(store: EventStore, views: ResultsViews, sessions: list[dict[str, Any]],
                  known: KnownAt) -> list[dict[str, Any]]:
    streams = sorted({stream for s in sessions for stream in streams_for(store, session_id=s["session_id"])})
    fold = fold_entries(views.stream_entries(streams), known)
    members: dict[str, list[CertState]] = {}
    for cert in fold.certs.values():
        members.setdefault(cert.session_id, []).append(cert)
    bans = _candidate_bans(views, {c.candidate_id for c in fold.certs.values()}, known)
    return [_entry(session, members.get(session["session_id"], []), bans) for session in sessions]


# Sessions read at once: each certification's facts and current result (its explanation
# included, some kilobytes) are held only while its session's entry is made, so a docket
# of every unpublished session of a national year stays in bounded memory.
SESSIONS_AT_ONCE = 50


def awaiting_at_publication(reader: ResultsReader, session_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """What awaited the jury in each session just published (`session_ids`; the results
    projection caught up past the publication), for the sessions where something did:
    the docket advises and publication is not refused, but the jury that publishes a
    session with a fraud report not ruled on is told so, not left to find it."""
    found = {}
    for chunk in chunks(list(dict.fromkeys(session_ids)), SESSIONS_AT_ONCE):
        found.update({e["session_id"]: e["awaiting"] for e in _entries(reader, reader.views.load_sessions(set(chunk)))
                      if e["awaiting"]})
    return {s: found[s] for s in session_ids if s in found}


def awaiting_summary(awaiting: list[dict[str, Any]]) -> str:
    """A session's certifications awaiting the jury, counted by what they await: "3
    certification(s) await the jury (fraud reported and not ruled on: 2; unscorable: 1)".
    One certification may await more than one thing; each is counted once per kind."""
    kinds = [("fraud reported and not ruled on", sum(1 for a in awaiting if a["fraud_reports"])),
             ("incident reports left to the jury", sum(1 for a in awaiting if a["incidents_left_to_jury"])),
             ("unscorable", sum(1 for a in awaiting if a["error"])),
             ("started during a ban of its candidate", sum(1 for a in awaiting if a["banned_at_start"]))]
    counted = "; ".join(f"{kind}: {n}" for kind, n in kinds if n)
    return f"{len(awaiting)} certification(s) await the jury ({counted})"


def _entries(reader: ResultsReader, sessions: list[SessionInfo]) -> list[dict[str, Any]]:
    """The sessions' entries, in their order, from the view (`sessions` as the view loads
    them, their certifications with them: read once)."""
    certs = {c.certification_id: c for c in reader.views.load_certs({c for i in sessions for c in i.certifications})}
    bans = _candidate_bans(reader.views, {c.candidate_id for c in certs.values()})
    return [_entry(_listed(info), [certs[c] for c in info.certifications if c in certs], bans) for info in sessions]


class _Bans(NamedTuple):
    """Candidates' bans as recording folds them, each with where the log recorded it (in
    the order its state appends them: a ledger from before migration 006 may hold two bans
    under one ruling id), and the log they are read from, as known at `known.as_of`."""

    states: dict[str, CandidateState]
    positions: dict[str, list[int]]
    views: ResultsViews
    known: KnownAt | None

    def unruled_at_start(self, cert: CertState) -> Ban | None:
        """The ban covering the certification's start that the ledger recorded last, if
        the jury has ruled nothing on the certification since: a ruling recorded before
        it (a comment on an incident) was on another matter, the ban then unknown."""
        state = self.states.get(cert.candidate_id)
        covering = [(position, ban) for ban, position in zip(state.bans, self.positions.get(cert.candidate_id, ()))
                    if ban_covers(ban.at, ban.end, cert.started_at)] if state is not None else []
        if not covering:
            return None
        position, ban = max(covering, key=lambda c: c[0])
        # (Read only for a start a ban covers, which is rare.)
        entries: Iterable[Entry] = self.views.stream_entries([certification_stream(cert.certification_id)])
        if self.known is not None:
            entries = recorded_by(entries, self.known)
        ruled = any(at > position and line["event"]["type"] == "JuryRuling"
                    and line["event"].get("decision") in RULINGS_ON_IT for at, _, line in entries)
        return None if ruled else ban


def _candidate_bans(views: ResultsViews, candidates: set[str], known: KnownAt | None = None) -> _Bans:
    """The bans of these candidates (those known at `known.as_of`), folded as recording
    folds them (a lifting included); their streams read a few hundred at a time (SQLite
    builds before 3.32 take at most 999 values in a statement)."""
    states: dict[str, CandidateState] = {}
    positions: dict[str, list[int]] = {}
    for chunk in chunks(sorted(candidates), CANDIDATES_AT_ONCE):
        _fold_bans(views, chunk, known, states, positions)
    return _Bans(states, positions, views, known)


CANDIDATES_AT_ONCE = 500


def _fold_bans(views: ResultsViews, candidates: list[str], known: KnownAt | None,
               states: dict[str, CandidateState], positions: dict[str, list[int]]) -> None:
    entries: Iterable[Entry] = views.stream_entries([candidate_stream(c) for c in candidates])
    if known is not None:
        entries = recorded_by(entries, known)
    for position, _, state in entries:
        ruling = load_event(state["event"]["type"], state["event"])
        candidate = states.setdefault(ruling.candidate_id, CandidateState())  # type: ignore[attr-defined]
        banned = len(candidate.bans)
        candidate.apply(ruling)
        if len(candidate.bans) > banned:  # (a ban it appended: not a lifting, nor one with no end)
            positions.setdefault(ruling.candidate_id, []).append(position)  # type: ignore[attr-defined]


def _entry(session: dict[str, Any], certs: list[CertState], bans: _Bans) -> dict[str, Any]:
    """A session's docket entry, from its certifications' states (facts and result) and
    their candidates' bans."""
    awaiting = [a for a in (certification_awaits(c.facts, _result(c.result_json), bans.unruled_at_start(c))
                            for c in sorted(certs, key=lambda c: c.certification_id)) if a is not None]
    return {**session, "certifications": len(certs), "awaiting": awaiting,
            "ready_to_publish": session["finalised"] and not session["published"] and not awaiting}


def _listed(info: SessionInfo) -> dict[str, Any]:
    """A session as the sessions list gives it."""
    return {"session_id": info.session_id, "centre_id": info.centre_id, "finalised": info.finalised,
            "published": info.published}


def _result(result_json: str | None) -> dict[str, Any] | None:
    return orjson.loads(result_json) if result_json is not None else None
