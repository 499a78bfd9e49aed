"""What-if at scale (issue 6, target 2): the vectorised what-if over 10k / 100k / 1M
simulated certifications, against the reference `score()` timed in the same run.

    python benchmarks/whatif_scale.py generate [--chunks 10] [--jobs 2]   # once: simulate, cache facts
    python benchmarks/whatif_scale.py run [--sizes 10000,100000,1000000] [--runs 3]

Population (cached under $CERTLEDGER_BENCH_DIR, default /tmp/certledger-whatif):
every certification is genuinely simulated (`commands.simulation.simulate_events`), no
replication. Chunk k is `simulate_events(100_000, seed=k, start=2018-01-08, days=7 years)`
(ids `sim-{k}-…` never collide across seeds); 1M = chunks 1..10, 100k = chunk 1, 10k =
`simulate_events(10_000, seed=1001, …)` over the same 7 years. Each chunk's facts are
folded straight from the event stream into the JSON form of `CertificationFacts`
(`model_dump(mode="json", exclude_defaults=True)`, what the results projection keeps in
`certledger_scoring_inputs`), checked against `CertificationFacts.from_events` on a
sample, and written as JSON lines (with byte offsets, so that the few certifications the
reference must see can be read back one by one).

`run` times, per size:
* load (excluded from the target): facts JSON -> compact arrays (`projections.compact`),
  first time only, then the cached .npz; and the "current results" columns (what the
  projection holds: every certification scored under the built-in timeline);
* what-if, proposal mode: a jury variant (extends 2024-05; effective 2023-01-01; max level
  6, fail below 55, "2 OK, 1 KO" validated in every band) inserted into the built-in
  timeline: every certification scored under the version in force at its start (the
  variant until 2023-12 supersedes it), compared with the current results (status
  matrix, score differences, per-competence level changes, the changed set; the first 20
  changes explained by the reference);
* what-if, versions mode: 2024-05 against 2021-04, both forced on every certification
  (two sides scored);
* a version of the ledger named as the proposal (2017-12, forced on everyone: every
  technically aborted certification becomes an error, whose text is written too);
* baseline: the reference `compare()` (and `score()`) on a sample (--sample, 1,000) of
  the same population, same run, extrapolated per certification, hence the speed-up;
  and on that sample, the vectorised report checked equal to the reference's (every
  change explained), the current-results stand-in equal to the reference's results.
The machine is shared: figures are medians over --runs, and noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from commands.simulation import simulate_events  # noqa: E402
from ledger.events import (  # noqa: E402
    AnswerRecorded,
    CertificationCompleted,
    CertificationStarted,
    FraudReported,
    IncidentReported,
    JuryRuling,
    QuestionDeneutralised,
    QuestionNeutralised,
    QuestionServed,
    SessionFinalised,
)

UTC = timezone.utc
BENCH_DIR = Path(os.environ.get("CERTLEDGER_BENCH_DIR", "/tmp/certledger-whatif"))
START = datetime(2018, 1, 8, 8, tzinfo=UTC)
DAYS = 7 * 365
CHUNK = 100_000
SMALL_SEED = 1001
FLAGS = ("has_image", "has_embed", "has_attachment", "timed", "focused")


# ----------------------------------------------------------------------------- population
def fold_facts(events) -> list[tuple[str, datetime, dict[str, Any]]]:
    """The simulator's events folded into each certification's facts in JSON form, the
    semantics of `ledger.scoring.fold.FactsFold` (checked on a sample by `generate`),
    without building models. (certification id, started_at, facts), by start then id."""
    certs: dict[str, dict[str, Any]] = {}
    served: dict[str, set[str]] = {}
    sessions: dict[str, list[str]] = {}
    for e in events:
        kind = type(e)
        if kind is SessionFinalised:
            for cid in sessions.get(e.session_id, ()):
                f = certs[cid]
                if f.get("session_finalised"):
                    continue
                f["session_finalised"] = True
                reason = e.abort_reasons.get(cid)
                if reason is not None:
                    f["abort_reason"] = reason
            continue
        cid = getattr(e, "certification_id", None)
        if cid is None:
            continue
        if kind is CertificationStarted:
            if cid in certs:
                continue
            certs[cid] = {"certification_id": cid, "session_id": e.session_id, "candidate_id": e.candidate_id,
                          "started_at": e.at, "profile": {c: {"pix": p.pix, "level": p.level} for c, p in e.profile.items()}}
            served[cid] = set()
            sessions.setdefault(e.session_id, []).append(cid)
            continue
        f = certs.get(cid)
        if f is None:
            continue
        if kind is QuestionServed:
            if e.question_id in served[cid]:
                f.setdefault("served_twice", []).append(e.question_id)
                continue
            served[cid].add(e.question_id)
            q = {"question_id": e.question_id, "competence": e.competence, "format": e.format}
            for flag in FLAGS:
                if getattr(e, flag):
                    q[flag] = True
            f.setdefault("questions", []).append(q)
        elif kind is AnswerRecorded:
            answers = f.setdefault("answers", {})
            if e.question_id in answers:
                f.setdefault("answered_twice", []).append(e.question_id)
            else:
                answers[e.question_id] = e.status
        elif kind is CertificationCompleted:
            f["completed"] = True
        elif kind is IncidentReported:
            incident = {"report_id": e.report_id, "code": e.code}
            if e.question_number is not None:
                incident["question_number"] = e.question_number
            f.setdefault("incidents", []).append(incident)
        elif kind is FraudReported:
            f.setdefault("fraud_reports", []).append(e.report_id)
        elif kind is QuestionNeutralised or kind is QuestionDeneutralised:
            decision = {"neutralised": kind is QuestionNeutralised, "by": e.by, "at": e.at}
            if e.reason:
                decision["reason"] = e.reason
            if e.event_id is not None:
                decision["event_id"] = e.event_id
            decisions = f.setdefault("jury_decisions", {})
            before = decisions.get(e.question_id)
            if before is not None:  # as the projection's fold keeps it: one level
                decision["overrides"] = {k: v for k, v in before.items() if k != "overrides"}
            decisions[e.question_id] = decision
        elif kind is JuryRuling:
            ref: dict[str, Any] = {"ruling_id": e.ruling_id, "at": e.at}
            if e.comment:
                ref["comment"] = e.comment
            if e.resolution is not None:
                ref["resolution"] = e.resolution
            if e.jury:  # as the projection's fold keeps it: the members' ids
                ref["jury"] = [member.member_id for member in e.jury]
            d = e.decision
            if d in ("reject_for_fraud", "unreject"):
                if d == "reject_for_fraud":
                    f["rejected_for_fraud"] = ref
                else:
                    f.pop("rejected_for_fraud", None)
            elif d in ("cancel", "uncancel"):
                if d == "cancel":
                    f["cancelled"] = ref
                else:
                    f.pop("cancelled", None)
            elif d == "resolve_incident" and e.report_id:
                f.setdefault("incident_rulings", {})[e.report_id] = ref
            elif d == "comment":
                f.setdefault("comments", []).append(ref)
    rows = [(cid, f["started_at"], f) for cid, f in certs.items()]
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


def _chunk_path(name: str) -> Path:
    return BENCH_DIR / f"facts-{name}.jsonl"


def generate_chunk(name: str, candidates: int, seed: int, every: int = 97) -> Path:
    """Simulate, fold, check the certifications of every `every`-th session against the
    reference fold (`CertificationFacts.from_events`), write JSON lines."""
    from ledger.scoring import CertificationFacts

    path = _chunk_path(name)
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    kept: dict[str, list] = {}  # session id -> its events, for the check

    def stream():
        for e in simulate_events(candidates, seed, START, days=DAYS):
            session = getattr(e, "session_id", None) or getattr(e, "certification_id", None) or ""
            session = session.split("-c")[0]
            if session and int(session.rsplit("-s", 1)[1]) % every == 0:
                kept.setdefault(session, []).append(e)
            yield e

    rows = fold_facts(stream())
    t1 = time.perf_counter()
    by_id = {cid: facts for cid, _, facts in rows}
    checked = 0
    for events in kept.values():
        for cid in {e.certification_id for e in events if type(e) is CertificationStarted}:
            reference = CertificationFacts.from_events(events, cid)
            assert CertificationFacts.model_validate(by_id[cid]) == reference, cid
            checked += 1
    tmp = path.with_suffix(f".{os.getpid()}.part")
    with open(tmp, "wb") as out:
        for _, _, facts in rows:
            out.write(orjson.dumps(facts))
            out.write(b"\n")
    tmp.rename(path)
    print(f"  {name}: {len(rows)} certifications, simulated and folded in {t1 - t0:.0f}s, written in "
          f"{time.perf_counter() - t1:.0f}s ({checked} checked against CertificationFacts.from_events)", flush=True)
    return path


def chunk_names(size: int) -> list[str]:
    if size <= 10_000:
        return ["small"]
    return [f"seed{k}" for k in range(1, -(-size // CHUNK) + 1)]


def generate(chunks: int, jobs: int = 1) -> None:
    """Simulate the missing chunks; chunks are independent, so `jobs` processes share
    them (on 2 cores, 2 jobs halve the ≈20 min of the 1,000,000 population)."""
    work = [("small", 10_000, SMALL_SEED)] + [(f"seed{k}", CHUNK, k) for k in range(1, chunks + 1)]
    if jobs <= 1:
        for args in work:
            generate_chunk(*args)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs) as pool:
        for future in [pool.submit(generate_chunk, *args) for args in work]:
            future.result()  # a failed chunk fails the whole generation


# ----------------------------------------------------------------------------- loading
class Population:
    """A size's compact inputs, where each certification's facts are (to read back the
    few the reference needs), and the current results (the projection's stand-in)."""

    def __init__(self, size: int) -> None:
        import numpy as np

        from projections.compact import CompactInputs

        self.size = size
        self.names = chunk_names(size)
        path = BENCH_DIR / f"compact-{size}.npz"
        t0 = time.perf_counter()
        if not path.exists():
            parts, sources = [], []
            for k, name in enumerate(self.names):
                part, offsets = self._chunk(name)
                parts.append(part)
                sources.append(np.stack([np.full(len(offsets), k), offsets], axis=1))
            inputs = parts[0] if len(parts) == 1 else CompactInputs.concatenate(parts)
            source = np.concatenate(sources)
            if len(parts) > 1:  # one start order over the chunks (what scoring_inputs yields)
                order = np.lexsort((np.array(inputs.cert_ids), inputs.started_us))
                inputs, source = inputs.take(order), source[order]
            inputs.save(path)
            np.save(BENCH_DIR / f"source-{size}.npy", source)
            self.built = time.perf_counter() - t0
        else:
            self.built = None
        t1 = time.perf_counter()
        self.inputs = CompactInputs.load(path)
        self.source = np.load(BENCH_DIR / f"source-{size}.npy")
        self.where = dict(zip(self.inputs.cert_ids, self.source.tolist()))
        self.loaded = time.perf_counter() - t1
        assert self.inputs.n == size, (self.inputs.n, size)

    def _chunk(self, name: str):
        import numpy as np

        from projections.compact import CompactInputs

        path = BENCH_DIR / f"compact-chunk-{name}.npz"
        if path.exists():
            return CompactInputs.load(path), np.load(BENCH_DIR / f"offsets-{name}.npy")
        offsets = []

        def lines():
            offset = 0
            with open(_chunk_path(name), "rb") as fh:
                for line in fh:
                    facts = orjson.loads(line)
                    offsets.append(offset)
                    offset += len(line)
                    yield facts["certification_id"], facts["started_at"], facts

        inputs = CompactInputs.build(lines())
        inputs.save(path)
        np.save(BENCH_DIR / f"offsets-{name}.npy", np.array(offsets, dtype=np.int64))
        return inputs, np.array(offsets, dtype=np.int64)

    def facts_for(self, ids) -> dict[str, Any]:
        out = {}
        handles = {}
        for cid in ids:
            k, offset = self.where[cid]
            fh = handles.get(k) or handles.setdefault(k, open(_chunk_path(self.names[k]), "rb"))
            fh.seek(offset)
            out[cid] = orjson.loads(fh.readline())
        for fh in handles.values():
            fh.close()
        return out

    def current_for(self, ids) -> dict[str, Any]:
        """What the projection holds for these: each scored under the version in force."""
        from ledger.rules import RuleTimeline
        from ledger.scoring import CertificationFacts, score

        timeline = RuleTimeline.builtin()
        out = {}
        for cid, facts in self.facts_for(ids).items():
            model = CertificationFacts.model_validate(facts)
            rules = timeline.in_force(model.started_at)
            out[cid] = None if rules is None else score(model, rules).model_dump(mode="json")
        return out


# ----------------------------------------------------------------------------- the run
def _proposal() -> dict[str, Any]:
    """A jury variant after the last built-in version: max level 6, fail below 55, and
    "2 OK, 1 KO" validated in every band."""
    from ledger.rules import builtin_documents

    table = next(d for d in builtin_documents() if d["version"] == "pix-v2-2021-04")["level_table"]
    return {
        "version": "bench-proposal", "extends": "pix-v2-2024-05", "effective_from": "2023-01-01T00:00:00Z",
        "max_reachable_level": 6, "reproducibility_rate": {"fail_below": 55},
        "level_table": [{**r, "middle": "V", "low": "V"} if r["meaning"] == "2 OK, 1 KO" else r for r in table],
    }


def _modes():
    from ledger.rules import RuleTimeline

    timeline = RuleTimeline.builtin()
    timeline.add(_proposal())
    forced = RuleTimeline.builtin()
    return [
        ("proposal (timeline + jury variant from 2023-01) vs current results", timeline, None),
        ("versions: pix-v2-2024-05 vs pix-v2-2021-04, both forced", forced.get("pix-v2-2024-05"), forced.get("pix-v2-2021-04")),
        ("named version pix-v2-2017-12 forced vs current results", forced.get("pix-v2-2017-12"), None),
    ]


PUBLIC = ("status", "reasons", "error", "reproducibility_rate", "pix_score", "rule_version", "competences")


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f}s (min {min(values):.2f})"


