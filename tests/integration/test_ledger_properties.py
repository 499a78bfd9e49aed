"""Property-based, differential tests of the whole ledger (hypothesis, stateful).

A state machine writes random but valid-ish histories of one to three sessions (one to
three certifications each) batch by batch, the way centres and the jury would: sessions
opened in several rule eras, certifications started with random profiles (of new
candidates, or of a candidate of another session's certification, or of one banned outside
the ban), questions
served (QCM and QROCM-dep, with images, embeds, attachments, timers, focus mode),
answers of every status, incident reports of every current code (in-challenge ones
naming questions that exist and some that do not), fraud reports, finalisations with
`candidate` and `technical` abort reasons, jury neutralisations and de-neutralisations,
rulings (reject_for_fraud, unreject, cancel, uncancel, resolve_incident, comment),
publication and unpublication, bans by the full jury (`ban_candidate`, dated around a
session's clock: covering its next start or ending exactly there, beginning later or
exactly there, over before, or backdated over starts already recorded), the lifting of
a ban in force (`unban`, at its first instant, its middle or its last second, sometimes
followed by the candidate's start), and retroactive
rule versions (`effective_from` in the past, sometimes exactly at a certification's
start), some changing `questions_per_competence` (2, with a level table a competence of 2
questions reaches, 4 or 6) or `min_certifiable_competences` (3 to 6): the model resolves
each version's parameters through `extends` and serves, starts and refuses by the version
in force at a certification's start; some batches carry an invalid line (among them a
banned candidate's start inside the ban, refused `candidate-banned`, often at the ban's
first instant; a ban ending no later than its ruling, or by one member; a profile with
one certifiable competence fewer than the version in force asks).

After every batch it checks that:

* a refused batch appends nothing (the store's position is unchanged) and its refusal
  names the invalid line, and its field; a batch the model holds valid is accepted;
* no exception escapes, every certification has a current result, and an unscorable one
  is an `error` with its reason and no score; a candidate's results (of a candidate of
  several certifications) are theirs among the results;
* before a rule version is recorded, a what-if of its document announces exactly the
  results the ledger then derives (each changed certification's outcome, its competences'
  levels and pix, its pix difference; the others unchanged) (README, "what-if": "exactly what publishing the
  proposal and rebuilding the results would give");
* each certification's stored scoring inputs equal the reference fold of its events
  (`CertificationFacts.from_events`), and its current result (explanation included)
  the reference `score` of them under the version in force at its start;
* a follower of the change feed (a jury's, and a reader's of published results)
  reading from its cursor keeps a copy equal to the results, each change once, in key
  order; a publication or unpublication changes no outcome and no history.

The projection is caught up in pages of 1 to 500 events, sometimes through a second
store (as another process would: a store of its own, starting from the views), and per history either keeps its states
warm or forgets them after each page (MAX_CACHED_CERTIFICATIONS, MAX_FORGOTTEN_IDS = 0).

At the end of each history:

* the results as of each batch's commit instant (whole log, one certification, one
  session, a candidate of several certifications), and each certification's history as
  of then, equal what the projection served when the ledger stood there;
* a full rebuild gives the incrementally maintained read model, row for row
  (results, histories, scoring inputs, sessions, positions);
* the vectorised what-if (`fast_what_if`) gives the reference `what_if`'s report, for
  built-in and recorded versions, a proposal document and a version `against` another;
* `verify` reports ok;
* `export` of the whole log imported into an empty ledger gives the same results, and so
  does `export --session` of one session (one with a banned candidate if any: the file
  carries its candidates' bans and the rule versions that applied) for that session.

Bounded, to keep the suite's time: CERTLEDGER_FUZZ_EXAMPLES (default 10 on SQLite, 3 on
PostgreSQL) histories of up to CERTLEDGER_FUZZ_STEPS (default 30) batches each, drawn
from a fixed seed, so the suite is repeatable (hypothesis' `derandomize`). A campaign
draws new histories (CERTLEDGER_FUZZ_RANDOM=1); five campaigns of 30 to 300 histories
each, on both backends, found nothing when this test was written:

    CERTLEDGER_FUZZ_RANDOM=1 CERTLEDGER_FUZZ_NO_SHRINK=1 CERTLEDGER_FUZZ_EXAMPLES=300 CERTLEDGER_FUZZ_STATS=/tmp/stats.txt \
        .venv/bin/pytest -q tests/integration/test_ledger_properties.py -p no:randomly -k sqlite

(NO_SHRINK: a failure is reported as found, unshrunk: shrinking a long history can take
minutes; STATS: what the histories reached, statuses, causes and refusals counted.)
"""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import ExitStack
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from commands.bootstrap import open_ledger
from commands.export_events import export_events
from commands.interchange import parse_lines
from commands.recording import BatchRejected, LineError
from ledger.vocabulary import INCIDENT_CODES
from projections.asof import results_as_of
from projections.audit import audit_trail
from projections.rebuild import rebuild
from projections import fold as projections_fold
from projections import results as projections_results
from projections.results import ResultsReader, catch_up, load_timeline
from projections.vector_whatif import fast_what_if
from projections.verify import verify
from projections.whatif import error_apart_from_version, what_if
from ledger.scoring import CertificationFacts, score
from ledger.streams import certification_stream, session_stream
from projections.views import ResultsViews
from storage.store import EventStore
from storage.urls import parse_url
from tests.builders import JURY
from tests.conftest import ManualClock, throwaway_database
from tests.integration.results_support import snapshot

UTC = timezone.utc
# Session days in several rule eras: before neutralisation (2021-01), the level table of
# 2021-04, the focus-out rule of 2022-03, max level 7 (2023-12), `partially` for nothing
# (2024-05).
ERAS = [datetime(2021, 3, 10, 8, tzinfo=UTC), datetime(2021, 6, 10, 8, tzinfo=UTC),
        datetime(2022, 4, 11, 8, tzinfo=UTC), datetime(2024, 1, 10, 8, tzinfo=UTC),
        datetime(2024, 6, 12, 8, tzinfo=UTC)]
BUILTIN = ["pix-v2-2017-12", "pix-v2-2021-01", "pix-v2-2021-04", "pix-v2-2021-08", "pix-v2-2022-03",
           "pix-v2-2022-05", "pix-v2-2023-12", "pix-v2-2024-05"]
COMPETENCES = ["1.1", "1.2", "1.3", "2.1", "2.2", "3.1", "4.1", "5.1"]
STATUSES = ["ok", "ok", "ok", "ko", "partially", "skipped", "timedout", "focusedOut"]
FLAGS = ["has_image", "has_embed", "has_attachment", "timed", "focused"]
E_CODES = sorted(c for c in INCIDENT_CODES if c.startswith("E"))
C_CODES = sorted(c for c in INCIDENT_CODES if c.startswith("C"))
ONE_MEMBER = [{"member_id": "pix-1", "external": False}]

EXAMPLES = {"sqlite": int(os.environ.get("CERTLEDGER_FUZZ_EXAMPLES", "10")),
            "postgresql": int(os.environ.get("CERTLEDGER_FUZZ_PG_EXAMPLES",
                                             os.environ.get("CERTLEDGER_FUZZ_EXAMPLES", "3")))}
STEPS = int(os.environ.get("CERTLEDGER_FUZZ_STEPS", "30"))
STATS: Counter[str] = Counter()  # what the histories reached (CERTLEDGER_FUZZ_STATS=FILE writes it)
OUTCOME = ("status", "reasons", "error", "pix_score", "reproducibility_rate", "competences")


# A lenient level table of the neutralisation era.
LENIENT_TABLE = [{"N": 3, "C": "2..3", "Z": "0..1", "high": "V", "middle": "V", "low": "V"},
                 {"N": 3, "C": 1, "Z": "0..2", "high": "V", "middle": "D", "low": "D"},
                 {"N": 3, "C": 0, "Z": "0..3", "high": "X", "middle": "X", "low": "X"},
                 {"N": 2, "C": "1..2", "Z": "0..1", "high": "V", "middle": "V", "low": "D"},
                 {"N": 2, "C": 0, "Z": "0..2", "high": "X", "middle": "X", "low": "X"},
                 {"N": 1, "C": "0..1", "Z": "0..1", "high": "V", "middle": "D", "low": "X"}]
