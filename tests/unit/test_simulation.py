"""The synthetic session generator: determinism, validity, ledger invariants, proportions,
streaming. No database."""

from __future__ import annotations

import itertools
import json
import time
import tracemalloc
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from commands import simulation
from commands.simulation import session_schedule, simulate_events
from ledger.events import LedgerEvent, parse_event
from ledger.vocabulary import DEPRECATED_INCIDENT_CODES, INCIDENT_CODES, is_in_challenge

START = datetime(2022, 1, 3, 8, 0, tzinfo=timezone.utc)  # a Monday, 08:00 UTC
JURY_KINDS = {"QuestionNeutralised", "QuestionDeneutralised", "JuryRuling"}


def lines(events) -> list[str]:
    return [json.dumps(e.to_line(), ensure_ascii=False) for e in events]


@pytest.fixture(scope="module")
def population() -> list[LedgerEvent]:
    return list(simulate_events(2_000, 7, START))


# --- an independent checker of what the ledger would accept ------------------------------


@dataclass
class _Cert:
    session_id: str
    candidate_id: str
    levels: dict[str, int]
    served: dict[str, dict] = field(default_factory=dict)  # question id -> QuestionServed fields
    per_competence: Counter = field(default_factory=Counter)
    dep_per_competence: Counter = field(default_factory=Counter)
    answered: dict[str, str] = field(default_factory=dict)
    completed: bool = False
    neutralised: set[str] = field(default_factory=set)


@dataclass
class _Session:
    certs: list[str] = field(default_factory=list)
    finalised: bool = False
    published: bool = False
    abort_reasons: dict[str, str] = field(default_factory=dict)


