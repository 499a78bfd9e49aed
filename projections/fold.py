"""The results fold: log entries in (decoded, or the log's raw rows, decoded one by one
by `apply_encoded`); certification facts, results and their history out. Pure (no I/O
but through its loader): the persistent projection (`projections.results`) feeds it
pages of the log and persists what changed; as-of and audit feed it a filtered log.

The hot path works on the decoded JSON lines, not on pydantic models: each certification's
facts are kept as the compact JSON form of `ledger.scoring.CertificationFacts` (the same
fold as `ledger.scoring.fold`, proven equal by tests), validated only when it is scored.

When a certification is (re)scored, and why (the `cause` of its history entry):
* `first scoring`: when it is completed;
* `finalisation`: when its session is finalised (its first result if it was not
  completed); `incident auto-resolution` instead when it already had a result and the
  finalisation changes it while it has incident reports (for a completed certification,
  automatic resolution is the only input finalisation brings);
* `incident report`: a report made once it has a result (completed, not yet finalised):
  its score waits for the finalisation, its explanation shows the report awaiting it;
* `neutralisation` / `de-neutralisation` / `jury ruling` (reject_for_fraud, unreject,
  cancel, uncancel, resolve_incident; a `comment` changes no input): only once it has a
  result; before that the first scoring takes them in;
* `rule version V`: a `RuleVersionChanged` rescored every certification with a result
  whose version in force at its start changes (to V), and only those.
Every rescoring appends a history entry, even when the result is unchanged: the history
is the record of what the ledger did and why. A certification without a result yet is
`started`. Publication flips `published` and is not a rescoring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain
from typing import Any, Protocol

import orjson
from ledger.decisions import rule_document_of
from ledger.events import RuleVersionChanged
from ledger.rules import RuleSet, RuleTimeline
from ledger.scoring.finalisation import finalisation_keeps_outcome, finalised_result_json
from ledger.streams import certification_of_stream, certification_stream
from projections.scoring_pool import Scored, Task, score_batch
from storage.codec import read_state, recorded_from

_SESSION_TYPES = frozenset({"SessionOpened", "SessionFinalised", "ResultsPublished", "ResultsUnpublished"})
RESCORING_DECISIONS = frozenset({"reject_for_fraud", "unreject", "cancel", "uncancel", "resolve_incident"})
# Pending rescorings are scored at the latest when this many are waiting: any moment
# is a safe one (each holds a snapshot of its facts), and a batch this size is worth
# sharing with a worker process.
FLUSH_AT = 2000
# A complete fold that forgets keeps the ids it dropped (`forget`), ≈120 bytes each: past
# this many it forgets them too, and prepares each page instead.
MAX_FORGOTTEN_IDS = 1_000_000
QUESTION_FLAGS = ("has_image", "has_embed", "has_attachment", "timed", "focused")
# The public result fields a `started` certification has, all empty.
STARTED_FIELDS = {
    "status": "started", "reasons": [], "error": None, "reproducibility_rate": None,
    "pix_score": None, "rule_version": None, "competences": {}, "explanation": None,
}


class ProjectionError(Exception):
    """The log holds something the projection cannot derive a result from (a bug or a
    deployment problem, e.g. a rule version naming an unknown algorithm)."""


def utc_iso(value: str | datetime) -> str:
    """A time as sortable UTC text: 2024-06-12T08:00:00.000000+00:00."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def started_result(certification_id: str) -> dict[str, Any]:
    return {"certification_id": certification_id, **STARTED_FIELDS, "reasons": [], "competences": {}}