# Level tables every row of which a version with 2 questions per competence can reach
# (the writing checks refuse a row whose C is above the cap): the lenient one and one
# for competences of 1 or 2 questions.
TWO_QUESTION_TABLES = [
    LENIENT_TABLE,
    [{"N": 2, "C": 2, "Z": 0, "high": "V", "middle": "V", "low": "D"},
     {"N": 2, "C": "0..1", "Z": "0..2", "high": "X", "middle": "X", "low": "X"},
     {"N": 1, "C": "0..1", "Z": "0..1", "high": "V", "middle": "D", "low": "X"}],
]


# ------------------------------------------------------------------ the model of the ledger
@dataclass(frozen=True)
class Params:
    """What the generator needs of a rule version: when it applies, and the parameters
    that bind a test as it is written (checked at the start, and at each question served)."""

    version: str
    effective_from: datetime
    questions_per_competence: int
    min_certifiable_competences: int
    table_caps_c: int  # the largest lowest C of its level table's rows (a cap below is refused)


def _builtin_params() -> dict[str, Params]:
    from ledger.rules.builtin import builtin_documents

    params: dict[str, Params] = {}
    for doc in builtin_documents():
        parent = params.get(doc.get("extends"))
        table = doc.get("level_table")
        params[doc["version"]] = Params(
            doc["version"], datetime.fromisoformat(doc["effective_from"]),
            doc.get("questions_per_competence", parent.questions_per_competence if parent else 3),
            doc.get("min_certifiable_competences", parent.min_certifiable_competences if parent else 5),
            table_lowest_c(table) if table else parent.table_caps_c)  # type: ignore[union-attr]
    return params


def table_lowest_c(rows: list[dict]) -> int:
    return max(int(str(r["C"]).split("..")[0]) for r in rows)


BUILTIN_PARAMS = _builtin_params()
@dataclass
class Cert:
    cert_id: str
    session_id: str
    started_at: datetime
    profile: dict[str, int]
    questions: list[tuple[str, str]] = field(default_factory=list)  # (question id, competence)
    answered: set[str] = field(default_factory=set)
    completed: bool = False
    report_ids: list[str] = field(default_factory=list)
    neutralised: set[str] = field(default_factory=set)  # the jury's last word
    deneutralised: set[str] = field(default_factory=set)
    rejected: bool = False
    cancelled: bool = False
    candidate_id: str = ""

    def served_for(self, competence: str) -> int:
        return sum(1 for _, c in self.questions if c == competence)


@dataclass
class Session:
    session_id: str
    cursor: datetime
    certs: list[str] = field(default_factory=list)
    finalised: bool = False
    finalised_at: datetime | None = None
    published: bool = False
    opened_at: datetime | None = None


class Model:
    """What the ledger holds, as far as the generator needs it to write valid lines.
    Changed only once a batch is accepted (a copy is worked on while writing a batch)."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.certs: dict[str, Cert] = {}
        self.versions: list[str] = list(BUILTIN)
        # Each version's effective_from and the parameters that bind a test (as resolved
        # through `extends`), in the order recorded: the one in force at an instant is the
        # latest effective_from not after it, the later recorded on a tie.
        self.params: dict[str, Params] = dict(BUILTIN_PARAMS)
        self.bans: dict[str, list[tuple[datetime, datetime]]] = {}  # candidate → (from, until)
        self.liftings: dict[str, list[datetime]] = {}  # candidate → each lifting's moment
        self.counter = 0

    def copy(self) -> Model:
        import copy

        return copy.deepcopy(self)

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def tick(self, session_id: str) -> str:
        s = self.sessions[session_id]
        s.cursor += timedelta(seconds=10)
        return s.cursor.isoformat()

    def in_force(self, at: datetime) -> Params:
        return max((p for p in self.params.values() if p.effective_from <= at),
                   key=lambda p: (p.effective_from, self.versions.index(p.version)))

    def questions_per_competence(self, cert: Cert) -> int:
        """The cap on questions served per competence: the version in force at the start
        (a retroactive version changes it for the questions still to come)."""
        return self.in_force(cert.started_at).questions_per_competence

    def banned(self, candidate_id: str, at: datetime) -> bool:
        return any(start <= at < until for start, until in self.bans.get(candidate_id, ()))

    def candidates(self) -> list[str]:
        return sorted({c.candidate_id for c in self.certs.values()} | set(self.bans))

    def open_certs(self) -> list[Cert]:
        """Certifications whose session is not finalised (centre facts)."""
        return [c for c in self.certs.values() if not self.sessions[c.session_id].finalised]

    def judged_certs(self) -> list[Cert]:
        """Certifications whose session is finalised (jury facts)."""
        return [c for c in self.certs.values() if self.sessions[c.session_id].finalised]


def line(model: Model, type_: str, clock_of: str, /, **fields) -> dict:
    """A line dated by session `clock_of`'s cursor."""
    at = fields.pop("at", None) or model.tick(clock_of)
    return {"type": type_, "event_id": model.next_id("e"), **fields, "at": at}


# ------------------------------------------------------------------ line writers (draw + model)
def write_profile(draw, certifiable_at_least: int) -> dict[str, int]:
    certifiable = draw(st.lists(st.sampled_from(COMPETENCES), min_size=certifiable_at_least, max_size=6, unique=True))
    others = [c for c in COMPETENCES if c not in certifiable]
    low = draw(st.lists(st.sampled_from(others), max_size=1, unique=True))
    return {c: draw(st.integers(8, 64)) for c in certifiable} | {c: draw(st.integers(0, 7)) for c in low}


def write_start(draw, m: Model, session: Session, prefer: str | None = None) -> list[dict]:
    """A start with at least the certifiable competences the version in force asks, of a
    new candidate or of one already known (a candidate of another session's certification,
    or one the jury banned) who is not banned at its date (`prefer`: such a one if it may)."""
    cert_id = m.next_id("c")
    at = datetime.fromisoformat(m.tick(session.session_id))
    profile = write_profile(draw, m.in_force(at).min_certifiable_competences)
    here = {m.certs[c].candidate_id for c in session.certs}
    known = [c for c in m.candidates() if c not in here and not m.banned(c, at)]
    once_banned = [c for c in known if c in m.bans]
    if prefer in known and draw(st.integers(0, 3)) > 0:
        candidate = prefer
    elif once_banned and draw(st.booleans()):
        candidate = draw(st.sampled_from(once_banned))
    elif known and draw(st.booleans()):
        candidate = draw(st.sampled_from(known))
    else:
        candidate = f"cand-{cert_id}"
    if candidate in m.bans:
        STATS["start of a banned candidate outside its bans"] += 1
    if any(c.candidate_id == candidate for c in m.certs.values()):
        STATS["start of a candidate of another certification"] += 1
    ln = line(m, "CertificationStarted", session.session_id, certification_id=cert_id,
              session_id=session.session_id, candidate_id=candidate,
              profile={c: {"pix": p} for c, p in profile.items()}, at=at.isoformat())
    m.certs[cert_id] = Cert(cert_id, session.session_id, at, profile, candidate_id=candidate)
    session.certs.append(cert_id)
    return [ln]


