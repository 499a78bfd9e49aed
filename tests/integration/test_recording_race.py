"""`record` without group commit (SQLite's API, or PostgreSQL's with it off) reads a
batch's ids, then its streams, in reads of their own: a copy of the batch committed by
another writer in between looked opened and unrecorded at once."""

from __future__ import annotations

import pytest

from commands.bootstrap import open_ledger
from commands.recording import BatchRejected, _UnitOfWork
from tests.builders import Scenario, events


def _intruding(monkeypatch, other, batch) -> list[int]:
    """After the first read of ids, another writer commits `batch`."""
    real, calls = _UnitOfWork.prefetch_ids, []

    def prefetch_then_intrusion(self, evs):
        known = real(self, evs)
        calls.append(1)
        if len(calls) == 1:
            other.service.record(batch, by="other")
        return known

    monkeypatch.setattr(_UnitOfWork, "prefetch_ids", prefetch_then_intrusion)
    return calls


def test_a_copy_committed_between_the_id_read_and_the_stream_read_is_skipped(db_url, clock, monkeypatch):
    """From a review: 2-3 of 200 identical batches sent at once to two workers were
    answered 422 session-already-opened instead of skipped."""
    with open_ledger(db_url, clock=clock) as ledger, open_ledger(db_url, clock=clock) as other:
        s = Scenario("s1")
        batch = events([s.open(), s.start("c1")])
        calls = _intruding(monkeypatch, other, batch)
        report = ledger.service.record(batch, by="test")
    assert (report.appended, report.skipped) == (0, 2)
    assert len(calls) == 3  # judged twice here (the other writer's own read between)


def test_a_refusal_judged_on_a_log_that_did_not_move_is_not_judged_again(db_url, clock, monkeypatch):
    with open_ledger(db_url, clock=clock) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open()]), by="test")
        real, calls = _UnitOfWork.prefetch_ids, []
        monkeypatch.setattr(_UnitOfWork, "prefetch_ids", lambda self, evs: calls.append(1) or real(self, evs))
        with pytest.raises(BatchRejected):
            ledger.service.record(events([{**s.open(), "event_id": "another-id"}]), by="test")
    assert len(calls) == 1


def test_a_refusal_that_holds_on_fresh_reads_is_still_refused(db_url, clock, monkeypatch):
    with open_ledger(db_url, clock=clock) as ledger, open_ledger(db_url, clock=clock) as other:
        s = Scenario("s1")
        ledger.service.record(events([s.open()]), by="test")
        calls = _intruding(monkeypatch, other, events([Scenario("s2").open()]))  # the log moves, unrelated
        before = ledger.store.max_position()
        with pytest.raises(BatchRejected) as refused:
            ledger.service.record(events([{**s.open(), "event_id": "another-id"}]), by="test")
        assert ledger.store.max_position() == before + 1  # the other writer's session only
    assert [e.code for e in refused.value.errors] == ["session-already-opened"]
    assert len(calls) == 3


def test_a_refusal_on_a_log_that_keeps_moving_is_judged_again_once(db_url, clock, monkeypatch):
    """From a review: on a busy log a genuine refusal was judged up to MAX_RETRIES times,
    each time reading its streams again."""
    with open_ledger(db_url, clock=clock) as ledger, open_ledger(db_url, clock=clock) as other:
        s = Scenario("s1")
        ledger.service.record(events([s.open()]), by="test")
        real, calls = _UnitOfWork.prefetch_ids, []

        def busy(self, evs):  # another writer commits during every judging
            calls.append(1)
            if len(calls) % 2:
                other.service.record(events([Scenario(f"busy-{len(calls)}").open()]), by="other")
            return real(self, evs)

        monkeypatch.setattr(_UnitOfWork, "prefetch_ids", busy)
        with pytest.raises(BatchRejected):
            ledger.service.record(events([{**s.open(), "event_id": "another-id"}]), by="test")
    assert len(calls) == 4  # two judgings of its own, each with the other writer's between
