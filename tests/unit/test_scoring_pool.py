"""A page's rescorings scored as one batch, in this process or shared with worker
processes, give the same results and history as the reference score() one by one."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from commands.simulation import simulate_events
from ledger.rule_stream import genesis_events
from ledger.rules import RuleTimeline
from ledger.scoring import CertificationFacts, score
from projections.fold import ProjectionError, ResultsFold
from projections.scoring_pool import ScoringPool, score_batch
from tests.unit.test_results_fold import _entries

START = datetime(2024, 1, 8, 8, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def entries():
    return _entries([*genesis_events(), *simulate_events(120, 3, START)])


def _history(fold: ResultsFold) -> dict[str, list[tuple]]:
    return {c: [(h.seq, h.cause, h.detail, h.position, orjson.dumps(h.result)) for h in hs]
            for c, hs in fold.histories.items()}


def test_worker_processes_score_as_this_process_does(entries):
    with ScoringPool(workers=2, min_parallel=2) as pool:
        shared = ResultsFold(keep_history=True, scorer=pool).apply_all(entries)
        assert pool._procs  # the batch really went to another process
    alone = ResultsFold(keep_history=True).apply_all(entries)
    assert _history(shared) == _history(alone) and _history(alone)
    assert {c: s.result_json for c, s in shared.certs.items()} == {c: s.result_json for c, s in alone.certs.items()}


def test_workers_run_this_code_whatever_the_working_directory(entries, tmp_path, monkeypatch):
    # A directory holding another `projections` package, as another checkout would: its
    # worker module answers nothing sensible.
    decoy = tmp_path / "projections"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("")
    (decoy / "scoring_pool.py").write_text("import sys\nsys.stdout.buffer.write(b'decoy')\n")
    monkeypatch.chdir(tmp_path)
    with ScoringPool(workers=2, min_parallel=2) as pool:
        shared = ResultsFold(keep_history=True, scorer=pool).apply_all(entries)
        assert pool._procs
    alone = ResultsFold(keep_history=True).apply_all(entries)
    assert _history(shared) == _history(alone) and _history(alone)


def test_each_batched_result_is_the_reference_score(entries):
    fold = ResultsFold(keep_history=True)
    timeline = RuleTimeline.builtin()
    checked = 0
    for position, stream, state in entries:  # a page per event: every result is checked when decided
        fold.apply_all([(position, stream, state)])
        for entry in fold.new_history:
            cert = fold.certs[entry.certification_id]
            if entry.seq == cert.seq:
                expected = score(CertificationFacts.model_validate(cert.facts), timeline.in_force(cert.started_at))
                assert cert.result_json == expected.model_dump_json()
                assert entry.result == expected.model_dump(mode="json", exclude={"explanation"})
                checked += 1
        fold.clear_changes()
    assert checked > 100


def test_a_scoring_problem_names_the_certification_and_the_position(entries):
    def broken(tasks, rules):
        return [(None, None, "boom") for _ in tasks]

    with pytest.raises(ProjectionError, match=r"cannot score \S+ at log position \d+ \(first scoring\): boom"):
        ResultsFold(scorer=broken).apply_all(entries)


def test_score_batch_reports_bad_facts_without_raising():
    rules = RuleTimeline.builtin().versions()[-1]
    [(outcome, result_json, problem)] = score_batch([(b'[1, 2]', rules.version)],
                                                    {rules.version: rules})
    assert outcome is None and result_json is None and "validation error" in problem


def test_workers_stop_with_the_pool_even_when_it_ends_in_error(entries):
    with pytest.raises(KeyboardInterrupt):
        with ScoringPool(workers=2, min_parallel=2) as pool:
            ResultsFold(scorer=pool).apply_all(entries)
            procs = list(pool._procs)
            raise KeyboardInterrupt
    assert procs and all(p.poll() is not None for p in procs)


def test_a_worker_that_died_is_named_and_the_pool_is_not_reused_out_of_step():
    rules = RuleTimeline.builtin().versions()[-1]
    facts = [(orjson.dumps({"certification_id": f"c{i}"}), rules.version) for i in range(6)]
    with ScoringPool(workers=2, min_parallel=2) as pool:
        assert len(pool(facts, {rules.version: rules})) == len(facts)
        worker = pool._procs[0]
        worker.kill()
        worker.wait()
        with pytest.raises(RuntimeError, match="a scoring worker stopped"):
            pool(facts, {rules.version: rules})
        assert pool._procs == []  # closed: the next big batch starts fresh workers
        assert len(pool(facts, {rules.version: rules})) == len(facts)


def test_the_pool_counts_the_cores_this_process_may_use():
    from projections.scoring_pool import MAX_WORKERS, usable_cores

    assert 1 <= usable_cores() <= MAX_WORKERS


def test_flushing_at_any_moment_changes_nothing(entries, monkeypatch):
    whole = ResultsFold(keep_history=True).apply_all(entries)
    monkeypatch.setattr("projections.fold.FLUSH_AT", 2)  # mid-page, mid-finalisation, mid-rule-change
    often = ResultsFold(keep_history=True).apply_all(entries)
    assert _history(often) == _history(whole)
    assert {c: s.result_json for c, s in often.certs.items()} == {c: s.result_json for c, s in whole.certs.items()}


def test_a_frame_cut_short_reads_as_the_end_of_the_stream():
    """A worker that stops mid-answer is reported as stopped, not as a truncated pickle."""
    import io

    from projections.workers import read_frame, write_frame

    whole = io.BytesIO()
    write_frame(whole, b"0123456789")
    data = whole.getvalue()
    assert read_frame(io.BytesIO(data)) == b"0123456789"
    assert read_frame(io.BytesIO(data[:-1])) is None
    assert read_frame(io.BytesIO(data[:5])) is None
    assert read_frame(io.BytesIO(b"")) is None