def write_ban(draw, m: Model, candidate: str, anchor: Session) -> list[dict]:
    """A ban by the full jury, dated around a session's clock: covering its next start
    (or ending exactly there), beginning after it (or exactly at it), or over before; at
    times backdated over starts already recorded (a ban waits for no certification)."""
    c = anchor.cursor
    shape = draw(st.sampled_from(["covering", "covering", "future", "past"]))
    if shape == "covering":
        start = c - draw(st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=30), timedelta(days=400)]))
        until = c + draw(st.sampled_from([timedelta(seconds=10), timedelta(seconds=20), timedelta(hours=1),
                                          timedelta(days=400)]))
    elif shape == "future":
        start = c + draw(st.sampled_from([timedelta(seconds=10), timedelta(seconds=20), timedelta(hours=2)]))
        until = start + draw(st.sampled_from([timedelta(seconds=1), timedelta(days=365)]))
    else:
        start = c - timedelta(days=2)
        until = c - draw(st.sampled_from([timedelta(days=1), timedelta(0)]))
    # The ledger refuses a ban dated before a lifting of the candidate's and running past
    # it (that lifting ended every ban in force then): date it from the last such lifting.
    start = max([start] + [t for t in m.liftings.get(candidate, ()) if start < t < until])
    if any(x.candidate_id == candidate and start <= x.started_at < until for x in m.certs.values()):
        STATS["ban covering a start already recorded"] += 1
    m.bans.setdefault(candidate, []).append((start, until))
    return [{"type": "JuryRuling", "event_id": m.next_id("e"), "ruling_id": m.next_id("ruling-"),
             "decision": "ban_candidate", "candidate_id": candidate, "until": until.isoformat(), "jury": JURY,
             "comment": "generated", "at": start.isoformat()}]


def write_unban(draw, m: Model, candidate: str, latest: datetime) -> list[dict]:
    """The full jury lifts a candidate's bans in force at a moment inside one of them (its
    first instant, its middle or its last second, none after `latest`, the recording's
    clock): each ends there, in the model as in the ledger; a ban beginning later stays
    whole."""
    start, until = draw(st.sampled_from([(s, u) for s, u in m.bans[candidate] if s < u and s <= latest]))
    moment = draw(st.sampled_from([t for t in (start, start + (until - start) / 2, until - timedelta(seconds=1))
                                   if start <= t < until and t <= latest]))  # (a lifted ban may last under 1 s)
    if any(x.candidate_id == candidate and moment <= x.started_at < until for x in m.certs.values()):
        STATS["ban lifted before a start it covered"] += 1
    m.bans[candidate] = [(s, moment) if s <= moment < u else (s, u) for s, u in m.bans[candidate]]
    m.liftings.setdefault(candidate, []).append(moment)
    return [{"type": "JuryRuling", "event_id": m.next_id("e"), "ruling_id": m.next_id("ruling-"),
             "decision": "unban", "candidate_id": candidate, "jury": JURY, "comment": "generated",
             "at": moment.isoformat()}]


def write_serve(draw, m: Model, cert: Cert, competence: str, count: int, answer_p: float) -> list[dict]:
    lines = []
    qrocm = draw(st.sampled_from([None, None, 0, 1, 2]))
    for i in range(count):
        q = m.next_id(f"{cert.cert_id}-q")
        flags = {f: True for f in draw(st.lists(st.sampled_from(FLAGS), max_size=2, unique=True))}
        fmt = "QROCM-dep" if qrocm == i else draw(st.sampled_from(["QCM", "QCU", "QROC"]))
        lines.append(line(m, "QuestionServed", cert.session_id, certification_id=cert.cert_id, question_id=q,
                          competence=competence, format=fmt, **flags))
        cert.questions.append((q, competence))
        if cert.served_for(competence) > 3:
            STATS["a 4th to 6th question of a competence"] += 1
        if draw(st.floats(0, 1)) < answer_p:
            lines.append(line(m, "AnswerRecorded", cert.session_id, certification_id=cert.cert_id, question_id=q,
                              status=draw(st.sampled_from(STATUSES))))
            cert.answered.add(q)
    return lines


def write_full_test(draw, m: Model, cert: Cert) -> list[dict]:
    """Questions for every certifiable competence (1 to 3 each), most answered."""
    lines = []
    answer_p = draw(st.sampled_from([1.0, 1.0, 0.9, 0.6]))
    cap = m.questions_per_competence(cert)
    for comp, pix in cert.profile.items():
        if pix < 8 and not draw(st.integers(0, 3)) == 0:
            continue
        count = min(cap, draw(st.sampled_from([cap, 3, 3, 2, 1]))) - cert.served_for(comp)
        if count > 0:
            lines += write_serve(draw, m, cert, comp, count, answer_p)
    if answer_p == 1.0 and draw(st.booleans()):
        lines += write_complete(m, cert)
    return lines


def write_complete(m: Model, cert: Cert) -> list[dict]:
    cert.completed = True
    return [line(m, "CertificationCompleted", cert.session_id, certification_id=cert.cert_id)]


def write_incident(draw, m: Model, cert: Cert) -> list[dict]:
    report = m.next_id("r")
    cert.report_ids.append(report)
    if draw(st.integers(0, 4)) > 0:
        code = draw(st.sampled_from(E_CODES))
        number = draw(st.integers(1, len(cert.questions) + 2))  # some name no question
        return [line(m, "IncidentReported", cert.session_id, certification_id=cert.cert_id, report_id=report,
                     code=code, question_number=number, description="generated")]
    return [line(m, "IncidentReported", cert.session_id, certification_id=cert.cert_id, report_id=report,
                 code=draw(st.sampled_from(C_CODES)), description="generated")]


def write_fraud(m: Model, cert: Cert) -> list[dict]:
    report = m.next_id("f")
    cert.report_ids.append(report)
    return [line(m, "FraudReported", cert.session_id, certification_id=cert.cert_id, report_id=report,
                 reported_by="centre", description="phone seen")]


def write_finalise(draw, m: Model, session: Session) -> list[dict]:
    reasons = {c: draw(st.sampled_from(["candidate", "technical"]))
               for c in session.certs if not m.certs[c].completed}
    session.finalised = True
    session.finalised_at = session.cursor + timedelta(seconds=10)
    return [line(m, "SessionFinalised", session.session_id, session_id=session.session_id, abort_reasons=reasons,
                 comment="")]


def write_jury(draw, m: Model, cert: Cert) -> list[dict]:
    session = m.sessions[cert.session_id]
    options = []
    if cert.questions:
        options += ["neutralise", "deneutralise"]
    options += ["cancel" if not cert.cancelled else "uncancel"]
    if cert.rejected:
        options.append("unreject")
    elif not session.published:
        options.append("reject_for_fraud")
    if cert.report_ids:
        options.append("resolve_incident")
    options.append("comment")
    kind = draw(st.sampled_from(options))
    if kind in ("neutralise", "deneutralise"):
        if kind == "neutralise":
            candidates = [q for q, _ in cert.questions if q not in cert.neutralised]
        else:
            candidates = [q for q, _ in cert.questions if q not in cert.deneutralised]
        if not candidates:
            return []
        q = draw(st.sampled_from(candidates))
        if kind == "neutralise":
            cert.neutralised.add(q)
            cert.deneutralised.discard(q)
            type_ = "QuestionNeutralised"
        else:
            cert.deneutralised.add(q)
            cert.neutralised.discard(q)
            type_ = "QuestionDeneutralised"
        return [line(m, type_, cert.session_id, certification_id=cert.cert_id, question_id=q,
                     by=draw(st.sampled_from(["pix-1", "ext-1"])), reason="jury review")]
    fields: dict[str, Any] = {"certification_id": cert.cert_id}
    jury = JURY
    if kind == "cancel":
        cert.cancelled = True
    elif kind == "uncancel":
        cert.cancelled = False
    elif kind == "reject_for_fraud":
        cert.rejected = True
    elif kind == "unreject":
        cert.rejected = False
    elif kind == "resolve_incident":
        fields |= {"report_id": draw(st.sampled_from(cert.report_ids)), "resolution": "handled by the jury"}
        jury = ONE_MEMBER
    else:
        jury = ONE_MEMBER
    return [line(m, "JuryRuling", cert.session_id, ruling_id=m.next_id("ruling-"), decision=kind, jury=jury,
                 comment="generated", **fields)]


