"""The vectorised scorer and what-if (projections/vector_scoring.py, vector_whatif.py) against
the reference `score()` and `whatif.compare()`, certification by certification (issue 6,
target 2).

Two populations, facts folded with `CertificationFacts.from_events`:
* simulated: `simulate_events` over 2018–2025 (every built-in version in force somewhere;
  neutralisations, QROCM-dep, incident reports, aborts, fraud, cancellations: every status);
* edge cases, drawn from a seeded generator that forces what the simulator makes rare or
  never: QROCM-dep in 1-, 2- and 3-question competences (two in two: no level rule),
  every answer status, every incident code with and without its condition, pointing at
  unanswered, ignored or missing questions, several reports on one question, E10 on
  `focusedOut`, jury (de)neutralisations (of unanswered, ignored, never-served
  questions, twice), every ruling and its lifting, technical and candidate aborts,
  unfinalised sessions, too few certifiable competences, stated levels above the cap and
  differing from floor(pix / 8); and a few anomalies a bad import could bring (a question
  served twice, an answer twice, an answer to no question, a question left unanswered)
  that the vector path leaves to the reference.

Rule sets: the built-ins (each forced on everyone), the timeline (each certification
under its version), and variants: max level 4 and 8, another rounding / thresholds /
trust ratio / abort policy / QROCM-dep weight and credit / questions per competence with
a partial level table, an incident policy that both neutralises and re-marks, and
another QROCM-dep format.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from commands.simulation import simulate_events
from ledger.events import (
    AnswerRecorded,
    CertificationCompleted,
    CertificationStarted,
    FraudReported,
    IncidentReported,
    JuryRuling,
    LedgerEvent,
    QuestionDeneutralised,
    QuestionNeutralised,
    QuestionServed,
    SessionFinalised,
)
from ledger.rules import RuleSet, RuleTimeline
from ledger.scoring import CertificationFacts, Result, score
from ledger.vocabulary import ALL_INCIDENT_CODES, COMPETENCES
from projections.compact import CompactInputs
from projections.vector_scoring import STARTED, ResultColumns, score_columns
from projections.vector_whatif import fast_compare
from projections.whatif import compare
from tests.unit.test_scoring_support import JURY, TIMELINE, UTC

CODES = sorted(COMPETENCES)
STATUSES = ["ok", "ko", "partially", "skipped", "timedout", "focusedOut"]
FEATURES = ["has_image", "has_embed", "has_attachment", "timed", "focused"]
FIRST = datetime(2017, 11, 20, 9, tzinfo=UTC)  # before the first version: no rule set applies
LAST = datetime(2025, 6, 1, tzinfo=UTC)

VARIANTS: list[dict[str, Any]] = [
    {"version": "test-max-4", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00Z",
     "max_reachable_level": 4},
    {"version": "test-max-8", "extends": "pix-v2-2021-04", "effective_from": "2024-06-02T00:00:00Z",
     "max_reachable_level": 8},
    {"version": "test-odd", "extends": "pix-v2-2021-08", "effective_from": "2024-06-03T00:00:00Z",
     "reproducibility_rate": {"rounding": "half_even", "fail_below": 45, "middle_band_from": 62, "high_band_from": 85},
     "trust_rule": {"min_answered_ratio": 0.9},
     "unanswered_on_abort": {"candidate": "neutralised", "technical": "skipped"},
     "qrocm_dep": {"weight": 3, "partially_credit": 2},
     "questions_per_competence": 4,
     "min_certifiable_competences": 6,
     "pix_per_level": 10,
     "level_table": [
         {"N": 3, "C": 3, "Z": 0, "high": "V", "middle": "V", "low": "D"},
         {"N": 3, "C": 2, "Z": "0..1", "high": "V", "middle": "D", "low": "X"},
         {"N": 3, "C": "0..1", "Z": "0..3", "high": "X", "middle": "X", "low": "X"},
         {"N": 4, "C": "0..4", "Z": "0..4", "high": "D", "middle": "X", "low": "X"},
         {"N": 2, "C": 2, "Z": 0, "high": "V", "middle": "V", "low": "V"},
         {"N": 2, "C": "0..1", "Z": "0..2", "high": "D", "middle": "X", "low": "X"},
         {"N": 1, "C": 1, "Z": 0, "high": "V", "middle": "D", "low": "X"},
         {"N": 5, "C": "0..4", "Z": "0..5", "high": "V", "middle": "D", "low": "X"},
     ]},
    {"version": "test-incidents", "extends": "pix-v2-2022-05", "effective_from": "2024-06-04T00:00:00Z",
     "automatic_resolution": {
         "E4": {"when": "always", "neutralise_answers": ["ko", "skipped", "focusedOut", "partially"]},
         "E10": {"when": "focused", "neutralise_answers": ["skipped"], "remark_answers": {"focusedOut": "ok", "timedout": "ok"}},
         "E11": {"when": "has_embed", "neutralise_answers": [], "remark_answers": {"ko": "partially", "skipped": "ok"}},
         "E1": {"when": "has_image", "neutralise_answers": ["ko"], "remark_answers": {"timedout": "skipped"}},
         "E6": {"when": "timed", "neutralise_answers": ["timedout"]},
         "E9": None,
     }},
    {"version": "test-format", "extends": "pix-v2-2021-08", "effective_from": "2024-06-05T00:00:00Z",
     "qrocm_dep": {"format": "QROCM-ind"}},
]


def _variants() -> RuleTimeline:
    timeline = RuleTimeline.builtin()
    for document in VARIANTS:
        timeline.add(document)
    return timeline


WITH_VARIANTS = _variants()


# ------------------------------------------------------------------ populations
def _fold_per_certification(events: list[LedgerEvent]) -> dict[str, CertificationFacts]:
    by_cert: dict[str, list[LedgerEvent]] = {}
    sessions: dict[str, list[str]] = {}
    for e in events:
        if isinstance(e, SessionFinalised):
            for cid in sessions.get(e.session_id, ()):
                by_cert[cid].append(e)
            continue
        cid = getattr(e, "certification_id", None)
        if cid is None:
            continue
        if isinstance(e, CertificationStarted):
            sessions.setdefault(e.session_id, []).append(cid)
        by_cert.setdefault(cid, []).append(e)
    return {cid: CertificationFacts.from_events(evs, cid) for cid, evs in by_cert.items()}


def simulated(candidates: int) -> dict[str, CertificationFacts]:
    return _fold_per_certification(list(simulate_events(candidates, 11, datetime(2018, 1, 8, 8, tzinfo=UTC), days=7 * 365)))


class _Edge:
    """One certification's events, drawn to reach the corners of the rules."""

    def __init__(self, rng: random.Random, k: int) -> None:
        self.rng, self.k = rng, k
        self.cert, self.session = f"edge-{k}", f"edge-s{k}"
        self.clock = FIRST + timedelta(days=rng.randint(0, (LAST - FIRST).days), seconds=rng.randint(0, 86399))
        self.events: list[LedgerEvent] = []

    def at(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def build(self) -> list[LedgerEvent]:
        rng = self.rng
        many = rng.random() < 0.9
        certifiable = rng.sample(CODES, rng.randint(5, 16) if many else rng.randint(1, 4))
        others = [c for c in CODES if c not in certifiable]
        level0 = rng.sample(others, min(len(others), rng.choice([0, 0, 1, 2])))
        profile: dict[str, dict[str, int]] = {}
        beginner = rng.random() < 0.05  # every competence at exactly 8 pix: a downgrade certifies 0
        for code in certifiable:
            pix = 8 if beginner else rng.choice([rng.randint(8, 64), rng.randint(8, 30), rng.randint(48, 64)])
            entry = {"pix": pix}
            # Stated levels: agreeing with floor(pix / 8), or not, as facts recorded before
            # the ledger refused such profiles may hold (both scorers must still agree).
            r = rng.random()
            if r < 0.08:
                entry["level"] = min(8, pix // 8 + rng.randint(1, 3))
            elif r < 0.12:
                entry["level"] = rng.randint(1, 8)
            elif r < 0.16:
                entry["level"] = pix // 8
            profile[code] = entry
        for code in level0:
            profile[code] = {"pix": rng.randint(0, 7)} if rng.random() < 0.8 else {"pix": rng.randint(8, 20), "level": 0}
        self.events.append(CertificationStarted(certification_id=self.cert, session_id=self.session,
                                                candidate_id=f"cand-{self.k}", profile=profile, at=self.at()))
        # Questions, grouped or shuffled; some for competences out of the profile.
        served: list[tuple[str, str]] = []  # (question id, competence)
        plan = []
        for code in certifiable + level0 + rng.sample(others, min(len(others), rng.choice([0, 0, 0, 1]))):
            count = rng.choice([3, 3, 3, 3, 2, 2, 1] + ([4] if rng.random() < 0.05 else []))
            if code in certifiable and rng.random() < 0.002:
                count = 0  # a certifiable competence without questions: an error
            qrocm = rng.random()
            for i in range(count):
                if qrocm < 0.35:
                    fmt = "QROCM-dep" if i == 0 or (count == 2 and qrocm < 0.08) else rng.choice(["QCM", "QROC"])
                else:
                    fmt = rng.choice(["QCM", "QCU", "QROC", "QROCM-ind", "QROCM-dep"] if rng.random() < 0.3 else ["QCM", "QROC"])
                plan.append((code, fmt))
        if rng.random() < 0.5:
            rng.shuffle(plan)
        skill = rng.random()
        end = rng.choice(["completed"] * 10 + ["candidate"] * 3 + ["technical"] * 3 + ["unfinished"])
        stop = rng.randint(0, len(plan)) if end != "completed" else len(plan)
        for n, (code, fmt) in enumerate(plan):
            qid = f"{self.cert}-q{n + 1}"
            features = {f: True for f in FEATURES if rng.random() < 0.3}
            self.events.append(QuestionServed(certification_id=self.cert, question_id=qid, competence=code,
                                              format=fmt, at=self.at(), **features))
            served.append((qid, code))
            if n < stop or (end != "completed" and rng.random() < 0.3):
                status = "ok" if rng.random() < skill else rng.choice(STATUSES)
                if features.get("focused") and rng.random() < 0.3:
                    status = rng.choice(["focusedOut", "skipped"])
                elif features.get("timed") and rng.random() < 0.2:
                    status = "timedout"
                self.events.append(AnswerRecorded(certification_id=self.cert, question_id=qid, status=status, at=self.at()))
        if end == "completed" and rng.random() < 0.02 and served:
            # An unanswered question in a completed certification (QUESTION_WITHOUT_ANSWER).
            self.events = [e for e in self.events if not (isinstance(e, AnswerRecorded) and e.question_id == served[0][0])]
        if rng.random() < 0.03 and served:  # anomalies: served twice, answered twice, answer to no question
            kind = rng.choice(["served", "answered", "unserved"])
            qid, code = rng.choice(served)
            if kind == "served":
                self.events.append(QuestionServed(certification_id=self.cert, question_id=qid, competence=code,
                                                  format="QCM", at=self.at()))
            else:
                self.events.append(AnswerRecorded(certification_id=self.cert, question_id=qid if kind == "answered" else "nowhere",
                                                  status=rng.choice(STATUSES), at=self.at()))
        if end == "completed":
            self.events.append(CertificationCompleted(certification_id=self.cert, at=self.at()))
        codes = sorted(ALL_INCIDENT_CODES)
        for r in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
            code = rng.choice(codes)
            number = None
            if code.startswith("E") or rng.random() < 0.2:
                number = rng.randint(1, len(served) + 4)
                feature = {"E1": "has_image", "E2": "has_embed", "E3": "has_attachment", "E8": "timed",
                           "E10": "focused", "E6": "timed", "E11": "has_embed"}.get(code)
                matching = [n + 1 for n, e in enumerate(q for q in self.events if isinstance(q, QuestionServed))
                            if feature and getattr(e, feature)]
                if matching and rng.random() < 0.6:
                    number = rng.choice(matching)  # the condition met (else, most often not)
            self.events.append(IncidentReported(certification_id=self.cert, report_id=f"{self.cert}-r{r}",
                                                code=code, question_number=number, at=self.at()))
        if rng.random() < 0.05:
            self.events.append(FraudReported(certification_id=self.cert, report_id=f"{self.cert}-f",
                                             reported_by="invigilator", at=self.at()))
        if end != "unfinished" or rng.random() < 0.3:
            reasons = {} if end in ("completed", "unfinished") else {self.cert: end}
            if end == "completed" and rng.random() < 0.03:
                reasons = {self.cert: rng.choice(["candidate", "technical"])}
            self.events.append(SessionFinalised(session_id=self.session, abort_reasons=reasons, at=self.at()))
        for _ in range(rng.choice([0, 0, 0, 1, 2, 4])):
            qid = rng.choice(served)[0] if served and rng.random() < 0.9 else "never-served"
            kind = QuestionNeutralised if rng.random() < 0.6 else QuestionDeneutralised
            self.events.append(kind(certification_id=self.cert, question_id=qid, by="pix-1", reason="jury", at=self.at()))
        for _ in range(rng.choice([0, 0, 0, 0, 1, 2, 3])):
            decision = rng.choice(["reject_for_fraud", "unreject", "cancel", "uncancel", "resolve_incident", "comment"])
            extra = {"report_id": f"{self.cert}-r0", "resolution": "seen"} if decision == "resolve_incident" else {}
            self.events.append(JuryRuling(ruling_id=f"{self.cert}-j{len(self.events)}", decision=decision, jury=JURY,
                                          certification_id=self.cert, comment="jury", at=self.at(), **extra))
        return self.events


class _Story:
    """A hand-written certification: 5 filler competences (3 questions each, `fill`
    answered ok) and the questions a case needs."""

    def __init__(self, name: str, at: datetime, fill: int = 12, pix: int = 30) -> None:
        self.cert, self.session, self.clock = name, f"{name}-s", at
        self.n = 0
        self.fillers = ["2.1", "2.2", "3.1", "3.2", "4.1"]
        self.events: list[LedgerEvent] = []
        self.fill, self.pix = fill, pix

    def at(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def start(self, **profile: dict[str, int]) -> _Story:
        full = {c: {"pix": self.pix} for c in self.fillers} | {k.replace("_", "."): v for k, v in profile.items()}
        self.events.append(CertificationStarted(certification_id=self.cert, session_id=self.session,
                                                candidate_id="c", profile=full, at=self.at()))
        for k in range(15):
            self.q(self.fillers[k // 3], "ok" if k < self.fill else "ko")
        return self

    def q(self, competence: str, status: str | None, fmt: str = "QCM", **features: bool) -> str:
        self.n += 1
        qid = f"{self.cert}-q{self.n}"
        self.events.append(QuestionServed(certification_id=self.cert, question_id=qid, competence=competence,
                                          format=fmt, at=self.at(), **features))
        if status is not None:
            self.events.append(AnswerRecorded(certification_id=self.cert, question_id=qid, status=status, at=self.at()))
        return qid

    def report(self, code: str, number: int) -> None:
        self.events.append(IncidentReported(certification_id=self.cert, report_id=f"{self.cert}-r{len(self.events)}",
                                            code=code, question_number=number, at=self.at()))

    def finalise(self, abort: str | None = None) -> _Story:
        self.events.append(SessionFinalised(session_id=self.session, abort_reasons={self.cert: abort} if abort else {},
                                            at=self.at()))
        return self

    def jury(self, qid: str, neutralise: bool) -> None:
        kind = QuestionNeutralised if neutralise else QuestionDeneutralised
        self.events.append(kind(certification_id=self.cert, question_id=qid, by="pix-1", at=self.at()))

    def ruling(self, decision: str) -> None:
        self.events.append(JuryRuling(ruling_id=f"{self.cert}-j{len(self.events)}", decision=decision, jury=JURY,
                                      certification_id=self.cert, at=self.at()))

    def facts(self) -> CertificationFacts:
        return CertificationFacts.from_events(self.events, self.cert)


def hand_built() -> dict[str, CertificationFacts]:
    """The interactions a random draw hardly reaches, each written out."""
    at = datetime(2024, 6, 10, 8, tzinfo=UTC)
    out: dict[str, CertificationFacts] = {}

    def keep(story: _Story) -> None:
        out[story.cert] = story.facts()

    for order in (("E4", "E10"), ("E10", "E4")):
        # Neutralised by one report, re-marked ok by another, then de-neutralised: counts ok.
        s = _Story(f"hand-neut-remark-{order[0]}", at).start(**{"1_1": {"pix": 40}})
        q = s.q("1.1", "focusedOut", focused=True)
        s.q("1.1", "ok")
        s.q("1.1", "ko")
        s.report(order[0], s.n - 2)
        s.report(order[1], s.n - 2)
        s.finalise()
        s.jury(q, False)
        keep(s)
    # Two re-markings of one answer: the last report's wins.
    s = _Story("hand-two-remarks", at).start(**{"1_1": {"pix": 40}})
    s.q("1.1", "timedout", focused=True, has_image=True, timed=True)
    s.q("1.1", "ok")
    s.report("E10", 16)
    s.report("E1", 16)
    s.report("E6", 16)
    s.finalise()
    keep(s)
    # Technical abort: unanswered neutralised; a report on it does nothing; de-neutralised: still unanswered (in N, not answered).
    s = _Story("hand-technical", at, fill=9).start(**{"1_1": {"pix": 40}, "1_2": {"pix": 16}})
    q = s.q("1.1", None)
    s.q("1.1", None)
    s.q("1.2", None)
    s.report("E4", 16)
    s.finalise("technical")
    s.jury(q, False)
    keep(s)
    # Candidate abort: unanswered skipped; E4 neutralises the skip.
    s = _Story("hand-candidate", at).start(**{"1_1": {"pix": 40}})
    s.q("1.1", "ok")
    s.q("1.1", None)
    s.report("E4", 17)
    s.finalise("candidate")
    keep(s)
    # QROCM-dep in a 2-question competence: `partially` (credit by era), and two of them.
    for name, statuses, fmts in (("hand-qrocm-partially", ("partially", "ok"), ("QROCM-dep", "QCM")),
                                 ("hand-qrocm-two", ("ok", "ok"), ("QROCM-dep", "QROCM-dep")),
                                 ("hand-qrocm-one", ("partially",), ("QROCM-dep",))):
        s = _Story(name, at).start(**{"1_1": {"pix": 40}})
        for status, fmt in zip(statuses, fmts):
            s.q("1.1", status, fmt)
        s.finalise()
        keep(s)
    # Rates at x.5: 5/8 -> 63 half up, 62 half even; and 7/10 exactly on a band edge.
    for ok, total in ((5, 8), (7, 10), (3, 6), (15, 30), (9, 10), (4, 5)):
        s = _Story(f"hand-rate-{ok}-{total}", at, fill=0)
        codes = CODES[:min(total, 10)]
        s.events.append(CertificationStarted(certification_id=s.cert, session_id=s.session, candidate_id="c",
                                             profile={c: {"pix": 30} for c in codes}, at=s.at()))
        for k in range(total):
            s.q(codes[k % len(codes)], "ok" if k < ok else "ko")
        s.finalise()
        keep(s)
    # Every competence downgraded from level 1 at 8 pix: validated rows, 0 pix certified.
    s = _Story("hand-no-pix", at, fill=0)
    s.events.append(CertificationStarted(certification_id=s.cert, session_id=s.session, candidate_id="c",
                                         profile={c: {"pix": 8} for c in CODES[:5]}, at=s.at()))
    for code in CODES[:5]:
        for status in ("ok", "ok", "ko"):
            s.q(code, status)
    s.finalise()
    keep(s)
    # A stated level above the cap; one above floor(pix / 8) (recorded before the ledger
    # refused it); a downgrade from level 1 at 8 pix.
    s = _Story("hand-levels", at, fill=14).start(**{"1_1": {"pix": 64, "level": 8}, "1_2": {"pix": 20, "level": 7},
                                                    "1_3": {"pix": 8}})
    for code in ("1.1", "1.2", "1.3"):
        s.q(code, "ok")
        s.q(code, "ok")
        s.q(code, "ko")
    s.finalise()
    keep(s)
    # A jury cancellation and a fraud rejection over an unscorable certification.
    s = _Story("hand-cancel-error", at).start(**{"1_1": {"pix": 40}})
    s.q("1.1", "ok", "QROCM-dep")
    s.q("1.1", "ok", "QROCM-dep")
    s.finalise()
    s.ruling("cancel")
    s.ruling("reject_for_fraud")
    keep(s)
    # Jury decisions on an ignored question and on one never served; a report on an ignored one.
    s = _Story("hand-ignored", at).start(**{"1_1": {"pix": 5}})
    q = s.q("1.1", "ko", has_image=True)
    s.report("E1", 16)
    s.finalise()
    s.jury(q, True)
    s.jury("nowhere", True)
    keep(s)
    return out


def edge_cases(count: int, seed: int = 6) -> dict[str, CertificationFacts]:
    rng = random.Random(seed)
    out = hand_built()
    for k in range(count):
        events = _Edge(rng, k).build()
        out[f"edge-{k}"] = CertificationFacts.from_events(events, f"edge-{k}")
    return out


def _rows(population: dict[str, CertificationFacts]) -> list[tuple[str, datetime, CertificationFacts]]:
    rows = [(cid, f.started_at, f) for cid, f in population.items()]
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


@pytest.fixture(scope="module")
def simulated_rows():
    return _rows(simulated(1500))


@pytest.fixture(scope="module")
def edge_rows():
    return _rows(edge_cases(1500))


def _public(result: Result) -> dict[str, Any]:
    return {"status": result.status, "reasons": list(result.reasons), "error": result.error,
            "reproducibility_rate": result.reproducibility_rate, "pix_score": result.pix_score,
            "rule_version": result.rule_version,
            "competences": {c: {"level": m.level, "pix": m.pix} for c, m in result.competences.items()}}


def _check_identity(rows, rules_for, *, sample: int | None = None, seed: int = 0) -> dict[str, int]:
    """Every certification (or a sample): vector == reference. Returns status counts."""
    inputs = CompactInputs.build(rows)
    facts = {cid: f for cid, _, f in rows}
    columns = score_columns(inputs, rules_for, facts_for=lambda ids: {i: facts[i] for i in ids})
    indices = range(inputs.n) if sample is None else random.Random(seed).sample(range(inputs.n), sample)
    statuses: dict[str, int] = {}
    for i in indices:
        cid, at, f = rows[i]
        rules = rules_for.in_force(at) if isinstance(rules_for, RuleTimeline) else rules_for
        if rules is None:
            assert columns.status[i] == STARTED
            continue
        want = score(f, rules)
        if columns.odd[i]:
            assert columns.objects[i] == want, cid  # left to the reference
        else:
            assert columns.side(i, inputs) == _public(want), cid
        statuses[want.status] = statuses.get(want.status, 0) + 1
        for reason in want.reasons:
            statuses[reason] = statuses.get(reason, 0) + 1
    return statuses


# ------------------------------------------------------------------ identity of scoring
FORCED = ["pix-v2-2017-12", "pix-v2-2021-04", "pix-v2-2021-08", "pix-v2-2024-05", "test-max-4"]


@pytest.mark.parametrize("version", FORCED)
def test_simulated_population_scores_identically(simulated_rows, version):
    statuses = _check_identity(simulated_rows, WITH_VARIANTS.get(version))
    assert statuses["validated"] and statuses["rejected"]


def test_simulated_population_under_the_timeline(simulated_rows):
    inputs = CompactInputs.build(simulated_rows)
    assert not inputs.anomaly.any()  # the simulator emits nothing the vector path cannot express
    versions = {TIMELINE.in_force(at).version for _, at, _ in simulated_rows}
    assert len(versions) >= 7  # 2022-03 lasts two months: often missed by 1,500 certifications
    statuses = _check_identity(simulated_rows, TIMELINE)
    for expected in ("validated", "rejected", "cancelled", "error", "FRAUD", "NO_LEVEL_RULE",
                     "TOO_MANY_NEUTRALISATIONS", "INSUFFICIENT_CORRECT_ANSWERS"):
        assert statuses.get(expected), (expected, statuses)


@pytest.mark.parametrize("version", FORCED + ["test-max-8", "test-odd", "test-incidents", "test-format"])
def test_edge_cases_score_identically(edge_rows, version):
    statuses = _check_identity(edge_rows, WITH_VARIANTS.get(version))
    assert statuses["validated"] and statuses["rejected"] and statuses["cancelled"] and statuses["error"]


def test_edge_cases_under_a_timeline_with_variants(edge_rows):
    statuses = _check_identity(edge_rows, WITH_VARIANTS)
    for expected in ("CANCELLED_BY_JURY", "FRAUD", "TOO_MANY_NEUTRALISATIONS", "INSUFFICIENT_CORRECT_ANSWERS",
                     "LACK_OF_ANSWERS_FOR_TECHNICAL_REASON", "TOO_FEW_CERTIFIABLE_COMPETENCES", "NO_PIX_CERTIFIED",
                     "QUESTION_WITHOUT_ANSWER", "COMPETENCE_WITHOUT_QUESTION", "QUESTION_SERVED_TWICE"):
        assert statuses.get(expected), (expected, statuses)


def test_edge_cases_reach_what_they_are_drawn_for(edge_rows):
    """The generator's corners are really in the population (else the identity above
    proves less than it says)."""
    inputs = CompactInputs.build(edge_rows)
    anomalies = int(inputs.anomaly.sum())
    assert 0 < anomalies < 0.15 * inputs.n, anomalies
    outcomes = {"neutralised": 0, "remarked": 0, "no_effect": 0}
    qrocm_sizes = set()
    for _, at, facts in edge_rows:
        result = score(facts, WITH_VARIANTS.get("pix-v2-2024-05"))
        for incident in result.explanation.incidents:
            if incident.outcome in outcomes:
                outcomes[incident.outcome] += 1
        for q in result.explanation.questions:
            if q.format == "QROCM-dep" and q.fate != "ignored":
                qrocm_sizes.add(q.weight)
    assert all(outcomes.values()), outcomes
    assert qrocm_sizes == {1, 2}


# ------------------------------------------------------------------ identity of the what-if
def _current(rows, skip_every: int = 17) -> dict[str, Any]:
    """The projection's current results: each certification under its version; some
    without a result yet (`started`)."""
    current = {}
    for k, (cid, at, facts) in enumerate(rows):
        rules = TIMELINE.in_force(at)
        if rules is None or k % skip_every == 0:
            continue
        current[cid] = score(facts, rules).model_dump(mode="json")
    return current


def _fast(rows, current, rules_for, baseline_for=None, details=None):
    inputs = CompactInputs.build(rows)
    facts = {cid: f for cid, _, f in rows}
    return fast_compare(inputs, current, rules_for, baseline_for=baseline_for,
                        facts_for=lambda ids: {i: facts[i] for i in ids}, details=details)


def test_what_if_a_proposal_matches_compare(simulated_rows, edge_rows):
    rows = simulated_rows[::3] + edge_rows[::3]
    rows.sort(key=lambda r: (r[1], r[0]))
    current = _current(rows)
    timeline = RuleTimeline.builtin()
    timeline.add({"version": "jury-proposal", "extends": "pix-v2-2024-05", "effective_from": "2023-01-01T00:00:00Z",
                  "max_reachable_level": 4, "trust_rule": {"min_answered_ratio": 0.97},
                  "reproducibility_rate": {"high_band_from": 90}})
    want = compare(rows, current, timeline.in_force)
    got = _fast(rows, current, timeline)
    assert got == want
    assert want.changed > 20 and len(want.scored_under) >= 8, (want.changed, want.scored_under)


@pytest.mark.parametrize(("after", "before"), [("pix-v2-2024-05", "pix-v2-2021-04"), ("test-odd", "pix-v2-2017-12"),
                                               ("test-incidents", "pix-v2-2022-05")])
def test_what_if_two_versions_matches_compare(edge_rows, after, before):
    rows = edge_rows[::2]
    current = _current(rows)
    a, b = WITH_VARIANTS.get(after), WITH_VARIANTS.get(before)
    want = compare(rows, current, lambda _at: a, baseline_for=lambda _at: b)
    got = _fast(rows, current, a, baseline_for=b)
    assert got == want
    assert want.changed > 10
    assert want.rescored_unchanged > 0  # (another version, the same outcome: counted alike)


def test_what_if_shows_the_first_changes_and_counts_them_all(simulated_rows):
    current = _current(simulated_rows)
    rules = TIMELINE.get("pix-v2-2017-12")
    want = compare(simulated_rows, current, lambda _at: rules)
    got = _fast(simulated_rows, current, rules, details=7)
    assert got.changed == want.changed > 7
    assert got.changes == want.changes[:7]
    assert got.model_copy(update={"changes": (), "changed": 0}) == want.model_copy(update={"changes": (), "changed": 0})


def test_odd_current_results_go_to_the_reference(simulated_rows):
    rows = simulated_rows[:300]
    current = _current(rows)
    cid = next(c for c, r in current.items() if r["status"] == "validated")
    current[cid] = {**current[cid], "competences": {"1.1": {"level": 3, "pix": 24}}}  # a stale, partial row
    columns = ResultColumns.from_results(CompactInputs.build(rows), current)
    assert int(columns.odd.sum()) == 1
    rules = TIMELINE.get("pix-v2-2024-05")
    assert _fast(rows, current, rules) == compare(rows, current, lambda _at: rules)


def test_columns_survive_take_concatenate_and_save(edge_rows, tmp_path):
    inputs = CompactInputs.build(edge_rows)
    rules = WITH_VARIANTS.get("test-incidents")
    whole = score_columns(inputs, rules)
    half = np.arange(inputs.n)[::-2]
    part = score_columns(inputs.take(half), rules)
    for i, j in zip(half.tolist(), range(len(half))):
        if not inputs.anomaly[i]:
            assert part.side(j, inputs.take(half)) == whole.side(i, inputs)
    path = tmp_path / "inputs.npz"
    CompactInputs.concatenate([inputs.take(half), inputs.take(np.setdiff1d(np.arange(inputs.n), half))]).save(path)
    again = CompactInputs.load(path)
    again_scored = score_columns(again, rules)
    order = {cid: k for k, cid in enumerate(again.cert_ids)}
    for i in range(inputs.n):
        if not inputs.anomaly[i]:
            assert again_scored.side(order[inputs.cert_ids[i]], again) == whole.side(i, inputs)


def test_any_order_and_any_function_of_the_start(edge_rows):
    """Out of start order, runs of one version are many: each version is then gathered
    apart; a plain function of the start is asked once per distinct start."""
    inputs = CompactInputs.build(edge_rows)
    reference = score_columns(inputs, WITH_VARIANTS)
    shuffled = np.random.default_rng(3).permutation(inputs.n)
    mixed = inputs.take(shuffled)
    for rules_for in (WITH_VARIANTS, lambda at: WITH_VARIANTS.in_force(at), WITH_VARIANTS.in_force):
        scored = score_columns(mixed, rules_for)
        for j, i in enumerate(shuffled.tolist()):
            if not inputs.anomaly[i]:
                assert scored.side(j, mixed) == reference.side(i, inputs)


def test_values_interned_by_threads_at_once_keep_one_id_each_naming_them():
    # What-ifs run in the server's thread pool and intern new texts at once. Each look-up
    # here gives the other threads their turn, so they meet between looking a value up
    # and interning it.
    import threading
    import time

    from projections.vector_scoring import Interner

    class Yielding(dict):
        def get(self, key, default=None):
            found = super().get(key, default)
            time.sleep(0)  # between the look-up and what the caller does with it
            return found

    interner = Interner(None)
    interner.ids = Yielding(interner.ids)
    values = [f"error text {n}" for n in range(300)]
    seen: list[dict[str, int]] = []

    def intern_all() -> None:
        seen.append({value: interner.id(value) for value in values})

    threads = [threading.Thread(target=intern_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(interner.values) == len(values) + 1  # each value once, beside the first
    assert all(ids == seen[0] for ids in seen)  # every thread was given the same ids
    assert all(interner.values[i] == value for value, i in seen[0].items())