class LedgerChecker:
    """Replays a stream and fails on anything the ledger would refuse (or that the
    simulation promises not to produce)."""

    def __init__(self) -> None:
        self.sessions: dict[str, _Session] = {}
        self.certs: dict[str, _Cert] = {}
        self.candidates: set[str] = set()
        self.banned: dict[str, datetime] = {}
        self.ids: set[str] = set()
        self.report_ids: set[str] = set()
        self.ruling_ids: set[str] = set()
        self.last_at: datetime | None = None
        self.rejected_while_unpublished = 0

    def feed_all(self, events) -> LedgerChecker:
        for event in events:
            self.feed(event)
        return self

    def _open_cert(self, cid: str) -> _Cert:
        assert cid in self.certs, f"unknown certification {cid}"
        cert = self.certs[cid]
        assert not self.sessions[cert.session_id].finalised, f"{cid}: event after finalisation"
        return cert

    def _jury(self, members) -> None:
        assert sorted(m.external for m in members) == [False, False, True, True]
        assert len({m.member_id for m in members}) == 4

    def feed(self, e: LedgerEvent) -> None:
        assert e.event_id and e.event_id not in self.ids, f"duplicate event id {e.event_id}"
        self.ids.add(e.event_id)
        assert e.at.tzinfo is not None
        if self.last_at is not None:
            assert e.at >= self.last_at, f"{e.event_id}: at goes backwards"
        self.last_at = e.at
        kind = e.type
        if kind == "SessionOpened":
            assert e.session_id not in self.sessions
            self.sessions[e.session_id] = _Session()
        elif kind == "CertificationStarted":
            session = self.sessions[e.session_id]
            assert not session.finalised
            assert e.certification_id not in self.certs
            assert e.candidate_id not in self.candidates, "a candidate certifies once"
            assert e.candidate_id not in self.banned
            self.candidates.add(e.candidate_id)
            for entry in e.profile.values():
                assert entry.level == entry.pix // 8 and 0 <= entry.pix <= 64
            levels = {c: p.level for c, p in e.profile.items()}
            assert 5 <= sum(1 for v in levels.values() if v >= 1) <= 16
            self.certs[e.certification_id] = _Cert(e.session_id, e.candidate_id, levels)
            session.certs.append(e.certification_id)
        elif kind == "QuestionServed":
            cert = self._open_cert(e.certification_id)
            assert not cert.completed
            assert e.question_id not in cert.served, "question ids unique per certification"
            assert cert.levels.get(e.competence, 0) >= 1, "question for a non-certifiable competence"
            cert.per_competence[e.competence] += 1
            assert cert.per_competence[e.competence] <= 3, "more than 3 questions for a competence"
            cert.dep_per_competence[e.competence] += e.format == "QROCM-dep"
            cert.served[e.question_id] = {"rank": len(cert.served) + 1, **e.model_dump()}
        elif kind == "AnswerRecorded":
            cert = self._open_cert(e.certification_id)
            assert not cert.completed
            assert e.question_id in cert.served, "answer to an unserved question"
            assert e.question_id not in cert.answered, "second answer"
            question = cert.served[e.question_id]
            if e.status == "timedout":
                assert question["timed"]
            if e.status == "focusedOut":
                assert question["focused"]
            cert.answered[e.question_id] = e.status
        elif kind == "CertificationCompleted":
            cert = self._open_cert(e.certification_id)
            assert not cert.completed
            assert set(cert.answered) == set(cert.served)
            certifiable = {c for c, v in cert.levels.items() if v >= 1}
            assert dict(cert.per_competence) == {c: 3 for c in certifiable}
            cert.completed = True
        elif kind == "IncidentReported":
            cert = self._open_cert(e.certification_id)
            assert e.code in INCIDENT_CODES and e.code not in DEPRECATED_INCIDENT_CODES
            if is_in_challenge(e.code):
                assert e.question_number is not None and 1 <= e.question_number <= len(cert.served)
            else:
                assert e.question_number is None
            assert e.report_id not in self.report_ids
            self.report_ids.add(e.report_id)
        elif kind == "FraudReported":
            self._open_cert(e.certification_id)
            assert e.report_id not in self.report_ids
            self.report_ids.add(e.report_id)
        elif kind == "SessionFinalised":
            session = self.sessions[e.session_id]
            assert not session.finalised and session.certs
            not_completed = {c for c in session.certs if not self.certs[c].completed}
            assert set(e.abort_reasons) == not_completed, "abort reasons != the non-completed certifications"
            assert set(e.abort_reasons.values()) <= {"candidate", "technical"}
            for cid in session.certs:  # the unscorable case "two QROCM-dep in two questions"
                cert = self.certs[cid]
                for comp, n in cert.per_competence.items():
                    assert not (n < 3 and cert.dep_per_competence[comp] >= 2)
            session.finalised = True
            session.abort_reasons = dict(e.abort_reasons)
        elif kind in ("QuestionNeutralised", "QuestionDeneutralised"):
            cert = self.certs[e.certification_id]
            assert self.sessions[cert.session_id].finalised
            assert e.question_id in cert.served
            assert e.by
            if kind == "QuestionNeutralised":
                assert e.question_id not in cert.neutralised
                cert.neutralised.add(e.question_id)
            else:
                assert e.question_id in cert.neutralised
                cert.neutralised.discard(e.question_id)
        elif kind == "JuryRuling":
            assert e.ruling_id not in self.ruling_ids
            self.ruling_ids.add(e.ruling_id)
            self._jury(e.jury)
            if e.certification_id is not None:
                session = self.sessions[self.certs[e.certification_id].session_id]
                assert session.finalised, "jury ruling before finalisation"
                if e.decision == "reject_for_fraud":
                    assert not session.published, "fraud rejection of a published result"
                    self.rejected_while_unpublished += 1
            if e.decision == "ban_candidate":
                assert e.candidate_id in self.candidates
                assert timedelta(days=300) <= e.until - e.at <= timedelta(days=400)
                self.banned[e.candidate_id] = e.until
        elif kind == "ResultsPublished":
            session = self.sessions[e.session_id]
            assert session.finalised and not session.published
            session.published = True
        elif kind == "ResultsUnpublished":
            session = self.sessions[e.session_id]
            assert session.published
            session.published = False
        else:
            raise AssertionError(f"unexpected event type {kind}")
        if kind in JURY_KINDS or kind in ("ResultsPublished", "ResultsUnpublished"):
            return
        # everything else is the life of an unfinalised session (checked above)


