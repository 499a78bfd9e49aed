"""How long scoring one certification takes: score() alone, score() with the two dumps a
projection stores, the projection's `scored_json()` (the same bytes without validating
the Result model), and from_events + score().

    python benchmarks/scoring.py [--certifications 200] [--runs 7]

Generated certifications: 16 certifiable competences x 3 questions, all 48 answered,
a few incident reports and jury neutralisations, scored under the latest built-in
version. Prints the median and the best over runs of the mean µs per certification. A script, no
assertions: compare figures between commits on the same machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger.events import (  # noqa: E402
    AnswerRecorded,
    CertificationCompleted,
    CertificationStarted,
    IncidentReported,
    LedgerEvent,
    QuestionNeutralised,
    QuestionServed,
    SessionFinalised,
)
from ledger.rules import RuleTimeline  # noqa: E402
from ledger.scoring import CertificationFacts, score, scored_json  # noqa: E402
from ledger.scoring.score import stored_form  # noqa: E402
from ledger.vocabulary import COMPETENCES  # noqa: E402

STATUSES = ["ok"] * 7 + ["ko", "ko", "partially", "skipped", "timedout"]


def certification_events(n: int, rng: random.Random) -> list[LedgerEvent]:
    cert, session = f"cert-{n}", "session-bench"
    at = datetime(2024, 6, 12, 8, tzinfo=timezone.utc)
    tick = iter(at + timedelta(seconds=s) for s in range(10_000))
    profile = {code: {"pix": rng.randint(8, 64)} for code in COMPETENCES}
    events: list[LedgerEvent] = [CertificationStarted(
        certification_id=cert, session_id=session, candidate_id=f"cand-{n}", profile=profile, at=next(tick))]
    for i, code in enumerate(sorted(COMPETENCES) * 3):
        qid = f"{cert}-q{i}"
        events.append(QuestionServed(certification_id=cert, question_id=qid, competence=code,
                                     format=rng.choice(["QCM", "QCU", "QROC"]), has_image=rng.random() < 0.2,
                                     at=next(tick)))
        events.append(AnswerRecorded(certification_id=cert, question_id=qid, status=rng.choice(STATUSES), at=next(tick)))
    events.append(CertificationCompleted(certification_id=cert, at=next(tick)))
    for r in range(2):
        events.append(IncidentReported(certification_id=cert, report_id=f"{cert}-r{r}", code=rng.choice(["E1", "E4", "C7"]),
                                       question_number=rng.randint(1, 48), at=next(tick)))
    events.append(SessionFinalised(session_id=session, at=next(tick)))
    events.append(QuestionNeutralised(certification_id=cert, question_id=f"{cert}-q{rng.randint(0, 47)}",
                                      by="pix-1", reason="bench", at=next(tick)))
    return events


def _timings_us(work, items: list, runs: int) -> tuple[float, float]:
    """(median, best) over runs of the mean µs per item: the best run is the least
    disturbed by a busy machine."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        for item in items:
            work(item)
        timings.append((time.perf_counter() - start) / len(items) * 1e6)
    return statistics.median(timings), min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certifications", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(2024)
    rules = RuleTimeline.builtin().get("pix-v2-2024-05")
    assert rules is not None
    streams = [certification_events(n, rng) for n in range(args.certifications)]
    facts = [CertificationFacts.from_events(events) for events in streams]
    rows = {
        "score()": _timings_us(lambda f: score(f, rules), facts, args.runs),
        # What a projection stores of a scoring: the outcome and the whole result as JSON.
        "score() + both dumps": _timings_us(lambda f: stored_form(score(f, rules)), facts, args.runs),
        "scored_json()": _timings_us(lambda f: scored_json(f, rules), facts, args.runs),
        "from_events()": _timings_us(CertificationFacts.from_events, streams, args.runs),
        "from_events() + score()": _timings_us(lambda e: score(CertificationFacts.from_events(e), rules), streams, args.runs),
    }
    print(f"{args.certifications} certifications of 48 answered questions, {args.runs} runs")
    print(f"  {'':24} {'median':>8} {'best':>8}  (µs per certification)")
    for name, (median, best) in rows.items():
        print(f"  {name:24} {median:8.1f} {best:8.1f}")


if __name__ == "__main__":
    main()