def outcome_of(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its explanation: what the history keeps of each result."""
    return {k: v for k, v in result.items() if k != "explanation"}


@dataclass(slots=True)
class CertState:
    certification_id: str
    session_id: str
    candidate_id: str
    started_at: datetime
    facts: dict[str, Any]  # compact JSON form of CertificationFacts
    outcome: dict[str, Any] | None = None  # current Result in JSON mode but its explanation; None while started
    result_json: str | None = None  # the current Result as JSON, explanation included
    seq: int = 0  # history entries so far (the current one's number)
    updated_at: str = ""  # recorded time (UTC) of the event that produced the row
    position: int = 0  # and its position in the log
    served: set[str] = field(default_factory=set)
    # The current result (maybe still pending in the page's batch) was scored on `facts`
    # as they are; cleared by any change. What lets a finalisation derive its result
    # instead of scoring again (ledger.scoring.finalisation).
    scored: bool = False

    @property
    def rule_version(self) -> str | None:
        return self.outcome["rule_version"] if self.outcome else None

    def public_result(self) -> dict[str, Any]:
        if self.result_json is None:
            return started_result(self.certification_id)
        return orjson.loads(self.result_json)


@dataclass(slots=True)
class SessionInfo:
    session_id: str
    centre_id: str | None = None
    finalised: bool = False
    published: bool = False
    certifications: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    certification_id: str
    seq: int
    cause: str
    detail: str
    recorded_at: str
    position: int
    result: dict[str, Any]  # without its explanation

    def public(self) -> dict[str, Any]:
        return {"seq": self.seq, "cause": self.cause, "detail": self.detail,
                "recorded_at": self.recorded_at, "position": self.position, "result": self.result}


@dataclass(slots=True)
class PendingScoring:
    """A rescoring decided during a page, computed with the page's others at `flush()`."""
    cert: CertState
    seq: int
    cause: str
    detail: str
    recorded_at: str
    position: int
    rules: RuleSet
    facts_json: bytes  # the facts as they were when it was decided
    derive: bool = False  # a finalisation that only flips the explanation's flag
    recause: tuple[str, str] | None = None  # (cause, detail) when the outcome changes


Scorer = Callable[[list[Task], dict[str, RuleSet]], list[Scored]]


class StateLoader(Protocol):
    """Where a persistent fold finds the states it does not hold in memory."""

    def load_certs(self, ids: set[str]) -> list[CertState]: ...

    def load_sessions(self, ids: set[str]) -> list[SessionInfo]:
        """With the ids of all their certifications."""
        ...

    def rule_candidates(self, since: datetime) -> list[tuple[str, datetime, str | None]]:
        """(certification, started_at, current rule version) of the certifications with a
        result that started at or after `since`."""
        ...


def drain(states: dict[Any, Any] | set[Any]) -> None:
    """Empty `states` one entry at a time. `clear()` frees them all inside one bytecode,
    holding the GIL throughout: 10,000 certifications' states took 144 ms to free, and
    every other thread of a server (its requests, while a background catch-up forgot
    or dropped its fold) waited that long. Between two entries the GIL can pass."""
    take = states.popitem if isinstance(states, dict) else states.pop
    while states:
        take()


def cert_from_row(certification_id: str, started_at: datetime, facts: dict[str, Any],
                  result_json: str | None, seq: int, updated_at: str, position: int) -> CertState:
    outcome = outcome_of(orjson.loads(result_json)) if result_json is not None else None
    cert = CertState(certification_id, facts["session_id"], facts["candidate_id"], started_at, facts,
                     outcome, result_json, seq, updated_at, position)
    cert.served = {q["question_id"] for q in facts.get("questions", ())}
    return cert


class ResultsFold:
    """Folds a log, entry by entry, in log order. After each page, `changes()` says what
    to persist and `clear_changes()` starts the next page."""

    def __init__(self, timeline: RuleTimeline | None = None, loader: StateLoader | None = None,
                 keep_history: bool = False, scorer: Scorer = score_batch, *, complete: bool = False) -> None:
        self.timeline = timeline if timeline is not None else RuleTimeline()
        self.loader = loader
        # Every state the loader could give is in memory or named in `forgotten_*` (the
        # fold started from an empty view): `prepare` has nothing to look for.
        self.complete = complete
        self.forgotten_certs: set[str] = set()
        self.forgotten_sessions: set[str] = set()
        self.scorer = scorer
        self.pending: list[PendingScoring] = []
        self.certs: dict[str, CertState] = {}
        self.sessions: dict[str, SessionInfo] = {}
        self.keep_history = keep_history
        self.histories: dict[str, list[HistoryEntry]] = {}
        # With the history, each entry's whole result (its explanation included), as JSON,
        # by (certification, seq): what an audit shows of a result since superseded.
        self.history_results: dict[tuple[str, int], str] = {}
        self.clear_changes()

    # ------------------------------------------------------------------ page bookkeeping
    def clear_changes(self) -> None:
        self.dirty_facts: set[str] = set()
        self.dirty_rows: set[str] = set()
        self.dirty_sessions: set[str] = set()
        # Sessions whose publication flipped in this page: (the last flip's position, whether
        # the results were published at any moment of the page).
        self.published_changed: dict[str, tuple[int, bool]] = {}
        self.new_history: list[HistoryEntry] = []

    def forget(self) -> None:
        """Drop the cached states (all persisted). A complete fold keeps their ids, and a
        handler that meets one loads it back: in log order that is rare (a jury decision
        long after its session: 333 certifications, in 225 queries, in the rebuild of
        100,000), and spares `prepare`'s walk over every page (8% of that rebuild, when
        measured). Any other fold reloads, page by page, what each touches (`prepare`)."""
        if self.complete and self.loader is not None:
            self.forgotten_certs.update(self.certs.keys())
            self.forgotten_sessions.update(self.sessions.keys())
            if len(self.forgotten_certs) + len(self.forgotten_sessions) > MAX_FORGOTTEN_IDS:
                self.complete = False  # bounded memory: `prepare` finds them again
        if not self.complete:
            self.forgotten_certs.clear()
            self.forgotten_sessions.clear()
        drain(self.certs)
        drain(self.sessions)

    def release(self) -> None:
        """Free every state this fold holds, a piece at a time (see `drain`): what a
        process does with a fold it will not use again."""
        for states in (self.certs, self.sessions, self.forgotten_certs, self.forgotten_sessions,
                       self.histories, self.history_results):
            drain(states)
        self.pending.clear()

    def prepare(self, rows: Sequence[tuple[int, str, bytes | str]]) -> None:
        """Load, in a few queries, the states a page of undecoded log rows will touch.

        A certification's stream names it, so most rows need no decoding here: only the
        other streams' (sessions, rules, the jury's: a few per thousand) and, for each
        certification neither held nor stored, its start (which names its session).
        `apply_encoded` then decodes every row as it folds it. (The walks over the rows
        are comprehensions, a tenth cheaper than loops: they cost far more than the
        loading itself, which is why a complete fold skips them, see `forget`.)"""
        if self.loader is None or self.complete:
            return  # (a rebuild's pages skip this walk)
        named = {s: certification_of_stream(s) for s in {stream for _, stream, _ in rows}}
        certs = {c for c in named.values() if c is not None}
        others = {s for s, c in named.items() if c is None}
        sessions: set[str] = set()
        finalised: set[str] = set()
        for position, stream, raw in [row for row in rows if row[1] in others]:
            line = read_state(stream, None, position, raw)["event"]
            kind = line["type"]
            if kind in _SESSION_TYPES:
                sessions.add(line["session_id"])
                if kind == "SessionFinalised":
                    finalised.add(line["session_id"])
            elif line.get("certification_id") is not None:
                certs.add(line["certification_id"])
        self.ensure_certs(certs)
        unknown = {certification_stream(c) for c in certs - self.certs.keys()}  # new in this page
        if unknown:
            first = {stream: (position, raw) for position, stream, raw in reversed(rows) if stream in unknown}
            for stream, start in first.items():
                # A certification's first event is its start (the ledger refuses any
                # other); should a log hold one before, its rows are read in turn.
                later = ((p, r) for p, s, r in rows if s == stream)
                for line in (read_state(stream, None, p, r)["event"] for p, r in chain([start], later)):
                    if line["type"] == "CertificationStarted":
                        sessions.add(line["session_id"])
                        break
        self.ensure_sessions(sessions)
        extra: set[str] = set()
        for session_id in finalised:
            session = self.sessions.get(session_id)
            if session is not None:
                extra.update(session.certifications)
        self.ensure_certs(extra)

    def ensure_certs(self, ids: Iterable[str]) -> None:
        missing = set(ids) - self.certs.keys()
        if missing and self.loader is not None:
            for cert in self.loader.load_certs(missing):
                self.certs[cert.certification_id] = cert
            self.forgotten_certs -= missing

    def ensure_row_sessions(self) -> None:
        """Load the sessions of the page's changed rows not in memory (of states loaded
        back alone): whether each is published decides the row's `public_changed`
        (views.page_rows). None of their certifications started in this page."""
        self.ensure_sessions({self.certs[c].session_id for c in self.dirty_rows})

    def ensure_sessions(self, ids: Iterable[str]) -> None:
        missing = set(ids) - self.sessions.keys()
        if missing and self.loader is not None:
            for session in self.loader.load_sessions(missing):
                self.sessions[session.session_id] = session
            self.forgotten_sessions -= missing

    # ------------------------------------------------------------------------ the fold
    def apply(self, position: int, state: dict) -> None:
        line = state["event"]
        handler = _HANDLERS.get(line["type"])
        if handler is not None:
            handler(self, line, state["recorded_at"], position)

    def apply_all(self, entries: Iterable[tuple[int, str, dict]]) -> ResultsFold:
        """Fold `entries`, then compute the rescorings they decided (`flush`)."""
        for position, _, state in entries:
            self.apply(position, state)
        self.flush()
        return self

    def apply_encoded(self, rows: Iterable[tuple[int, str, bytes | str]]) -> ResultsFold:
        """`apply_all` over undecoded log rows, each decoded as it is folded.

        Why: a page decoded whole is tens of MB of dicts, allocated, then walked, then
        freed, each time out of the CPU's caches. Decoded, used and freed one by one, the
        642,000 events of the 10,000-certification benchmark population took 0.45 s
        against 1.1 s (decoding and reading each event's type, nothing else); a rebuild
        gained a fifth."""
        loads, apply = orjson.loads, self.apply
        position, stream, raw = 0, "", None
        try:
            for position, stream, raw in rows:
                apply(position, loads(raw))
        except (ValueError, KeyError, TypeError):
            if raw is not None:  # a stored event that is no fact: named where it lies (no cost until then)
                recorded_from(stream, None, position, raw)
            raise  # (a fact that reads: the fold's own failure)
        self.flush()
        return self

    def _cert(self, line: dict) -> CertState | None:
        cert_id = line.get("certification_id")
        cert = self.certs.get(cert_id)  # type: ignore[arg-type]
        if cert is None and cert_id in self.forgotten_certs:  # (inline: every event comes here)
            return self.cert(cert_id)  # type: ignore[arg-type]
        return cert

    def cert(self, cert_id: str) -> CertState | None:
        """A certification's state; a forgotten one is loaded back."""
        cert = self.certs.get(cert_id)
        if cert is None and cert_id in self.forgotten_certs:
            self.ensure_certs({cert_id})
            cert = self.certs.get(cert_id)
        return cert

    def _session(self, session_id: str) -> SessionInfo:
        session = self.sessions.get(session_id)
        if session is None:
            if session_id in self.forgotten_sessions:
                self.ensure_sessions({session_id})
                session = self.sessions.get(session_id)
            if session is None:
                session = self.sessions[session_id] = SessionInfo(session_id)
        return session

    def rescore(self, cert: CertState, cause: str, detail: str, recorded_at: str, position: int, *,
                derive: bool = False, recause: tuple[str, str] | None = None) -> None:
        """Decide a rescoring of `cert` on its facts as they are now: its sequence number,
        time and position are set at once; its result at the page's `flush()`, where all
        the page's scorings go as one batch (to worker processes when it is big)."""
        rules = self.timeline.in_force(cert.started_at)
        if rules is None:
            raise ProjectionError(
                f"no rule version in force at {cert.started_at.isoformat()} to score {cert.certification_id}"
            )
        cert.scored = True
        cert.seq += 1
        cert.updated_at, cert.position = utc_iso(recorded_at), position
        self.dirty_rows.add(cert.certification_id)
        self.pending.append(PendingScoring(cert, cert.seq, cause, detail, cert.updated_at, position, rules,
                                           orjson.dumps(cert.facts), derive, recause))
        if len(self.pending) >= FLUSH_AT:
            self.flush()  # bounded memory for whole-log folds (as-of, audit) and mass rescorings

    def flush(self) -> None:
        """Compute the pending rescorings, in the order decided: each certification's
        result and a history entry for each."""
        items, self.pending = self.pending, []
        if not items:
            return
        rules = {i.rules.version: i.rules for i in items}
        scored = iter(self.scorer([(i.facts_json, i.rules.version) for i in items if not i.derive], rules))
        latest: dict[str, tuple[dict[str, Any] | None, str | None]] = {}  # within this flush
        for item in items:
            cert = item.cert
            before, before_json = latest.get(cert.certification_id, (cert.outcome, cert.result_json))
            derived = finalised_result_json(before_json, item.rules) if item.derive and before_json else None
            if derived is not None:
                outcome, result_json = before, derived
            else:
                answer = next(scored) if not item.derive else score_batch([(item.facts_json, item.rules.version)],
                                                                            rules)[0]
                outcome, result_json, problem = answer
                if problem is not None:
                    raise ProjectionError(f"cannot score {cert.certification_id} at log position {item.position} "
                                          f"({item.cause}): {problem}")
            cause, detail = item.cause, item.detail
            if item.recause is not None and before is not None and outcome != before:
                cause, detail = item.recause
            latest[cert.certification_id] = (outcome, result_json)
            entry = HistoryEntry(cert.certification_id, item.seq, cause, detail, item.recorded_at, item.position,
                                 outcome)  # type: ignore[arg-type]
            self.new_history.append(entry)
            if self.keep_history:
                self.histories.setdefault(cert.certification_id, []).append(entry)
                self.history_results[(cert.certification_id, item.seq)] = result_json  # type: ignore[assignment]
        for item in items:
            item.cert.outcome, item.cert.result_json = latest[item.cert.certification_id]

    # --------------------------------------------------------------------- what changed
    def public_result(self, cert: CertState) -> dict[str, Any]:
        session = self.sessions.get(cert.session_id)
        return {
            "certification_id": cert.certification_id,
            "candidate_id": cert.candidate_id,
            "session_id": cert.session_id,
            "centre_id": session.centre_id if session else None,
            "started_at": utc_iso(cert.started_at),
            "published": bool(session and session.published),
            **{k: v for k, v in cert.public_result().items() if k != "certification_id"},
        }


# ------------------------------------------------------------------------- handlers
# Every handler that changes a certification's facts says so with `_facts_changed`
# (persist them; the current result no longer reflects them).
def _facts_changed(fold: ResultsFold, cert: CertState) -> None:
    fold.dirty_facts.add(cert.certification_id)
    cert.scored = False


def _session_opened(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    session = fold._session(line["session_id"])
    session.centre_id = line["centre_id"]
    fold.dirty_sessions.add(session.session_id)


def _started(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert_id = line["certification_id"]
    if cert_id in fold.certs or cert_id in fold.forgotten_certs:
        return  # the first start stands; the ledger refuses a second one
    facts = {"certification_id": cert_id, "session_id": line["session_id"], "candidate_id": line["candidate_id"],
             "started_at": line["at"], "profile": line["profile"]}
    cert = CertState(cert_id, line["session_id"], line["candidate_id"], datetime.fromisoformat(line["at"]), facts,
                     updated_at=utc_iso(recorded_at), position=position)
    fold.certs[cert_id] = cert
    fold._session(cert.session_id).certifications.append(cert_id)
    fold.dirty_facts.add(cert_id)
    fold.dirty_rows.add(cert_id)


def _served(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    qid = line["question_id"]
    if qid in cert.served:
        cert.facts.setdefault("served_twice", []).append(qid)
    else:
        cert.served.add(qid)
        question = {"question_id": qid, "competence": line["competence"], "format": line["format"]}
        for flag in QUESTION_FLAGS:
            if line.get(flag):
                question[flag] = True
        cert.facts.setdefault("questions", []).append(question)
    _facts_changed(fold, cert)


def _answered(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    answers = cert.facts.setdefault("answers", {})
    qid = line["question_id"]
    if qid in answers:
        cert.facts.setdefault("answered_twice", []).append(qid)
    else:
        answers[qid] = line["status"]
    _facts_changed(fold, cert)


def _completed(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    cert.facts["completed"] = True
    _facts_changed(fold, cert)
    fold.rescore(cert, "first scoring" if cert.seq == 0 else "completion", "certification completed",
                 recorded_at, position)


def _incident(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    incident = {"report_id": line["report_id"], "code": line["code"]}
    if line.get("question_number") is not None:
        incident["question_number"] = line["question_number"]
    cert.facts.setdefault("incidents", []).append(incident)
    _facts_changed(fold, cert)
    if cert.seq:
        # A report made after the certification's result (once it is completed, before
        # the finalisation) changes no score until the finalisation resolves it, but the
        # result must show it awaiting: its explanation lists every report it knows.
        where = f", question {line['question_number']}" if line.get("question_number") is not None else ""
        fold.rescore(cert, "incident report", f"report {line['report_id']} ({line['code']}{where})",
                     recorded_at, position)


def _fraud(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    cert.facts.setdefault("fraud_reports", []).append(line["report_id"])
    _facts_changed(fold, cert)


def _finalised(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    session = fold._session(line["session_id"])
    session.finalised = True
    fold.dirty_sessions.add(session.session_id)
    reasons = line.get("abort_reasons") or {}
    fold.ensure_certs(c for c in session.certifications if c in fold.forgotten_certs)  # in one query
    for cert_id in session.certifications:
        cert = fold.cert(cert_id)
        if cert is None or cert.facts.get("session_finalised"):
            continue  # finalisation is refused twice: the first one stands
        scored_as_is = cert.scored and cert.seq > 0
        cert.facts["session_finalised"] = True
        if reasons.get(cert_id) is not None:
            cert.facts["abort_reason"] = reasons[cert_id]
        _facts_changed(fold, cert)
        rules = fold.timeline.in_force(cert.started_at)
        # Finalisation brings incident resolution (and abort reasons): without them the
        # result is the one already computed but for a flag (ledger.scoring.finalisation).
        derive = scored_as_is and rules is not None and finalisation_keeps_outcome(cert.facts, rules)
        recause = None
        if cert.facts.get("incidents"):
            recause = ("incident auto-resolution",
                       f"incident reports resolved at the finalisation of session {session.session_id}")
        fold.rescore(cert, "finalisation", f"session {session.session_id} finalised", recorded_at, position,
                     derive=derive, recause=recause)


def _jury_question(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    neutralised = line["type"] == "QuestionNeutralised"
    decision: dict[str, Any] = {"neutralised": neutralised, "by": line["by"], "at": line["at"]}
    if line.get("reason"):
        decision["reason"] = line["reason"]
    if line.get("event_id") is not None:
        decision["event_id"] = line["event_id"]
    decisions = cert.facts.setdefault("jury_decisions", {})
    before = decisions.get(line["question_id"])
    if before is not None:  # as ledger.scoring.fold keeps it: one level
        decision["overrides"] = {k: v for k, v in before.items() if k != "overrides"}
    decisions[line["question_id"]] = decision
    _facts_changed(fold, cert)
    if cert.seq:
        fold.rescore(cert, "neutralisation" if neutralised else "de-neutralisation",
                     f"question {line['question_id']} by {line['by']}", recorded_at, position)


def _ruling(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    cert = fold._cert(line)
    if cert is None:
        return
    ref: dict[str, Any] = {"ruling_id": line["ruling_id"], "at": line["at"]}
    if line.get("comment"):
        ref["comment"] = line["comment"]
    if line.get("resolution") is not None:
        ref["resolution"] = line["resolution"]
    if line.get("jury"):  # as ledger.scoring.fold keeps it: the members' ids
        ref["jury"] = [member["member_id"] for member in line["jury"]]
    decision = line["decision"]
    facts = cert.facts
    if decision in ("reject_for_fraud", "unreject"):
        _stand_or_lift(facts, "rejected_for_fraud", "unrejected", ref, lifts=decision == "unreject")
    elif decision in ("cancel", "uncancel"):
        _stand_or_lift(facts, "cancelled", "uncancelled", ref, lifts=decision == "uncancel")
    elif decision == "resolve_incident" and line.get("report_id"):
        facts.setdefault("incident_rulings", {})[line["report_id"]] = ref
    elif decision == "comment":
        facts.setdefault("comments", []).append(ref)
    else:
        return
    _facts_changed(fold, cert)
    if cert.seq and decision in RESCORING_DECISIONS:
        fold.rescore(cert, "jury ruling", f"{decision} (ruling {line['ruling_id']})", recorded_at, position)


def _set_or_drop(facts: dict, key: str, value: Any) -> None:
    if value is None:
        facts.pop(key, None)
    else:
        facts[key] = value


def _stand_or_lift(facts: dict, standing: str, lifted: str, ref: dict, *, lifts: bool) -> None:
    """As ledger.scoring.fold keeps them: a reject or cancel stands (dropping an earlier
    lifting); an unreject or uncancel lifts the standing one, which it keeps."""
    before = facts.get(standing)
    if lifts:
        _set_or_drop(facts, standing, None)
        _set_or_drop(facts, lifted, {**ref, "withdraws": before} if before is not None else None)
    else:
        _set_or_drop(facts, standing, ref)
        _set_or_drop(facts, lifted, None)


def _rule_version(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    fold.flush()  # which certifications change version depends on their current results
    event = RuleVersionChanged.model_validate(line)
    rules = fold.timeline.add(rule_document_of(event))
    since = rules.effective_from
    candidates = {c.certification_id: (c.started_at, c.rule_version)
                  for c in fold.certs.values() if c.seq and c.started_at >= since}
    if fold.loader is not None:
        for cert_id, started_at, version in fold.loader.rule_candidates(since):
            candidates.setdefault(cert_id, (started_at, version))
    affected = sorted(
        cert_id for cert_id, (started_at, version) in candidates.items()
        if (fold.timeline.in_force(started_at) or rules).version != version
    )
    fold.ensure_certs(affected)
    for cert_id in affected:
        fold.rescore(fold.certs[cert_id], f"rule version {rules.version}",
                     f"version in force at the start changed to {rules.version}", recorded_at, position)


def _published(fold: ResultsFold, line: dict, recorded_at: str, position: int) -> None:
    session = fold._session(line["session_id"])
    published = line["type"] == "ResultsPublished"
    if session.published != published:
        session.published = published
        fold.dirty_sessions.add(session.session_id)
        flipped = fold.published_changed.get(session.session_id)
        fold.published_changed[session.session_id] = (position, published or (flipped is not None and flipped[1]))


_HANDLERS: dict[str, Callable[[ResultsFold, dict, str, int], None]] = {
    "SessionOpened": _session_opened,
    "CertificationStarted": _started,
    "QuestionServed": _served,
    "AnswerRecorded": _answered,
    "CertificationCompleted": _completed,
    "IncidentReported": _incident,
    "FraudReported": _fraud,
    "SessionFinalised": _finalised,
    "QuestionNeutralised": _jury_question,
    "QuestionDeneutralised": _jury_question,
    "JuryRuling": _ruling,
    "RuleVersionChanged": _rule_version,
    "ResultsPublished": _published,
    "ResultsUnpublished": _published,
}