def _tampered(events: list[LedgerEvent], how: str) -> list[LedgerEvent]:
    events = list(events)
    index = {
        "answer": next(i for i, e in enumerate(events) if e.type == "AnswerRecorded"),
        "final": next(i for i, e in enumerate(events) if e.type == "SessionFinalised"),
        "completed": next(i for i, e in enumerate(events) if e.type == "CertificationCompleted"),
        "served": next(i for i, e in enumerate(events) if e.type == "QuestionServed"),
    }
    if how == "second answer":
        events.insert(index["answer"] + 1, events[index["answer"]].model_copy(update={"event_id": "x"}))
    elif how == "answer before serving":
        served = events[index["served"]]
        answer = next(
            i for i, e in enumerate(events) if e.type == "AnswerRecorded" and e.question_id == served.question_id
        )
        events.insert(index["served"], events.pop(answer).model_copy(update={"at": served.at}))
    elif how == "missing abort reason":
        final = events[index["final"]]
        reasons = dict(final.abort_reasons)
        reasons.popitem() if reasons else reasons.update({events[index["completed"]].certification_id: "candidate"})
        events[index["final"]] = final.model_copy(update={"abort_reasons": reasons})
    elif how == "answer after finalisation":
        answer = events[index["answer"]]
        session = answer.question_id.split("-c")[0]
        final = next(i for i, e in enumerate(events) if e.type == "SessionFinalised" and e.session_id == session)
        events.insert(final + 1, answer.model_copy(update={"event_id": "x", "at": events[final].at}))
    elif how == "fourth question":
        served = events[index["served"]]
        extra = served.model_copy(update={"event_id": "x", "question_id": served.question_id + "-bis"})
        events.insert(index["served"] + 1, extra)
        events.insert(index["served"] + 1, extra.model_copy(update={"event_id": "y", "question_id": "z"}))
    return events


@pytest.mark.parametrize(
    "how, message",
    [
        ("second answer", "second answer"),
        ("answer before serving", "unserved question"),
        ("missing abort reason", "abort reasons"),
        ("answer after finalisation", "after finalisation"),
        ("fourth question", "more than 3 questions"),
    ],
)
def test_the_checker_catches_a_broken_stream(how, message):
    events = list(simulate_events(40, 11, START))
    LedgerChecker().feed_all(events)
    with pytest.raises(AssertionError, match=message):
        LedgerChecker().feed_all(_tampered(events, how))


# --- determinism and validity -----------------------------------------------------------


def test_same_seed_gives_byte_identical_stream():
    first = lines(simulate_events(300, 42, START))
    second = lines(simulate_events(300, 42, START))
    assert first == second
    assert len(first) > 10_000


def test_different_seed_gives_different_stream():
    assert lines(simulate_events(100, 1, START)) != lines(simulate_events(100, 2, START))


def test_event_ids_unique_and_seed_scoped(population):
    ids = [e.event_id for e in population]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("sim-7-") for i in ids)


def test_every_event_round_trips(population):
    for event in population:
        line = json.loads(json.dumps(event.to_line()))
        assert parse_event(line) == event


def test_no_candidates_no_events():
    assert list(simulate_events(0, 1, START)) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": datetime(2022, 1, 3)},  # naive
        {"candidates_per_session": 0},
        {"centres": 0},
        {"days": 30, "sessions_per_day": 2},
        {"sessions_per_day": 0},
    ],
)
def test_bad_arguments_are_refused_at_call(kwargs):
    args = {"start": START, **kwargs}
    start = args.pop("start")
    with pytest.raises(ValueError):
        simulate_events(10, 1, start, **args)
    if "centres" not in args:
        with pytest.raises(ValueError):
            session_schedule(10, 1, start, **args)


# --- the ledger's invariants --------------------------------------------------------------


def test_population_respects_ledger_invariants(population):
    checker = LedgerChecker().feed_all(population)
    assert len(checker.certs) == 2_000
    assert len(checker.sessions) == 100
    assert all(s.finalised for s in checker.sessions.values())


