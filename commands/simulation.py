"""Synthetic Pix certification sessions, as ledger events: pure and deterministic.

`simulate_events(candidates, seed, start)` yields realistic sessions (pix-rules.md §2–§5)
as event models of `ledger.events`, in ledger order. It does no I/O, reads no clock and
uses no global random state: everything is drawn from `random.Random(seed)`, so the same
arguments give the same event sequence, byte for byte, `event_id`s included.

Streaming
    Sessions are generated one at a time. Events are released through a small time-ordered
    buffer (a heap keyed by `at`), so the whole stream has non-decreasing `at` even though
    sessions overlap in time and a session's jury events come days after it. The buffer
    holds only the events of the sessions still "open" in time (at most ~100 days of
    late jury decisions), never the population: a million candidates stream in constant
    memory (bounded by `sessions_per_day × candidates_per_session`, not by `candidates`).

Identifiers (all under `sim-{seed}-`, so streams of different seeds never collide)
    session ``sim-{seed}-s{k}``; certification ``{session}-c{j}``; question
    ``{certification}-q{n}`` (n = its rank among the questions served to it, 1-based);
    candidate ``sim-{seed}-cand-{i}`` (one per certification: a banned candidate never
    comes back); centre ``sim-{seed}-centre-{m}``; incident report ``{certification}-r{i}``;
    fraud report ``{certification}-fraud``; ruling ``{session}-ruling-{n}``. Event ids
    derive from these (``…-opened``, ``…-served``, ``…-answer``, ``…-neutralised`` …).

Calendar
    Sessions take place on weekdays only; a day holds on average `sessions_per_day`
    sessions (default DEFAULT_SESSIONS_PER_DAY; the day's count is drawn around that
    mean), opening within SESSION_WINDOW_HOURS after `start`'s time of day. Day 0 is
    `start`'s day. With the defaults (20 candidates per session, 1.25 sessions per
    weekday) 10,000 candidates span about 1.5 years. `days=` spreads the population over
    about that many calendar days instead. Every session has `candidates_per_session`
    candidates (the last one the remainder); `centres` defaults to one centre per
    SESSIONS_PER_CENTRE sessions.

A certification (one candidate)
    * Profile: 5–16 certifiable competences (uniform count, random ones of the 16), levels
      drawn around a per-candidate ability (ABILITY_MEAN ± ABILITY_SD, each competence
      ± LEVEL_SD, clamped to 1..8: mostly 1–6, levels 7–8 above the cap about 1% of the
      time); pix = 8 × level + 0..7 (64 at level 8); `level` is given explicitly.
      NON_CERTIFIABLE_RATE of the profiles also hold 1–3 level-0 competences (pix 0..7).
    * Questions: exactly 3 per certifiable competence, grouped by competence in code
      order, never for a level-0 one. Formats by FORMAT_WEIGHTS (QROCM-dep ~8%, at most
      one QROCM-dep per competence, so that an aborted certification never ends with the
      unscorable "two QROCM-dep in two questions" case); features by FEATURE_RATES.
    * Answers: `ok` with probability P_OK_BASE + P_OK_PER_LEVEL × level (capped at
      P_OK_MAX); an `ok` to a timed question becomes `timedout` with TIMEDOUT_RATE, to a
      focus-mode question `focusedOut` with FOCUSED_OUT_RATE. A wrong answer is
      `partially` (WRONG_PARTIALLY_RATE, much higher for QROCM-dep and QROCM-ind),
      `skipped` (WRONG_SKIPPED_RATE), `timedout` on a timed question
      (WRONG_TIMEDOUT_RATE), else `ko`. About 90 s per answer (log-normal).
    * Endings: ABANDON_RATE are abandoned by the candidate and TECHNICAL_ABORT_RATE stop
      for a technical reason: both stop after 1..(total−1) questions, the last served
      one unanswered with UNANSWERED_LAST_RATE; the finalisation gives them `candidate` /
      `technical` in `abort_reasons`. All others end with `CertificationCompleted`.
      The v2 test's questions are fixed when it starts, so an aborted certification
      still has all its questions served, those after the stop unanswered: that is what
      the abort reason turns into skips (candidate) or neutralisations (technical), and
      every certifiable competence keeps its questions (§3.7 makes a competence without
      any an `error`).
    * Incidents: INCIDENT_RATE of the certifications get an `IncidentReported` (a second
      one with SECOND_INCIDENT_RATE) with a code drawn by INCIDENT_CODE_WEIGHTS (never a
      deprecated one); E-codes name the rank of a question already served, preferably
      one with the matching feature (image for E1, embed E2, attachment E3, timed E8,
      focus mode E10) with MATCHING_FEATURE_RATE. Reported before finalisation.
    * Fraud: FRAUD_RATE get a `FraudReported` (plus a C6 incident with FRAUD_C6_RATE)
      before finalisation; the jury then rules `reject_for_fraud` (FRAUD_REJECT_RATE, else
      a `comment` that fraud was not established), with a one-year `ban_candidate`
      (BAN_RATE of the rejections). LATE_FRAUD_RATE are frauds found after publication:
      the session is unpublished, the certification rejected (maybe banned), and the
      results published again. CANCEL_RATE are cancelled by the jury.
    * Jury neutralisation: JURY_NEUTRALISATION_RATE of the certifications get one (or,
      with SECOND_NEUTRALISATION_RATE, two) answered questions neutralised by the jury
      ("pix-1"…"pix-6"), never a question named by an incident report; each is
      de-neutralised later with DENEUTRALISATION_RATE.

A session, in ledger order
    `SessionOpened`; the certifications (candidates start 1–15 min after the opening
    and answer in parallel); incident and fraud reports; `SessionFinalised` 15 min–3 h
    after the last candidate (1–3 days later with LATE_FINALISATION_RATE), listing an
    abort reason for exactly the non-completed certifications; 2–20 days later the jury
    (neutralisations, rulings by 2 Pix members and 2 external members); de-neutralisations
    1–7 days after; `ResultsPublished` for PUBLICATION_RATE of the sessions, 1–5 days
    after the last jury decision (a session is never published before its jury work);
    for late frauds, `ResultsUnpublished` 15–90 days after publication, the ruling(s),
    and `ResultsPublished` again.

Nothing the ledger would refuse is emitted: answers only to served and unanswered
questions, ≤ 3 questions per competence, ≥ 5 certifiable competences, after
finalisation only `QuestionNeutralised` / `QuestionDeneutralised` / `JuryRuling` for the
session's certifications, publication only after finalisation, fraud rejection only
while unpublished.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator

from ledger.events import (
    AnswerRecorded,
    CertificationCompleted,
    CertificationStarted,
    FraudReported,
    IncidentReported,
    JuryMember,
    JuryRuling,
    LedgerEvent,
    ProfileEntry,
    QuestionDeneutralised,
    QuestionNeutralised,
    QuestionServed,
    ResultsPublished,
    ResultsUnpublished,
    SessionFinalised,
    SessionOpened,
)
from ledger.vocabulary import COMPETENCES, INCIDENT_CODES, is_in_challenge

__all__ = ["simulate_events", "session_schedule"]

# --- calendar -------------------------------------------------------------------------
DEFAULT_SESSIONS_PER_DAY = 1.25  # mean sessions per weekday
SESSION_WINDOW_HOURS = 8  # sessions open within this many hours after start's time of day
SESSIONS_PER_CENTRE = 10  # default number of centres = ceil(sessions / this)

# --- profile --------------------------------------------------------------------------
MIN_CERTIFIABLE = 5
QUESTIONS_PER_COMPETENCE = 3
NON_CERTIFIABLE_RATE = 0.30  # profiles that also hold 1–3 level-0 competences
ABILITY_MEAN = 3.2
ABILITY_SD = 1.0
LEVEL_SD = 1.0
MAX_LEVEL = 8

# --- questions ------------------------------------------------------------------------
FORMAT_WEIGHTS: dict[str, float] = {
    "QCM": 0.38,
    "QROC": 0.30,
    "QCU": 0.12,
    "QROCM-ind": 0.12,
    "QROCM-dep": 0.08,
}
FEATURE_RATES: dict[str, float] = {
    "has_image": 0.25,
    "has_embed": 0.05,
    "has_attachment": 0.06,
    "timed": 0.08,
    "focused": 0.10,
}

# --- answers --------------------------------------------------------------------------
P_OK_BASE = 0.50
P_OK_PER_LEVEL = 0.07
P_OK_MAX = 0.95
TIMEDOUT_RATE = 0.15  # of the `ok` answers to timed questions
FOCUSED_OUT_RATE = 0.10  # of the `ok` answers to focus-mode questions
WRONG_PARTIALLY_RATE: dict[str, float] = {"QROCM-dep": 0.45, "QROCM-ind": 0.20}
WRONG_PARTIALLY_DEFAULT = 0.03
WRONG_SKIPPED_RATE = 0.06
WRONG_TIMEDOUT_RATE = 0.25  # of the wrong answers to timed questions
ANSWER_MEDIAN_SECONDS = 90
ANSWER_SIGMA = 0.5

# --- endings --------------------------------------------------------------------------
ABANDON_RATE = 0.03  # abort reason `candidate`
TECHNICAL_ABORT_RATE = 0.015  # abort reason `technical`
UNANSWERED_LAST_RATE: dict[str, float] = {"candidate": 0.4, "technical": 0.6}

# --- incidents ------------------------------------------------------------------------
INCIDENT_RATE = 0.02
SECOND_INCIDENT_RATE = 0.15
INCIDENT_CODE_WEIGHTS: dict[str, float] = {
    "C1": 10, "C2": 3, "C4": 5, "C6": 3, "C7": 10, "C8": 8,
    "E1": 8, "E2": 4, "E3": 5, "E4": 6, "E5": 5, "E8": 3,
    "E9": 6, "E10": 5, "E11": 10, "E12": 3,
}  # fmt: skip
MATCHING_FEATURE_RATE = 0.8
INCIDENT_FEATURE: dict[str, str] = {
    "E1": "has_image",
    "E2": "has_embed",
    "E3": "has_attachment",
    "E8": "timed",
    "E10": "focused",
}

# --- fraud, jury, publication -----------------------------------------------------------
FRAUD_RATE = 0.004
FRAUD_C6_RATE = 0.3
FRAUD_REJECT_RATE = 0.9
BAN_RATE = 0.5
BAN_DAYS = 365
LATE_FRAUD_RATE = 0.001
CANCEL_RATE = 0.002
JURY_NEUTRALISATION_RATE = 0.02
SECOND_NEUTRALISATION_RATE = 0.2
DENEUTRALISATION_RATE = 0.1
PUBLICATION_RATE = 0.95
LATE_FINALISATION_RATE = 0.2

PIX_JURY_MEMBERS = tuple(f"pix-{i}" for i in range(1, 7))
EXTERNAL_JURY_MEMBERS = tuple(f"ext-{i}" for i in range(1, 5))

NEUTRALISATION_REASONS = (
    "question flawed (jury review)",
    "answer lost by the platform (jury review)",
    "ambiguous wording confirmed by the jury",
    "accessibility problem confirmed by the jury",
)
CANCEL_REASONS = (
    "identity of the candidate not verified",
    "session conditions not respected",
    "candidate registered in the wrong session",
)

_COMPETENCE_CODES = tuple(COMPETENCES)
_HOUR = 3600
_DAY = 86400


def simulated_session_id(seed: int, index: int) -> str:
    """The id of a seed's index-th session (from 1): the same seed, the same ids."""
    return f"sim-{seed}-s{index}"