def rule_document(draw, m: Model, version: str, effective_from: str) -> dict:
    doc: dict[str, Any] = {"version": version, "extends": draw(st.sampled_from(m.versions)),
                           "effective_from": effective_from}
    tweaks = draw(st.lists(st.sampled_from(["cap", "trust", "gate", "rounding", "credit", "abort", "auto",
                                            "table", "min", "questions"]), min_size=1, max_size=3, unique=True))
    for tweak in tweaks:
        if tweak == "cap":
            doc["max_reachable_level"] = draw(st.integers(3, 8))
        elif tweak == "trust":
            doc["trust_rule"] = draw(st.sampled_from([None, {"min_answered_ratio": 0.5},
                                                      {"min_answered_ratio": 0.66}, {"min_answered_ratio": 1.0}]))
        elif tweak == "gate":
            doc["reproducibility_rate"] = {"fail_below": draw(st.sampled_from([40, 50, 60, 65]))}
        elif tweak == "rounding":
            doc.setdefault("reproducibility_rate", {})["rounding"] = draw(
                st.sampled_from(["half_up", "half_even", "down"]))
        elif tweak == "credit":
            doc["qrocm_dep"] = {"partially_credit": draw(st.integers(0, 1))}
        elif tweak == "abort":
            doc["unanswered_on_abort"] = {r: draw(st.sampled_from(["skipped", "neutralised"]))
                                          for r in ("candidate", "technical")}
        elif tweak == "auto":
            code = draw(st.sampled_from(E_CODES))
            doc["automatic_resolution"] = {code: draw(st.sampled_from([
                None,
                {"when": "always", "neutralise_answers": ["ko", "skipped", "partially"]},
                {"when": draw(st.sampled_from(["timed", "focused", "has_image", "has_embed", "has_attachment"])),
                 "neutralise_answers": ["ko"], "remark_answers": {"focusedOut": "ok", "timedout": "ok"}},
            ]))}
        elif tweak == "table":
            doc["level_table"] = draw(st.sampled_from([
                # the lenient table; and one with gaps (errors)
                LENIENT_TABLE,
                [{"N": 3, "C": 3, "Z": 0, "high": "V", "middle": "V", "low": "V"},
                 {"N": 3, "C": "0..2", "Z": 0, "high": "X", "middle": "X", "low": "X"}],
            ]))
        elif tweak == "min":
            doc["min_certifiable_competences"] = draw(st.integers(3, 6))
        elif tweak == "questions":
            # more questions per competence (up to the schema's 6), or fewer, 2, with a
            # table of rows a competence of 2 questions reaches (1: no table of these can)
            doc["questions_per_competence"] = draw(st.sampled_from([2, 4, 6]))
    parent = m.params[doc["extends"]]
    per = doc.get("questions_per_competence", parent.questions_per_competence)
    lowest_c = table_lowest_c(doc["level_table"]) if "level_table" in doc else parent.table_caps_c
    if lowest_c > per:
        doc["level_table"] = draw(st.sampled_from(TWO_QUESTION_TABLES))
        lowest_c = table_lowest_c(doc["level_table"])
    m.params[version] = Params(version, datetime.fromisoformat(effective_from), per,
                               doc.get("min_certifiable_competences", parent.min_certifiable_competences), lowest_c)
    STATS[f"version of {per} questions per competence, {m.params[version].min_certifiable_competences} certifiable"] += 1
    return doc


# ------------------------------------------------------------------ invalid lines
def invalid_line(draw, m: Model, kind: str | None = None) -> tuple[dict, str | None]:
    """A line the ledger must refuse, and the field its refusal must name (`kind`: of that
    kind, which the history's state allows)."""
    certs = list(m.certs.values())
    open_certs = m.open_certs()
    # The kinds a history's state allows first, the ones always possible last: hypothesis
    # draws the first items of a list most, and the repeatable run (derandomize) never drew
    # "jury-before-finalisation" nor "reject-published" when they came last.
    kinds = []
    open_sessions = [s for s in m.sessions.values() if not s.finalised]
    inside = [(s, cand, moment) for s in open_sessions for cand in sorted(m.bans)
              if (moment := banned_start_at(m, s, cand)) is not None]
    if inside:
        kinds += ["banned-start"]
    if [c for c in m.judged_certs() if m.sessions[c.session_id].published and not c.rejected]:
        kinds += ["reject-published"]
    if m.judged_certs():
        kinds += ["jury-before-finalisation", "one-member-cancel", "late-serve", "publish-twice-or-early"]
    if [c for c in open_certs if c.questions]:
        kinds += ["jury-too-soon"]
    if open_certs:
        kinds += ["unserved-answer", "too-many", "deprecated-code"]
    kinds += ["bad-status", "unknown-session", "no-offset", "string-number", "unknown-competence",
              "missing-field", "missing-number"]
    if [s for s in open_sessions if m.in_force(s.cursor + timedelta(seconds=10)).min_certifiable_competences > 1]:
        kinds += ["too-few-certifiable"]
    if m.candidates():
        kinds += ["ban-empty", "ban-one-member"]
    assert kind is None or kind in kinds, (kind, kinds)
    kind = kind or draw(st.sampled_from(kinds))
    cert = draw(st.sampled_from(open_certs)) if open_certs else (certs[0] if certs else None)
    cid = cert.cert_id if cert else "nobody"
    at = (ERAS[0] + timedelta(days=1)).isoformat()
    eid = m.next_id("bad")
    if kind == "banned-start":  # inside a ban: from its ruling's date (included) to its end (excluded)
        session, cand, moment = draw(st.sampled_from(inside))
        STATS["refused start inside a ban" + (" at its first instant" if any(
            moment == start for start, _ in m.bans[cand]) else "")] += 1
        return {"type": "CertificationStarted", "event_id": eid, "certification_id": m.next_id("c-banned"),
                "session_id": session.session_id, "candidate_id": cand,
                "profile": {c: {"pix": 20} for c in COMPETENCES[:6]}, "at": moment.isoformat()}, "candidate_id"
    if kind == "too-few-certifiable":
        session = draw(st.sampled_from([s for s in open_sessions if m.in_force(
            s.cursor + timedelta(seconds=10)).min_certifiable_competences > 1]))
        moment = session.cursor + timedelta(seconds=10)
        fewer = m.in_force(moment).min_certifiable_competences - 1
        return {"type": "CertificationStarted", "event_id": eid, "certification_id": m.next_id("c-few"),
                "session_id": session.session_id, "candidate_id": m.next_id("cand-few"),
                "profile": {c: {"pix": 20} for c in COMPETENCES[:fewer]} | {COMPETENCES[-1]: {"pix": 7}},
                "at": moment.isoformat()}, "profile"
    if kind in ("ban-empty", "ban-one-member"):
        empty = kind == "ban-empty"
        until = ERAS[0] - timedelta(seconds=draw(st.sampled_from([0, 1]))) if empty else ERAS[-1]
        return {"type": "JuryRuling", "event_id": eid, "ruling_id": m.next_id("ruling-bad"),
                "decision": "ban_candidate", "candidate_id": draw(st.sampled_from(m.candidates())),
                "until": until.isoformat(), "jury": JURY if empty else ONE_MEMBER,
                "at": ERAS[0].isoformat()}, "until" if empty else "jury"
    if kind == "bad-status":
        return {"type": "AnswerRecorded", "event_id": eid, "certification_id": cid, "question_id": "q",
                "status": "correct", "at": at}, "status"
    if kind == "unknown-session":
        return {"type": "SessionFinalised", "event_id": eid, "session_id": "never-opened", "at": at}, "session_id"
    if kind == "no-offset":
        return {"type": "SessionOpened", "event_id": eid, "session_id": m.next_id("bad-s"), "centre_id": "x",
                "at": "2024-06-12T08:00:00"}, "at"
    if kind == "string-number":
        return {"type": "IncidentReported", "event_id": eid, "certification_id": cid, "report_id": "rx",
                "code": "E4", "question_number": "3", "at": at}, "question_number"
    if kind == "unknown-competence":
        return {"type": "QuestionServed", "event_id": eid, "certification_id": cid, "question_id": "qx",
                "competence": "9.9", "format": "QCM", "at": at}, "competence"
    if kind == "missing-field":
        return {"type": "CertificationCompleted", "event_id": eid, "at": at}, "certification_id"
    if kind == "missing-number":
        return {"type": "IncidentReported", "event_id": eid, "certification_id": cid, "report_id": "ry",
                "code": "E9", "at": at}, "question_number"
    if kind == "deprecated-code":
        return {"type": "IncidentReported", "event_id": eid, "certification_id": cid, "report_id": "rz",
                "code": "C3", "at": m.sessions[cert.session_id].cursor.isoformat()}, "code"
    if kind == "unserved-answer":
        return {"type": "AnswerRecorded", "event_id": eid, "certification_id": cid, "question_id": "never-served",
                "status": "ok", "at": m.sessions[cert.session_id].cursor.isoformat()}, "question_id"
    if kind == "too-many":
        # a fourth question for a competence (or the first of a fresh one served 4 times)
        comp = next((c for c in COMPETENCES if cert.served_for(c) >= m.questions_per_competence(cert)), None)
        lines_at = m.sessions[cert.session_id].cursor
        if comp is None or cert.completed:
            return {"type": "AnswerRecorded", "event_id": eid, "certification_id": cid, "question_id": "nq",
                    "status": "ok", "at": lines_at.isoformat()}, "question_id"
        STATS[f"refused a question beyond a cap of {m.questions_per_competence(cert)}"] += 1
        return {"type": "QuestionServed", "event_id": eid, "certification_id": cid, "question_id": "q4",
                "competence": comp, "format": "QCM", "at": lines_at.isoformat()}, "competence"
    if kind == "jury-too-soon":  # the jury decides once the session is finalised (§5)
        cert = draw(st.sampled_from([c for c in open_certs if c.questions]))
        return {"type": "QuestionNeutralised", "event_id": eid, "certification_id": cert.cert_id,
                "question_id": cert.questions[0][0], "by": "pix-1",
                "at": m.sessions[cert.session_id].cursor.isoformat()}, "certification_id"
    if kind == "reject-published":
        cert = draw(st.sampled_from([c for c in m.judged_certs()
                                     if m.sessions[c.session_id].published and not c.rejected]))
        return {"type": "JuryRuling", "event_id": eid, "ruling_id": m.next_id("ruling-bad"),
                "decision": "reject_for_fraud", "jury": JURY, "certification_id": cert.cert_id,
                "at": m.sessions[cert.session_id].cursor.isoformat()}, "decision"
    judged = draw(st.sampled_from(m.judged_certs()))
    session = m.sessions[judged.session_id]
    at = session.cursor.isoformat()
    if kind == "jury-before-finalisation":
        early = (session.finalised_at - timedelta(seconds=1)).isoformat()
        if draw(st.booleans()):
            return {"type": "JuryRuling", "event_id": eid, "ruling_id": m.next_id("ruling-bad"), "decision": "comment",
                    "jury": ONE_MEMBER, "certification_id": judged.cert_id, "at": early}, "at"
        return {"type": "QuestionDeneutralised", "event_id": eid, "certification_id": judged.cert_id,
                "question_id": "whatever", "by": "pix-1", "at": early}, "at"
    if kind == "publish-twice-or-early":
        if session.published:
            return {"type": "ResultsPublished", "event_id": eid, "session_id": session.session_id, "at": at}, "session_id"
        return {"type": "ResultsPublished", "event_id": eid, "session_id": session.session_id,
                "at": (session.finalised_at - timedelta(seconds=1)).isoformat()}, "at"
    if kind == "one-member-cancel":
        return {"type": "JuryRuling", "event_id": eid, "ruling_id": m.next_id("ruling-bad"), "decision":
                "cancel" if not judged.cancelled else "uncancel", "jury": ONE_MEMBER,
                "certification_id": judged.cert_id, "at": at}, "jury"
    # late-serve: a centre's fact once the session is finalised
    return {"type": "QuestionServed", "event_id": eid, "certification_id": judged.cert_id, "question_id": "late",
            "competence": "1.1", "format": "QCM", "at": at}, "type"