def test_rare_paths_respect_ledger_invariants(monkeypatch):
    """Rare cases made frequent (and sessions overlapping in time) to exercise every path:
    unpublish/reject/republish, de-neutralisation, bans, cancellations, aborts."""
    for name, value in {
        "FRAUD_RATE": 0.06,
        "LATE_FRAUD_RATE": 0.06,
        "CANCEL_RATE": 0.05,
        "JURY_NEUTRALISATION_RATE": 0.3,
        "DENEUTRALISATION_RATE": 0.5,
        "INCIDENT_RATE": 0.3,
        "ABANDON_RATE": 0.15,
        "TECHNICAL_ABORT_RATE": 0.15,
        "PUBLICATION_RATE": 0.7,
    }.items():
        monkeypatch.setattr(simulation, name, value)
    events = list(simulate_events(600, 3, START, candidates_per_session=5, sessions_per_day=8))
    checker = LedgerChecker().feed_all(events)
    kinds = Counter(e.type for e in events)
    decisions = Counter(e.decision for e in events if e.type == "JuryRuling")
    assert kinds["ResultsUnpublished"] > 0 and kinds["QuestionDeneutralised"] > 0
    assert decisions["ban_candidate"] > 0 and decisions["cancel"] > 0 and decisions["comment"] > 0
    assert checker.rejected_while_unpublished == decisions["reject_for_fraud"]
    reasons = Counter(r for s in checker.sessions.values() for r in s.abort_reasons.values())
    assert reasons["candidate"] > 0 and reasons["technical"] > 0
    # aborted certifications sometimes end on a served question left unanswered
    unanswered = sum(1 for c in checker.certs.values() if set(c.served) - set(c.answered))
    assert unanswered > 0
    # sessions did overlap in time, and the stream stayed in `at` order (checked)
    opened = [e.at for e in events if e.type == "SessionOpened"]
    assert len(set(d.date() for d in opened)) < len(opened)


def test_post_finalisation_events_are_jury_kinds_only(population):
    finalised: set[str] = set()
    session_of: dict[str, str] = {}
    for e in population:
        if e.type == "CertificationStarted":
            session_of[e.certification_id] = e.session_id
        elif e.type == "SessionFinalised":
            finalised.add(e.session_id)
        elif getattr(e, "certification_id", None) and session_of[e.certification_id] in finalised:
            assert e.type in JURY_KINDS, e


# --- realism ------------------------------------------------------------------------------


def test_realistic_proportions(population):
    kinds = Counter(e.type for e in population)
    certs = kinds["CertificationStarted"]
    assert certs == 2_000

    incident_certs = {e.certification_id for e in population if e.type == "IncidentReported"}
    assert 0.01 <= len(incident_certs) / certs <= 0.04
    codes = Counter(e.code for e in population if e.type == "IncidentReported")
    assert any(c.startswith("C") for c in codes) and any(c.startswith("E") for c in codes)

    reasons = Counter(
        r for e in population if e.type == "SessionFinalised" for r in e.abort_reasons.values()
    )
    assert 0.01 <= reasons["candidate"] / certs <= 0.08
    assert 0.003 <= reasons["technical"] / certs <= 0.04
    assert kinds["CertificationCompleted"] == certs - sum(reasons.values())

    assert kinds["FraudReported"] >= 1
    decisions = Counter(e.decision for e in population if e.type == "JuryRuling")
    assert decisions["reject_for_fraud"] >= 1
    assert kinds["QuestionNeutralised"] >= 10
    assert 0.85 <= kinds["ResultsPublished"] / kinds["SessionOpened"] <= 1.0

    served = [e for e in population if e.type == "QuestionServed"]
    formats = Counter(q.format for q in served)
    assert 0.04 <= formats["QROCM-dep"] / len(served) <= 0.12
    assert (formats["QCM"] + formats["QROC"]) / len(served) > 0.5
    for feature in ("has_image", "has_embed", "has_attachment", "timed", "focused"):
        assert 0 < sum(getattr(q, feature) for q in served) < len(served) / 2

    # profiles: mostly levels 1–6, some above the cap, some non-certifiable entries
    levels = Counter(
        p.level for e in population if e.type == "CertificationStarted" for p in e.profile.values()
    )
    certifiable = sum(n for lvl, n in levels.items() if lvl >= 1)
    assert sum(n for lvl, n in levels.items() if 1 <= lvl <= 6) / certifiable > 0.9
    assert levels[7] + levels[8] > 0 and levels[0] > 0

    # answers: all statuses occur; success grows with the competence's level
    level_of: dict[tuple[str, str], int] = {}
    question_level: dict[str, int] = {}
    fmt_of = {q.question_id: q.format for q in served}
    for e in population:
        if e.type == "CertificationStarted":
            for comp, p in e.profile.items():
                level_of[(e.certification_id, comp)] = p.level
        elif e.type == "QuestionServed":
            question_level[e.question_id] = level_of[(e.certification_id, e.competence)]
    answers = [e for e in population if e.type == "AnswerRecorded"]
    statuses = Counter(a.status for a in answers)
    assert set(statuses) == {"ok", "ko", "partially", "skipped", "timedout", "focusedOut"}
    assert statuses["ok"] / len(answers) > 0.5 and statuses["ko"] / len(answers) > 0.05

    def ok_rate(lo: int, hi: int) -> float:
        picked = [a for a in answers if lo <= question_level[a.question_id] <= hi]
        return sum(a.status == "ok" for a in picked) / len(picked)

    assert ok_rate(1, 2) + 0.1 < ok_rate(5, 6)
    partially_dep = sum(a.status == "partially" for a in answers if fmt_of[a.question_id] == "QROCM-dep")
    partially_other = sum(a.status == "partially" for a in answers if fmt_of[a.question_id] == "QCM")
    assert partially_dep / formats["QROCM-dep"] > 3 * partially_other / formats["QCM"]