def _cumulative(weights: dict[str, float]) -> tuple[tuple[str, ...], list[float]]:
    return tuple(weights), list(itertools.accumulate(weights.values()))


# --- calendar -------------------------------------------------------------------------


def _check_args(candidates: int, start: datetime, candidates_per_session: int) -> None:
    if candidates < 0:
        raise ValueError("candidates must be >= 0")
    if candidates_per_session < 1:
        raise ValueError("candidates_per_session must be >= 1")
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware (events carry RFC 3339 times with an offset)")


def _sessions_per_day(
    n_sessions: int, start: datetime, sessions_per_day: float | None, days: int | None
) -> float:
    if sessions_per_day is not None and days is not None:
        raise ValueError("give sessions_per_day or days, not both")
    if days is not None:
        if days < 1:
            raise ValueError("days must be >= 1")
        # Counted by whole weeks (5 weekdays each), not walked day by day: --days 999999999
        # held the command for minutes before its first session.
        weeks, rest = divmod(days, 7)
        weekdays = 5 * weeks + sum(1 for d in range(rest) if (start.weekday() + d) % 7 < 5)
        return max(n_sessions / max(weekdays, 1), 1e-6)
    spd = DEFAULT_SESSIONS_PER_DAY if sessions_per_day is None else sessions_per_day
    if spd <= 0:
        raise ValueError("sessions_per_day must be > 0")
    return spd