def banned_start_at(m: Model, session: Session, candidate: str) -> datetime | None:
    """An instant a start in `session` may be dated (not before it opened) inside one of
    `candidate`'s bans: the session's next tick if inside, else a ban's first instant."""
    following = session.cursor + timedelta(seconds=10)
    if m.banned(candidate, following):
        return following
    for start, until in m.bans[candidate]:
        if session.opened_at is not None and start >= session.opened_at and start < until:
            return start
    return None


# Refusals whose code the test names too (the field alone could be another rule's).
CODES = {("CertificationStarted", "candidate_id"): "candidate-banned",
         ("JuryRuling", "until"): "ban-period-empty"}


# ------------------------------------------------------------------ the machine
def public_outcome(row: dict) -> dict:
    return {k: row.get(k) for k in OUTCOME}


def outcome_apart_from_version(row: dict) -> dict:
    return {**public_outcome(row), "error": error_apart_from_version(row.get("error"), row.get("rule_version"))}


class LedgerMachine(RuleBasedStateMachine):
    backend = "sqlite"
    pg: tuple[str, str] | None = None  # (server url, template)

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        if self.backend == "sqlite":
            folder = self.stack.enter_context(tempfile.TemporaryDirectory())
            self.url = f"sqlite:///{folder}/ledger.db"
        else:
            server, template = self.pg
            self.url = self.stack.enter_context(
                throwaway_database(server, f"certledger_t_{uuid.uuid4().hex[:12]}", template=template))
        self.clock = ManualClock()
        self.ledger = self.stack.enter_context(open_ledger(self.url, clock=self.clock))
        self.store = self.ledger.store
        self.reader = ResultsReader(self.store)
        self.model = Model()
        # (commit instant, current results, histories) after each batch, refused ones too
        self.served: list[tuple[datetime, list[dict], dict[str, list[dict]]]] = []
        self.batches = 0
        # two followers of the change feed: a jury's (every result) and a reader's (published)
        self.feeds: dict[bool, dict[str, Any]] = {False: {"cursor": None, "copy": {}},
                                                  True: {"cursor": None, "copy": {}}}

    # -------------------------------------------------------------- recording
    def record(self, lines: list[dict], *, by: str, path: str) -> BatchRejected | None:
        self.clock.advance(minutes=1)
        raw = [orjson.dumps(ln) for ln in lines]
        items = list(parse_lines(raw))
        before = self.store.max_position()
        try:
            if path == "record" and not any(isinstance(e, LineError) for _, e in items):
                self.ledger.service.record([e for _, e in items], by=by)
            else:
                self.ledger.service.record_stream(items, by=by, chunk=3)
        except BatchRejected as refused:
            assert self.store.max_position() == before, "a refused batch appended"
            return refused
        finally:
            self.batches += 1
        return None

    def accept(self, lines: list[dict], work: Model, data, by: str = "centre") -> None:
        if not lines:
            return
        refused = self.record(lines, by=by, path=data.draw(st.sampled_from(["record", "stream"]), label="path"))
        assert refused is None, ("a batch the model holds valid was refused:\n" + str(refused)
                                 + "\n" + "\n".join(orjson.dumps(ln).decode() for ln in lines))
        self.model = work
        STATS[f"batch {lines[0]['type']}"] += 1
        self.after_batch(data)

    def after_batch(self, data) -> None:
        page = data.draw(st.sampled_from([1, 3, 7, 500]), label="page")
        if data.draw(st.integers(0, 4), label="another process") == 0:
            # caught up by another process: a projection of its own, starting from the views
            other = EventStore(parse_url(self.url))
            try:
                catch_up(other, page_size=page)
            finally:
                other.close()
        catch_up(self.store, page_size=page)
        current = self.reader.current()
        histories = {r["certification_id"]: self.reader.history(r["certification_id"]) for r in current}
        self.served.append((self.clock.now, current, histories))
        self.check_current(current)
        self.check_against_the_reference(current)
        for candidate in self.shared_candidates(current):
            assert self.reader.current(candidate_id=candidate) == [
                r for r in current if r["candidate_id"] == candidate], candidate
        self.follow_feeds(current, data.draw(st.sampled_from([1, 2, 50]), label="feed page"))

    @staticmethod
    def shared_candidates(current: list[dict]) -> list[str]:
        """Candidates of more than one certification."""
        count = Counter(r["candidate_id"] for r in current)
        return sorted(c for c, n in count.items() if n > 1)

    def follow_feeds(self, current: list[dict], limit: int) -> None:
        """README, "Following the results": read from the cursor page by page and keep the
        copy: it ends equal to the results (a reader's: the published ones)."""
        for published_once, feed in self.feeds.items():
            seen: set[str] = set()
            while True:
                page = self.reader.changes(after=feed["cursor"], limit=limit, published_once=published_once)
                for change in page:
                    key = (change["changed"], change["certification_id"])
                    assert feed["cursor"] is None or key > feed["cursor"], (feed["cursor"], key)
                    assert change["certification_id"] not in seen, ("twice in one reading", change)
                    seen.add(change["certification_id"])
                    feed["cursor"] = key
                    row = {k: v for k, v in change.items() if k not in ("changed", "was_published")}
                    if published_once and not row["published"]:
                        feed["copy"].pop(row["certification_id"], None)  # withdrawn
                    else:
                        feed["copy"][row["certification_id"]] = row
                if len(page) < limit:
                    break
            want = {r["certification_id"]: r for r in current if r["published"] or not published_once}
            assert feed["copy"] == want, ("the feed's copy differs", published_once)

    def check_current(self, current: list[dict]) -> None:
        assert {r["certification_id"] for r in current} == set(self.model.certs)
        for r in current:
            event(f"status {r['status']}")
            STATS[f"status {r['status']} {r['reasons'][:1]}"] += 1
            if r["status"] == "error" or r["error"] is not None:
                # unscorable: an error, or cancelled when the jury cancelled it (README), with no score
                assert r["status"] == "error" or (r["status"], r["reasons"][:1]) == ("cancelled", ["CANCELLED_BY_JURY"]), r
                assert r["error"] and r["reasons"] and r["pix_score"] is None and not r["competences"], r
            elif r["status"] != "started":
                assert r["pix_score"] is not None and r["error"] is None, r
                assert r["pix_score"] == sum(m["pix"] for m in r["competences"].values()), r

    def check_against_the_reference(self, current: list[dict]) -> None:
        """The projection folds raw JSON (projections.fold) and takes shortcuts (a
        finalisation that keeps the outcome); the reference folds each certification's
        events (CertificationFacts.from_events) and scores them (ledger.scoring.score)
        under the version in force at its start: the same facts, the same result."""
        timeline = load_timeline(self.store)
        views = ResultsViews(self.store)
        stored = {c: CertificationFacts.model_validate(orjson.loads(f)) for c, f in views.query(
            "SELECT certification_id, facts FROM certledger_scoring_inputs")}
        for row in current:
            cid = row["certification_id"]
            records = self.store.read_streams_in_log_order([session_stream(row["session_id"]),
                                                            certification_stream(cid)])
            facts = CertificationFacts.from_events([r.event for r in records], cid)
            assert stored[cid] == facts, (cid, stored[cid], facts)
            if row["status"] == "started":
                continue
            want = score(facts, timeline.in_force(facts.started_at)).model_dump(mode="json")
            got = {k: v for k, v in row.items() if k in want}
            want = {k: v for k, v in want.items() if k in got}
            assert got == want, (cid, got, want)

    # -------------------------------------------------------------- rules: the centre
    @initialize(data=st.data())
    def first_session(self, data):
        # How the projection keeps its states between pages: warm (all cached), or
        # forgetting them after each page (past MAX_CACHED_CERTIFICATIONS) and loading them
        # back from the views, by name or page by page (past MAX_FORGOTTEN_IDS).
        mode = data.draw(st.sampled_from(["warm", "forgetful", "forgetful-unnamed"]), label="fold mode")
        if mode != "warm":
            self.patch(projections_results, "MAX_CACHED_CERTIFICATIONS", 0)
        if mode == "forgetful-unnamed":
            self.patch(projections_fold, "MAX_FORGOTTEN_IDS", 0)
        self.open_session(data)

    def patch(self, module, name: str, value) -> None:
        old = getattr(module, name)
        setattr(module, name, value)
        self.stack.callback(setattr, module, name, old)

    @precondition(lambda self: len(self.model.sessions) < 3)
    @rule(data=st.data())
    def open_session(self, data):
        work = self.model.copy()
        sid = work.next_id("s")
        era = data.draw(st.sampled_from(ERAS), label="era")
        work.sessions[sid] = Session(sid, era + timedelta(hours=len(work.sessions)))
        lines = [line(work, "SessionOpened", sid, session_id=sid, centre_id=f"centre-{len(work.sessions) % 2}")]
        work.sessions[sid].opened_at = datetime.fromisoformat(lines[0]["at"])
        # often with a certification at once
        if data.draw(st.booleans(), label="with start"):
            cert_lines = write_start(data.draw, work, work.sessions[sid])
            lines += cert_lines
            if data.draw(st.integers(0, 3), label="with test") > 0:
                lines += write_full_test(data.draw, work, work.certs[cert_lines[0]["certification_id"]])
        self.accept(lines, work, data)

    @precondition(lambda self: any(not s.finalised and len(s.certs) < 3 for s in self.model.sessions.values()))
    @rule(data=st.data())
    def start_certification(self, data):
        work = self.model.copy()
        session = data.draw(st.sampled_from(
            [s for s in work.sessions.values() if not s.finalised and len(s.certs) < 3]), label="session")
        lines = write_start(data.draw, work, session)
        if data.draw(st.integers(0, 3), label="with test") > 0:
            lines += write_full_test(data.draw, work, work.certs[lines[0]["certification_id"]])
        self.accept(lines, work, data)

    @precondition(lambda self: any(not c.completed and any(c.served_for(k) < self.model.questions_per_competence(c)
                                                           for k in COMPETENCES)
                                   for c in self.model.open_certs()))
    @rule(data=st.data())
    def serve_questions(self, data):
        work = self.model.copy()
        cert = data.draw(st.sampled_from([c for c in work.open_certs() if not c.completed
                                          and any(c.served_for(k) < work.questions_per_competence(c)
                                                  for k in COMPETENCES)]), label="cert")
        cap = work.questions_per_competence(cert)
        comps = [c for c in COMPETENCES if cert.served_for(c) < cap]
        comp = data.draw(st.sampled_from(comps), label="competence")
        count = data.draw(st.integers(1, min(3, cap - cert.served_for(comp))), label="count")
        lines = write_serve(data.draw, work, cert, comp, count, data.draw(st.sampled_from([1.0, 0.5, 0.0])))
        self.accept(lines, work, data)

    @precondition(lambda self: any(not c.completed and set(q for q, _ in c.questions) - c.answered
                                   for c in self.model.open_certs()))
    @rule(data=st.data())
    def answer(self, data):
        work = self.model.copy()
        cert = data.draw(st.sampled_from([c for c in work.open_certs() if not c.completed
                                          and set(q for q, _ in c.questions) - c.answered]), label="cert")
        q = data.draw(st.sampled_from(sorted(set(q for q, _ in cert.questions) - cert.answered)), label="q")
        cert.answered.add(q)
        lines = [line(work, "AnswerRecorded", cert.session_id, certification_id=cert.cert_id, question_id=q,
                      status=data.draw(st.sampled_from(STATUSES), label="status"))]
        self.accept(lines, work, data)

    @precondition(lambda self: any(not c.completed for c in self.model.open_certs()))
    @rule(data=st.data())
    def complete(self, data):
        work = self.model.copy()
        cert = data.draw(st.sampled_from([c for c in work.open_certs() if not c.completed]), label="cert")
        self.accept(write_complete(work, cert), work, data)

    @precondition(lambda self: self.model.open_certs())
    @rule(data=st.data())
    def report(self, data):
        work = self.model.copy()
        cert = data.draw(st.sampled_from(work.open_certs()), label="cert")
        lines = []
        for _ in range(data.draw(st.integers(1, 3), label="reports")):
            if data.draw(st.integers(0, 5), label="fraud?") == 0:
                lines += write_fraud(work, cert)
            else:
                lines += write_incident(data.draw, work, cert)
        self.accept(lines, work, data)

    @precondition(lambda self: any(not s.finalised and s.certs for s in self.model.sessions.values()))
    @rule(data=st.data())
    def finalise(self, data):
        work = self.model.copy()
        session = data.draw(st.sampled_from([s for s in work.sessions.values() if not s.finalised and s.certs]),
                            label="session")
        self.accept(write_finalise(data.draw, work, session), work, data)

    # -------------------------------------------------------------- rules: the jury
    @precondition(lambda self: self.model.judged_certs())
    @rule(data=st.data())
    def jury(self, data):
        work = self.model.copy()
        lines = []
        for _ in range(data.draw(st.integers(1, 3), label="decisions")):
            cert = data.draw(st.sampled_from(work.judged_certs()), label="cert")
            lines += write_jury(data.draw, work, cert)
        self.accept(lines, work, data, by="jury")

    @precondition(lambda self: self.model.certs)
    @rule(data=st.data())
    def ban(self, data):
        """The full jury bans a candidate (one known, or one yet to start) for a period
        dated around a session's clock; sometimes a start follows in the same batch, of
        that candidate if it is outside the ban (and of another if not)."""
        work = self.model.copy()
        known = work.candidates()
        candidate = (data.draw(st.sampled_from(known), label="candidate") if data.draw(st.integers(0, 4), label="new?")
                     else work.next_id("cand-new"))
        anchor = data.draw(st.sampled_from(sorted(work.sessions.values(), key=lambda s: s.session_id)),
                           label="anchor")
        lines = write_ban(data.draw, work, candidate, anchor)
        if not anchor.finalised and len(anchor.certs) < 3 and data.draw(st.booleans(), label="then a start"):
            lines += write_start(data.draw, work, anchor, prefer=candidate)
        self.accept(lines, work, data, by="jury")

    @precondition(lambda self: any(s < u and s <= self.clock.now for bans in self.model.bans.values()
                                   for s, u in bans))
    @rule(data=st.data())
    def unban(self, data):
        """The full jury lifts a ban in force (then, sometimes, the candidate starts again
        in a session whose clock the lifting freed)."""
        work = self.model.copy()
        candidate = data.draw(st.sampled_from(sorted(c for c, bans in work.bans.items()
                                                     if any(s < u and s <= self.clock.now for s, u in bans))),
                              label="candidate")
        lines = write_unban(data.draw, work, candidate, self.clock.now)
        free = sorted((s for s in work.sessions.values() if not s.finalised and len(s.certs) < 3
                       and not work.banned(candidate, s.cursor + timedelta(seconds=10))), key=lambda s: s.session_id)
        if free and data.draw(st.booleans(), label="then a start"):
            lines += write_start(data.draw, work, data.draw(st.sampled_from(free), label="session"), prefer=candidate)
        self.accept(lines, work, data, by="jury")

    @precondition(lambda self: any(s.finalised for s in self.model.sessions.values()))
    @rule(data=st.data())
    def publication(self, data):
        work = self.model.copy()
        session = data.draw(st.sampled_from([s for s in work.sessions.values() if s.finalised]), label="session")
        type_ = "ResultsUnpublished" if session.published else "ResultsPublished"
        session.published = not session.published
        before = self.served[-1]
        self.accept([line(work, type_, session.session_id, session_id=session.session_id)], work, data, by="jury")
        # publication is not a rescoring: no history grows, no outcome changes
        after = self.served[-1]
        assert after[2] == before[2]
        assert [public_outcome(r) for r in after[1]] == [public_outcome(r) for r in before[1]]

    @precondition(lambda self: len(self.model.versions) < len(BUILTIN) + 3)
    @rule(data=st.data())
    def rule_version(self, data):
        """A retroactive rule version; what-if first, then recorded: the what-if must have
        announced exactly the results the ledger derives."""
        work = self.model.copy()
        version = work.next_id("jury-v")
        starts = sorted(c.started_at for c in work.certs.values())
        # before an era, exactly at a start, long before all, or on an existing version's
        # date (a tie: the later recorded wins)
        timeline = load_timeline(self.store)
        ties = [v.effective_from for v in timeline.versions()]
        choices = [e - timedelta(days=1) for e in ERAS] + starts + [ERAS[0] - timedelta(days=400)] + ties
        effective = data.draw(st.sampled_from(choices), label="effective_from")
        doc = rule_document(data.draw, work, version, effective.isoformat())
        work.versions.append(version)
        at = (self.clock.now - timedelta(hours=1)).isoformat()
        ln = {"type": "RuleVersionChanged", "event_id": work.next_id("e"), "version": version,
              "effective_from": effective.isoformat(), "rules": doc, "jury": JURY, "reason": "generated", "at": at}
        catch_up(self.store)
        before = {r["certification_id"]: r for r in self.reader.current()}
        predicted = what_if(self.store, doc)
        self.accept([ln], work, data, by="jury")
        after = {r["certification_id"]: r for r in self.reader.current()}
        changed = {c.certification_id: c for c in predicted.changes}
        assert predicted.compared == len(before)
        for cid, now in after.items():
            if cid in changed:
                change = changed[cid]
                side = change.after
                assert (now["status"], tuple(now["reasons"]), now["error"], now["pix_score"],
                        now["reproducibility_rate"], now["rule_version"]) == (
                    side.status, side.reasons, side.error, side.pix_score, side.reproducibility_rate,
                    side.rule_version), (cid, now, side)
                # ... and each competence it says changes, as it then is (its level and pix)
                marks = now["competences"] or {}
                for competence in change.competences:
                    mark = marks.get(competence.code) or {}
                    assert (mark.get("level"), mark.get("pix")) == (competence.level_after, competence.pix_after), (
                        cid, competence, marks)
                if change.pix_difference is not None:
                    assert change.pix_difference == (now["pix_score"] or 0) - (before[cid]["pix_score"] or 0), (
                        cid, change.pix_difference, before[cid]["pix_score"], now["pix_score"])
            else:
                # (an unscorable certification's words name its version: the same problem
                # under another version is no change, as what-if says)
                assert outcome_apart_from_version(now) == outcome_apart_from_version(before[cid]), (
                    cid, before[cid], now)
        # ... and it counts those it rescores under another version with the same outcome
        rescored = [cid for cid, now in after.items() if cid not in changed and now["status"] != "started"
                    and now["rule_version"] != before[cid]["rule_version"]]
        assert predicted.rescored_unchanged == len(rescored), (predicted.rescored_unchanged, rescored)
        STATS["rescored with the same outcome, announced"] += len(rescored)

    # -------------------------------------------------------------- rules: refused batches
    @rule(data=st.data())
    def invalid_batch(self, data, kind: str | None = None):
        work = self.model.copy()
        lines: list[dict] = []
        # a few valid lines around the invalid one (the model copy is thrown away)
        if work.open_certs() and data.draw(st.booleans(), label="with valid lines"):
            cert = data.draw(st.sampled_from(work.open_certs()), label="cert")
            lines += write_incident(data.draw, work, cert)
        bad, bad_field = invalid_line(data.draw, work, kind)
        index = data.draw(st.integers(0, len(lines)), label="where")
        lines.insert(index, bad)
        refused = self.record(lines, by="centre", path=data.draw(st.sampled_from(["record", "stream"]), label="path"))
        assert refused is not None, "an invalid line was accepted:\n" + orjson.dumps(bad).decode()
        assert refused.errors and all(e.line >= 1 for e in refused.errors)
        STATS[f"refused {bad['type']} {bad_field}"] += 1
        mine = [e for e in refused.errors if e.line == index + 1]
        assert mine, (index + 1, refused.errors)
        assert mine[0].field == bad_field, (bad, mine[0])
        if (bad["type"], bad_field) in CODES:
            assert mine[0].code == CODES[bad["type"], bad_field], (bad, mine[0])
        self.after_batch(data)

    @precondition(lambda self: any(banned_start_at(self.model, s, c) is not None for c in self.model.bans
                                   for s in self.model.sessions.values() if not s.finalised))
    @rule(data=st.data())
    def start_inside_ban(self, data):
        """A start of a banned candidate inside the ban (drawn by `invalid_batch` among
        many kinds, too rarely otherwise): refused, `candidate-banned`."""
        self.invalid_batch(data, "banned-start")

    # -------------------------------------------------------------- the end of a history
    def teardown(self):
        try:
            if self.batches:
                self.final_checks()
        finally:
            self.stack.close()

    def final_checks(self) -> None:
        store = self.store
        catch_up(store)
        incremental = snapshot(store)
        for h in incremental["history"]:
            STATS[f"cause {h[2].split(' jury-v')[0]}"] += 1
        # 3. as of each batch's commit instant: what was served then
        for moment, current, histories in self.served:
            assert results_as_of(store, moment) == current, moment
            for row in current[:2]:
                cid = row["certification_id"]
                assert results_as_of(store, moment, certification_id=cid) == [row], (moment, cid)
                assert results_as_of(store, moment, session_id=row["session_id"]) == [
                    r for r in current if r["session_id"] == row["session_id"]], (moment, cid)
                trail = audit_trail(store, cid, as_of=moment)
                assert [{k: v for k, v in r.items() if k not in ("explanation", "committed_at")}
                        for r in trail["results"]] == histories[cid], (moment, cid)
            for candidate in self.shared_candidates(current)[:1]:
                assert results_as_of(store, moment, candidate_id=candidate) == [
                    r for r in current if r["candidate_id"] == candidate], (moment, candidate)
        # 2. a full rebuild gives the incrementally maintained read model
        rebuild(store, page_size=5)
        assert snapshot(store) == incremental
        # 4. the vectorised what-if gives the reference's report
        timeline = load_timeline(store)
        names = [v.version for v in timeline.versions()]
        jury_versions = [n for n in names if n not in BUILTIN]
        questions: list[tuple[Any, dict]] = [(n, {}) for n in ("pix-v2-2017-12", "pix-v2-2021-04", names[-1])]
        questions += [(n, {"against": "pix-v2-2024-05"}) for n in jury_versions[:1] + ["pix-v2-2021-01"]]
        questions.append(({"version": "proposal-x", "extends": names[-1], "effective_from": "2022-01-01T00:00:00Z",
                           "max_reachable_level": 4, "trust_rule": {"min_answered_ratio": 0.9}}, {}))
        for proposal, options in questions:
            want = what_if(store, proposal, **options)
            got = fast_what_if(store, proposal, details=None, **options)
            assert got == want, (proposal, options, got, want)
            if isinstance(proposal, str) and not options:
                # a result already scored under that version does not change
                assert not [c for c in want.changes if c.before.rule_version == proposal], want.changes
        # 7. a ban covering a start (recorded after it: a start inside a ban the ledger held
        # was refused) is said by the audit, and the certifications so started are noted by
        # verify
        covered = {cid: sorted((s, u) for s, u in self.model.bans.get(c.candidate_id, ()) if s <= c.started_at < u)
                   for cid, c in sorted(self.model.certs.items())}
        STATS["certifications started under a ban recorded later"] += sum(1 for b in covered.values() if b)
        for cid in [c for c, b in covered.items() if b][:3] + [c for c, b in covered.items() if not b][:1]:
            said = audit_trail(store, cid)["bans_at_start"]
            # (the model keeps a lifted ban's end where the lifting put it)
            ends = [b["lifted"]["at"] if b["lifted"] else b["until"] for b in said]
            assert sorted((datetime.fromisoformat(b["at"]), datetime.fromisoformat(end))
                          for b, end in zip(said, ends)) == covered[cid], (cid, said)
            assert all(b["recorded_after_start"] for b in said), (cid, said)
        # 6. verify
        report = verify(store)
        assert report.ok, [(c.name, c.problems) for c in report.checks if not c.ok]
        noted = " ".join(next(c for c in report.checks if c.name == "events").notes)
        started_banned = sum(1 for b in covered.values() if b)
        if started_banned:
            assert f"{started_banned:,} certification(s) started during a ban" in noted, noted
        else:
            assert "started during a ban" not in noted, noted
        # 8. the whole log exported, imported into an empty ledger: the same results
        exported = [e.to_line() for e in export_events(self.ledger)]
        with tempfile.TemporaryDirectory() as folder, \
                open_ledger(f"sqlite:///{folder}/copy.db", clock=ManualClock(self.clock.now)) as copy:
            copy.service.record_stream(parse_lines([orjson.dumps(x) for x in exported]), by="cli:import")
            catch_up(copy.store)
            theirs = [{k: v for k, v in r.items() if k != "explanation"} for r in ResultsReader(copy.store).current()]
            ours = [{k: v for k, v in r.items() if k != "explanation"} for r in self.reader.current()]
            assert theirs == ours
        # 9. one session's export (with its candidates' bans and the rule versions that
        # applied), imported into an empty ledger: the same results for it (README, export)
        banned = [s for s in sorted(self.model.sessions) if any(
            self.model.certs[c].candidate_id in self.model.bans for c in self.model.sessions[s].certs)]
        session_id = (banned or sorted(self.model.sessions))[0]
        exported = [e.to_line() for e in export_events(self.ledger, session_id=session_id)]
        with tempfile.TemporaryDirectory() as folder, \
                open_ledger(f"sqlite:///{folder}/copy.db", clock=ManualClock(self.clock.now)) as copy:
            copy.service.record_stream(parse_lines([orjson.dumps(x) for x in exported]), by="cli:import")
            catch_up(copy.store)
            theirs = [{k: v for k, v in r.items() if k != "explanation"} for r in ResultsReader(copy.store).current()]
            ours = [{k: v for k, v in r.items() if k != "explanation"}
                    for r in self.reader.current(session_id=session_id)]
            assert theirs == ours, session_id


def _run(backend: str, request) -> None:
    class Machine(LedgerMachine):
        pass

    Machine.backend = backend
    if backend == "postgresql":
        Machine.pg = (request.getfixturevalue("pg_server"), request.getfixturevalue("pg_template"))
    try:
        run_state_machine_as_test(Machine, settings=settings(
            max_examples=EXAMPLES[backend], stateful_step_count=STEPS, deadline=None,
            derandomize=not os.environ.get("CERTLEDGER_FUZZ_RANDOM"),
            **({"phases": [Phase.explicit, Phase.reuse, Phase.generate]}
               if os.environ.get("CERTLEDGER_FUZZ_NO_SHRINK") else {}),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]))
    finally:
        if os.environ.get("CERTLEDGER_FUZZ_STATS"):
            with open(os.environ["CERTLEDGER_FUZZ_STATS"], "w") as out:
                out.write("\n".join(f"{n:6d} {k}" for k, n in sorted(STATS.items())))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_histories_keep_the_ledgers_invariants(backend, request):
    _run(backend, request)