def test_e_codes_prefer_questions_with_the_matching_feature(monkeypatch):
    # Many incidents, so the preference shows above chance (features are rare: 5–25%).
    monkeypatch.setattr(simulation, "INCIDENT_RATE", 0.5)
    population = list(simulate_events(400, 11, START))
    served: dict[tuple[str, int], object] = {}
    ranks: dict[str, int] = defaultdict(int)
    hits = total = 0
    for e in population:
        if e.type == "QuestionServed":
            ranks[e.certification_id] += 1
            served[(e.certification_id, ranks[e.certification_id])] = e
        elif e.type == "IncidentReported" and e.code in simulation.INCIDENT_FEATURE:
            question = served[(e.certification_id, e.question_number)]
            total += 1
            hits += getattr(question, simulation.INCIDENT_FEATURE[e.code])
    assert total > 50 and hits / total > 0.5


# --- calendar and streaming -------------------------------------------------------------


def test_ten_thousand_candidates_span_one_to_two_years():
    sessions = list(session_schedule(10_000, 5, START))
    assert sum(size for _, size in sessions) == 10_000
    assert all(size == 20 for _, size in sessions)
    span = sessions[-1][0] - sessions[0][0]
    assert timedelta(days=365) <= span <= timedelta(days=730)
    assert all(at.weekday() < 5 for at, _ in sessions)
    assert [at for at, _ in sessions] == sorted(at for at, _ in sessions)


def test_days_spreads_the_population():
    sessions = list(session_schedule(20_000, 5, START, days=365))
    span = sessions[-1][0] - sessions[0][0]
    assert timedelta(days=320) <= span <= timedelta(days=410)


def test_days_are_counted_by_weeks_not_walked():
    """`--days 999999999` walked a billion days to count the weekdays, and held the
    command for minutes before its first session: counted by whole weeks, the same count
    (every day of the week as the start, every remainder) in no time."""
    for first in range(7):
        start = START + timedelta(days=first)
        for days in range(1, 40):
            walked = sum(1 for d in range(days) if (start.weekday() + d) % 7 < 5)
            # one session a weekday: as many sessions as weekdays (none on a weekend alone)
            assert simulation._sessions_per_day(max(walked, 1), start, None, days) == 1.0, (first, days)
    # A period no walk could count (not timed: walked, it would never return): 5 weekdays
    # in every 7 days, and 10**15 = 7 * 142857142857142 + 6.
    weeks, rest = divmod(10**15, 7)
    weekdays = 5 * weeks + sum(1 for d in range(rest) if (START.weekday() + d) % 7 < 5)
    assert simulation._sessions_per_day(weekdays * 2, START, None, 10**15) == 2.0


def test_schedule_matches_the_stream_and_centres():
    events = list(simulate_events(250, 9, START, candidates_per_session=30, centres=3))
    opened = [e for e in events if e.type == "SessionOpened"]
    assert [(e.at) for e in opened] == [at for at, _ in session_schedule(250, 9, START, candidates_per_session=30)]
    assert len({e.centre_id for e in opened}) <= 3
    per_session = Counter(e.session_id for e in events if e.type == "CertificationStarted")
    assert sorted(per_session.values()) == [10] + [30] * 8


def test_streams_a_million_candidates_lazily():
    began = time.perf_counter()
    first = list(itertools.islice(simulate_events(1_000_000, 1, START), 1000))
    assert time.perf_counter() - began < 2.0
    assert len(first) == 1000 and first[0].type == "SessionOpened"


def test_memory_does_not_grow_with_the_stream():
    def peak(n_events: int) -> int:
        tracemalloc.start()
        try:
            for _ in itertools.islice(simulate_events(1_000_000, 1, START), n_events):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(8_000), peak(32_000)
    assert large < 2 * small, (small, large)