def _schedule(
    rng: random.Random, candidates: int, start: datetime, cps: int, spd: float
) -> Iterator[tuple[int, int]]:
    """(opening offset in seconds from start, number of candidates), in opening order."""
    remaining = candidates
    window_slots = SESSION_WINDOW_HOURS * 12  # 5-minute slots
    day = 0
    while remaining > 0:
        if (start.weekday() + day) % 7 < 5:
            x = spd * rng.uniform(0.5, 1.5)
            n = int(x) + (rng.random() < x - int(x))
            for slot in sorted(rng.randrange(window_slots + 1) for _ in range(n)):
                if remaining <= 0:
                    break
                size = min(cps, remaining)
                remaining -= size
                yield day * _DAY + slot * 300, size
        day += 1


def session_schedule(
    candidates: int,
    seed: int,
    start: datetime,
    *,
    candidates_per_session: int = 20,
    sessions_per_day: float | None = None,
    days: int | None = None,
) -> Iterator[tuple[datetime, int]]:
    """The sessions `simulate_events` would generate with these arguments: (opening time,
    number of candidates), cheaply, without generating their events."""
    _check_args(candidates, start, candidates_per_session)
    n_sessions = -(-candidates // candidates_per_session)
    spd = _sessions_per_day(n_sessions, start, sessions_per_day, days)
    sched_rng = random.Random(random.Random(seed).getrandbits(64))  # as in _stream
    schedule = _schedule(sched_rng, candidates, start, candidates_per_session, spd)
    return ((start + timedelta(seconds=off), size) for off, size in schedule)


# --- one session ----------------------------------------------------------------------


@dataclass
class _Question:
    number: int
    question_id: str
    competence: str
    served_at: int
    features: dict[str, bool]
    answered: bool


@dataclass
class _Cert:
    certification_id: str
    candidate_id: str
    started_at: int
    ended_at: int
    outcome: str  # completed | candidate | technical
    questions: list[_Question]
    jury_case: str | None  # fraud | late_fraud | cancel | None
    neutralise: bool
    reported: set[str] = field(default_factory=set)  # question ids named by incidents
    reports: int = 0


class _SessionBuilder:
    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.start = start
        self.events: list[tuple[int, LedgerEvent]] = []
        self._formats = _cumulative(FORMAT_WEIGHTS)
        self._codes = _cumulative(INCIDENT_CODE_WEIGHTS)

    def at(self, offset: int) -> datetime:
        return self.start + timedelta(seconds=offset)

    def emit(self, offset: int, event: LedgerEvent) -> None:
        self.events.append((offset, event))

    def jury(self) -> list[JuryMember]:
        rng = self.rng
        return [JuryMember(member_id=m, external=False) for m in rng.sample(PIX_JURY_MEMBERS, 2)] + [
            JuryMember(member_id=m, external=True) for m in rng.sample(EXTERNAL_JURY_MEMBERS, 2)
        ]

    # -- a certification --

    def certification(self, session_id: str, certification_id: str, candidate_id: str, t: int) -> _Cert:
        rng = self.rng
        started_at = t
        n_cert = rng.randint(MIN_CERTIFIABLE, len(_COMPETENCE_CODES))
        n_zero = 0
        if n_cert < len(_COMPETENCE_CODES) and rng.random() < NON_CERTIFIABLE_RATE:
            n_zero = rng.randint(1, min(3, len(_COMPETENCE_CODES) - n_cert))
        chosen = rng.sample(_COMPETENCE_CODES, n_cert + n_zero)
        ability = rng.gauss(ABILITY_MEAN, ABILITY_SD)
        levels: dict[str, int] = {}
        profile: dict[str, ProfileEntry] = {}
        for i, code in enumerate(chosen):
            if i < n_cert:
                level = min(MAX_LEVEL, max(1, round(rng.gauss(ability, LEVEL_SD))))
                pix = min(MAX_LEVEL * 8, level * 8 + rng.randrange(8))
                levels[code] = level
            else:
                pix = rng.randrange(8)
            profile[code] = ProfileEntry(pix=pix, level=pix // 8)
        profile = dict(sorted(profile.items()))
        self.emit(
            t,
            CertificationStarted(
                event_id=f"{certification_id}-started",
                certification_id=certification_id,
                session_id=session_id,
                candidate_id=candidate_id,
                profile=profile,
                at=self.at(t),
            ),
        )

        total = QUESTIONS_PER_COMPETENCE * n_cert
        r = rng.random()
        if r < ABANDON_RATE:
            outcome = "candidate"
        elif r < ABANDON_RATE + TECHNICAL_ABORT_RATE:
            outcome = "technical"
        else:
            outcome = "completed"
        if outcome == "completed":
            served, last_unanswered = total, False
        else:
            served = rng.randint(1, total - 1)
            last_unanswered = rng.random() < UNANSWERED_LAST_RATE[outcome]

        formats, format_cum = self._formats
        questions: list[_Question] = []
        number = 0
        for code in sorted(levels):
            p_ok = min(P_OK_MAX, P_OK_BASE + P_OK_PER_LEVEL * levels[code])
            has_dep = False
            for _ in range(QUESTIONS_PER_COMPETENCE):
                number += 1
                fmt = rng.choices(formats, cum_weights=format_cum)[0]
                while fmt == "QROCM-dep" and has_dep:
                    fmt = rng.choices(formats, cum_weights=format_cum)[0]
                has_dep = has_dep or fmt == "QROCM-dep"
                features = {name: rng.random() < rate for name, rate in FEATURE_RATES.items()}
                question_id = f"{certification_id}-q{number}"
                t += rng.randint(1, 5)
                self.emit(
                    t,
                    QuestionServed(
                        event_id=f"{question_id}-served",
                        certification_id=certification_id,
                        question_id=question_id,
                        competence=code,
                        format=fmt,
                        at=self.at(t),
                        **features,
                    ),
                )
                served_at = t
                answered = number < served or (number == served and not last_unanswered)
                if answered:
                    t += max(5, int(rng.lognormvariate(math.log(ANSWER_MEDIAN_SECONDS), ANSWER_SIGMA)))
                    self.emit(
                        t,
                        AnswerRecorded(
                            event_id=f"{question_id}-answer",
                            certification_id=certification_id,
                            question_id=question_id,
                            status=self._status(p_ok, fmt, features),
                            at=self.at(t),
                        ),
                    )
                elif number == served:
                    t += rng.randint(10, 120)  # the candidate (or the platform) stops here
                questions.append(_Question(number, question_id, code, served_at, features, answered))
        if outcome == "completed":
            t += rng.randint(1, 10)
            self.emit(
                t,
                CertificationCompleted(
                    event_id=f"{certification_id}-completed",
                    certification_id=certification_id,
                    at=self.at(t),
                ),
            )

        r = rng.random()
        if r < FRAUD_RATE:
            jury_case: str | None = "fraud"
        elif r < FRAUD_RATE + LATE_FRAUD_RATE:
            jury_case = "late_fraud"
        elif r < FRAUD_RATE + LATE_FRAUD_RATE + CANCEL_RATE:
            jury_case = "cancel"
        else:
            jury_case = None
        neutralise = rng.random() < JURY_NEUTRALISATION_RATE
        return _Cert(
            certification_id=certification_id,
            candidate_id=candidate_id,
            started_at=started_at,
            ended_at=t,
            outcome=outcome,
            questions=questions,
            jury_case=jury_case,
            neutralise=neutralise,
        )

    def _status(self, p_ok: float, fmt: str, features: dict[str, bool]) -> str:
        rng = self.rng
        if rng.random() < p_ok:
            if features["timed"] and rng.random() < TIMEDOUT_RATE:
                return "timedout"
            if features["focused"] and rng.random() < FOCUSED_OUT_RATE:
                return "focusedOut"
            return "ok"
        if features["timed"] and rng.random() < WRONG_TIMEDOUT_RATE:
            return "timedout"
        r = rng.random()
        partially = WRONG_PARTIALLY_RATE.get(fmt, WRONG_PARTIALLY_DEFAULT)
        if r < partially:
            return "partially"
        if r < partially + WRONG_SKIPPED_RATE:
            return "skipped"
        return "ko"

    # -- reports before finalisation --

    def incident(self, cert: _Cert, code: str, finalised_at: int) -> None:
        rng = self.rng
        cert.reports += 1
        index = cert.reports
        question_number = None
        reference = cert.started_at
        if is_in_challenge(code):
            feature = INCIDENT_FEATURE.get(code)
            pool = cert.questions
            if feature is not None and rng.random() < MATCHING_FEATURE_RATE:
                matching = [q for q in cert.questions if q.features[feature]]
                pool = matching or pool
            question = rng.choice(pool)
            question_number = question.number
            reference = question.served_at
            cert.reported.add(question.question_id)
        t = rng.randint(reference + 1, finalised_at - 1)
        self.emit(
            t,
            IncidentReported(
                event_id=f"{cert.certification_id}-r{index}-reported",
                certification_id=cert.certification_id,
                report_id=f"{cert.certification_id}-r{index}",
                code=code,
                question_number=question_number,
                description=INCIDENT_CODES[code],
                at=self.at(t),
            ),
        )

    # -- the whole session --

    def session(
        self, seed: int, index: int, opened_at: int, size: int, centre: int, first_candidate: int
    ) -> list[tuple[int, LedgerEvent]]:
        rng = self.rng
        session_id = simulated_session_id(seed, index)
        self.emit(
            opened_at,
            SessionOpened(
                event_id=f"{session_id}-opened",
                session_id=session_id,
                centre_id=f"sim-{seed}-centre-{centre}",
                at=self.at(opened_at),
            ),
        )
        certs: list[_Cert] = []
        for j in range(size):
            t0 = opened_at + rng.randint(60, 900)
            certs.append(
                self.certification(
                    session_id, f"{session_id}-c{j + 1}", f"sim-{seed}-cand-{first_candidate + j}", t0
                )
            )
        session_end = max(c.ended_at for c in certs)
        if rng.random() < LATE_FINALISATION_RATE:
            finalised_at = session_end + rng.randint(1 * _DAY, 3 * _DAY)
        else:
            finalised_at = session_end + rng.randint(15 * 60, 3 * _HOUR)

        codes, code_cum = self._codes
        for cert in certs:
            n_reports = 0
            if rng.random() < INCIDENT_RATE:
                n_reports = 1 + (rng.random() < SECOND_INCIDENT_RATE)
            for _ in range(n_reports):
                self.incident(cert, rng.choices(codes, cum_weights=code_cum)[0], finalised_at)
            if cert.jury_case == "fraud":
                t = rng.randint(cert.ended_at + 1, finalised_at - 1)
                self.emit(
                    t,
                    FraudReported(
                        event_id=f"{cert.certification_id}-fraud-reported",
                        certification_id=cert.certification_id,
                        report_id=f"{cert.certification_id}-fraud",
                        reported_by=f"invigilator-{rng.randint(1, 99)}",
                        description="suspected fraud reported by the invigilator",
                        at=self.at(t),
                    ),
                )
                if rng.random() < FRAUD_C6_RATE:
                    self.incident(cert, "C6", finalised_at)

        self.emit(
            finalised_at,
            SessionFinalised(
                event_id=f"{session_id}-finalised",
                session_id=session_id,
                abort_reasons={c.certification_id: c.outcome for c in certs if c.outcome != "completed"},
                at=self.at(finalised_at),
            ),
        )
        self._after_finalisation(session_id, certs, finalised_at)
        return self.events

    # -- after finalisation: jury, publication --

    def _ruling(self, session_id: str, rulings: Iterator[int], t: int, **fields: object) -> None:
        ruling_id = f"{session_id}-ruling-{next(rulings)}"
        self.emit(t, JuryRuling(event_id=ruling_id, ruling_id=ruling_id, at=self.at(t), **fields))

    def _reject_for_fraud(
        self, session_id: str, rulings: Iterator[int], cert: _Cert, t: int, panel: list[JuryMember], comment: str
    ) -> int:
        rng = self.rng
        self._ruling(
            session_id, rulings, t,
            decision="reject_for_fraud", certification_id=cert.certification_id, jury=panel, comment=comment,
        )  # fmt: skip
        if rng.random() < BAN_RATE:
            t += rng.randint(60, 600)
            self._ruling(
                session_id, rulings, t,
                decision="ban_candidate", candidate_id=cert.candidate_id, until=self.at(t + BAN_DAYS * _DAY),
                jury=panel, comment=f"{BAN_DAYS}-day ban after established fraud",
            )  # fmt: skip
        return t

    def _after_finalisation(self, session_id: str, certs: list[_Cert], finalised_at: int) -> None:
        rng = self.rng
        rulings = itertools.count(1)
        panel = self.jury()
        t = finalised_at + rng.randint(2 * _DAY, 20 * _DAY)
        last = t
        late: list[_Cert] = []
        for cert in certs:
            if cert.neutralise:
                pool = [q for q in cert.questions if q.answered and q.question_id not in cert.reported]
                count = min(len(pool), 1 + (rng.random() < SECOND_NEUTRALISATION_RATE))
                for question in rng.sample(pool, count):
                    t += rng.randint(60, 900)
                    self.emit(
                        t,
                        QuestionNeutralised(
                            event_id=f"{question.question_id}-neutralised",
                            certification_id=cert.certification_id,
                            question_id=question.question_id,
                            by=rng.choice(PIX_JURY_MEMBERS),
                            reason=rng.choice(NEUTRALISATION_REASONS),
                            at=self.at(t),
                        ),
                    )
                    if rng.random() < DENEUTRALISATION_RATE:
                        undone = t + rng.randint(1 * _DAY, 7 * _DAY)
                        last = max(last, undone)
                        self.emit(
                            undone,
                            QuestionDeneutralised(
                                event_id=f"{question.question_id}-deneutralised",
                                certification_id=cert.certification_id,
                                question_id=question.question_id,
                                by=rng.choice(PIX_JURY_MEMBERS),
                                reason="neutralisation made in error",
                                at=self.at(undone),
                            ),
                        )
            if cert.jury_case == "fraud":
                t += rng.randint(60, 900)
                if rng.random() < FRAUD_REJECT_RATE:
                    t = self._reject_for_fraud(
                        session_id, rulings, cert, t, panel,
                        f"fraud established by the report {cert.certification_id}-fraud",
                    )  # fmt: skip
                else:
                    self._ruling(
                        session_id, rulings, t,
                        decision="comment", certification_id=cert.certification_id, jury=panel,
                        comment=f"fraud not established by the report {cert.certification_id}-fraud",
                    )  # fmt: skip
            elif cert.jury_case == "cancel":
                t += rng.randint(60, 900)
                self._ruling(
                    session_id, rulings, t,
                    decision="cancel", certification_id=cert.certification_id, jury=panel,
                    comment=rng.choice(CANCEL_REASONS),
                )  # fmt: skip
            elif cert.jury_case == "late_fraud":
                late.append(cert)
        last = max(last, t)

        late_comment = "fraud established after publication (evidence received later)"
        if rng.random() < PUBLICATION_RATE:
            t = last + rng.randint(1 * _DAY, 5 * _DAY)
            self.emit(
                t, ResultsPublished(event_id=f"{session_id}-published-1", session_id=session_id, at=self.at(t))
            )
            if late:
                t += rng.randint(15 * _DAY, 90 * _DAY)
                self.emit(
                    t,
                    ResultsUnpublished(
                        event_id=f"{session_id}-unpublished-1", session_id=session_id, at=self.at(t)
                    ),
                )
                panel = self.jury()
                for cert in late:
                    t += rng.randint(1 * _HOUR, 2 * _DAY)
                    t = self._reject_for_fraud(session_id, rulings, cert, t, panel, late_comment)
                t += rng.randint(1 * _HOUR, 3 * _DAY)
                self.emit(
                    t, ResultsPublished(event_id=f"{session_id}-published-2", session_id=session_id, at=self.at(t))
                )
        else:
            for cert in late:  # never published: ruled later, still unpublished
                t += rng.randint(1 * _DAY, 30 * _DAY)
                t = self._reject_for_fraud(session_id, rulings, cert, t, panel, late_comment)


# --- the stream -----------------------------------------------------------------------


def simulate_events(
    candidates: int,
    seed: int,
    start: datetime,
    *,
    candidates_per_session: int = 20,
    centres: int | None = None,
    sessions_per_day: float | None = None,
    days: int | None = None,
) -> Iterator[LedgerEvent]:
    """Yield synthetic sessions for `candidates` candidates as ledger events, in ledger
    order (`at` non-decreasing over the whole stream), deterministically for `seed`.

    `start` (timezone-aware) is the first day; sessions run on weekdays, on average
    `sessions_per_day` of them (default DEFAULT_SESSIONS_PER_DAY), or spread over about
    `days` calendar days. `centres` is the number of distinct centres (default: one per
    SESSIONS_PER_CENTRE sessions). See the module docstring for the model and rates.
    """
    _check_args(candidates, start, candidates_per_session)
    if centres is not None and centres < 1:
        raise ValueError("centres must be >= 1")
    n_sessions = -(-candidates // candidates_per_session)
    spd = _sessions_per_day(n_sessions, start, sessions_per_day, days)
    n_centres = centres if centres is not None else max(1, -(-n_sessions // SESSIONS_PER_CENTRE))
    return _stream(candidates, seed, start, candidates_per_session, spd, n_centres)


def _stream(
    candidates: int, seed: int, start: datetime, cps: int, spd: float, n_centres: int
) -> Iterator[LedgerEvent]:
    rng = random.Random(seed)
    sched_rng = random.Random(rng.getrandbits(64))  # as in session_schedule
    schedule = _schedule(sched_rng, candidates, start, cps, spd)
    # Events wait here until no session still to generate can precede them.
    pending: list[tuple[int, int, LedgerEvent]] = []
    order = itertools.count()
    first_candidate = 1
    index = 0
    current = next(schedule, None)
    while current is not None:
        opened_at, size = current
        index += 1
        builder = _SessionBuilder(rng, start)
        centre = rng.randint(1, n_centres)
        for offset, event in builder.session(seed, index, opened_at, size, centre, first_candidate):
            heapq.heappush(pending, (offset, next(order), event))
        first_candidate += size
        current = next(schedule, None)
        horizon = current[0] if current is not None else None
        while pending and (horizon is None or pending[0][0] < horizon):
            yield heapq.heappop(pending)[2]