def run(sizes: list[int], runs: int, sample: int) -> None:
    import numpy as np

    from ledger.rules import RuleTimeline
    from ledger.scoring import CertificationFacts, score
    from projections.vector_scoring import ResultColumns, rules_callable, score_columns
    from projections.vector_whatif import fast_compare
    from projections.whatif import compare

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start (shared: figures are noisy)")
    modes = _modes()
    for size in sizes:
        print(f"\n=== {size:,} certifications (simulated: {', '.join(chunk_names(size))}) ===")
        pop = Population(size)
        inputs = pop.inputs
        t = time.perf_counter()
        current = score_columns(inputs, RuleTimeline.builtin())
        current_time = time.perf_counter() - t
        built = f"build compact from facts JSON {pop.built:.1f}s (first time, then cached); " if pop.built else ""
        print(f"load (excluded): {built}.npz load {pop.loaded:.2f}s; current results as columns {current_time:.2f}s "
              f"(stand-in for the projection's table: vector-scored under the built-in timeline, checked below)")
        print(f"  {inputs.n:,} certifications, {len(inputs.g_comp):,} competence groups, {len(inputs.q_key):,} questions, "
              f"{len(inputs.i_cert):,} incident reports that a version could resolve; "
              f"anomalies left to the reference: {int(inputs.anomaly.sum())}")
        rng = random.Random(size)
        picked = sorted(rng.sample(range(inputs.n), min(sample, inputs.n)))
        ids = [inputs.cert_ids[i] for i in picked]
        facts = {cid: CertificationFacts.model_validate(f) for cid, f in pop.facts_for(ids).items()}
        rows = [(cid, inputs.started_at(i), facts[cid]) for i, cid in zip(picked, ids)]
        current_sample = pop.current_for(ids)
        for i, cid in zip(picked, ids):  # the stand-in is what the reference gives
            want = current_sample[cid]
            assert current.side(i, inputs) == {k: want[k] for k in PUBLIC}, cid
        sub = inputs.take(np.array(picked))
        timeline = RuleTimeline.builtin()
        t = time.perf_counter()
        for _, at, f in rows:
            score(f, timeline.in_force(at))
        per_score = (time.perf_counter() - t) / len(rows)
        print(f"reference score(): {per_score * 1e6:.0f} µs per certification (sample of {len(rows)}, same run)")
        for label, after, before in modes:
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                report = fast_compare(inputs, current, after, baseline_for=before, facts_for=pop.facts_for,
                                      current_for=pop.current_for, details=20)
                times.append(time.perf_counter() - t)
            t = time.perf_counter()
            want = compare(rows, current_sample, rules_callable(after),
                           baseline_for=None if before is None else rules_callable(before))
            per_ref = (time.perf_counter() - t) / len(rows)
            got = fast_compare(sub, ResultColumns.from_results(sub, current_sample), after, baseline_for=before,
                               facts_for=lambda ids: {i: facts[i] for i in ids},
                               current_for=lambda ids: {i: current_sample.get(i) for i in ids}, details=None)
            assert got == want, f"{label}: the vectorised report differs from the reference on the sample"
            fast = statistics.median(times)
            print(f"{label}:\n  what-if (scoring + comparison, 20 changes explained) {_median(times)}; "
                  f"changed {report.changed:,} of {report.compared:,}; scored under {len(report.scored_under)} versions\n"
                  f"  reference compare(): {per_ref * 1e6:.0f} µs per certification -> {per_ref * inputs.n:,.0f}s "
                  f"extrapolated; speed-up x{per_ref * inputs.n / fast:,.0f}; identical to the reference on the "
                  f"sample of {len(rows)} (every change)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--chunks", type=int, default=10)
    gen.add_argument("--jobs", type=int, default=1, help="processes simulating chunks at once")
    bench = sub.add_parser("run")
    bench.add_argument("--sizes", default="10000,100000,1000000")
    bench.add_argument("--runs", type=int, default=3)
    bench.add_argument("--sample", type=int, default=1000, help="certifications the reference scores, same run")
    bench.add_argument("--jobs", type=int, default=1, help="processes simulating missing chunks at once")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.chunks, args.jobs)
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        generate(max(1, max(sizes) // CHUNK), args.jobs)
        run(sizes, args.runs, args.sample)


if __name__ == "__main__":
    main()
