"""Group commit on PostgreSQL: concurrent commands in one transaction, each with its own
outcome, judged exactly as `LedgerService.record` judges them."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest

from commands.bootstrap import open_ledger
from commands.group_commit import GroupCommitter, enable_group_commit
from commands.recording import BatchRejected
from commands.simulation import simulate_events
from ledger.errors import DomainError
from storage.errors import EventIdAlreadyRecorded, StreamVersionConflict
from tests.builders import JURY, Scenario, events
from tests.conftest import throwaway_database

pytestmark = pytest.mark.postgres

START = datetime(2024, 1, 8, 8, tzinfo=timezone.utc)


def _stored(ledger) -> list[tuple]:
    """The log without the genesis rule versions: (stream, version, event line)."""
    return [(r.stream, r.version, r.event.to_line()) for r in ledger.store.iter_log() if r.stream != "rules"]


def _by_stream(rows: list[tuple]) -> dict[str, list]:
    streams: dict[str, list] = {}
    for stream, version, line in rows:
        streams.setdefault(stream, []).append((version, line))
    return streams


@contextmanager
def _paused(ledger):
    """A committer whose first group is everything submitted inside the block."""
    committer = GroupCommitter(ledger.service, start=False)
    ledger.service.committer = committer
    yield committer
    committer.start()


def test_commands_submitted_together_are_written_in_one_transaction_each_with_its_outcome(pg_url):
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1"), s.start("c2")]), by="test")
        with _paused(ledger) as committer:
            a = committer.submit(events([s.serve("c1", "q1")]), by="centre-a")
            b = committer.submit(events([s.serve("c2", "q1")]), by="centre-b")
            c = committer.submit(events([s.answer("c1", "q1")]), by="centre-a")  # needs a, same group
        assert [f.result().appended for f in (a, b, c)] == [1, 1, 1]
        assert c.result().streams == {"certification:c1"}
        committer.close()
        assert committer.stats.groups == 1 and committer.stats.commands == 3
        recorders = {(r.stream, r.version): r.recorded_by for r in ledger.store.iter_log()}
        assert recorders[("certification:c1", 3)] == "centre-a" and recorders[("certification:c2", 2)] == "centre-b"


def test_a_refused_command_is_answered_with_its_errors_and_the_rest_of_its_group_is_written(pg_url):
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        with _paused(ledger) as committer:
            good = committer.submit(events([s.serve("c1", "q1")]), by="t")
            bad = committer.submit(events([s.serve("c1", "q2"), s.answer("c1", "never-served")]), by="t")
            after = committer.submit(events([s.serve("c1", "q2")]), by="t")  # only valid if bad left nothing
        assert good.result().appended == 1
        with pytest.raises(BatchRejected) as refused:
            bad.result()
        assert [(e.line, e.field) for e in refused.value.errors] == [(2, "question_id")]
        assert after.result().appended == 1
        committer.close()
        cert = _by_stream(_stored(ledger))["certification:c1"]
        assert [(v, line["type"], line.get("question_id")) for v, line in cert] == [
            (1, "CertificationStarted", None), (2, "QuestionServed", "q1"), (3, "QuestionServed", "q2")]


def test_a_stream_written_by_another_process_meanwhile_is_read_again_and_the_group_retried(pg_url, monkeypatch):
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")  # the committer caches c1
        intruder = events([s.serve("c1", "q1")])
        real_append, calls = ledger.store.append, []

        def append_after_an_intrusion(records, **kwargs):
            if not calls:  # between the committer's read and its write, another writer appends
                other.service.record(intruder, by="other")
            calls.append(1)
            return real_append(records, **kwargs)

        monkeypatch.setattr(ledger.store, "append", append_after_an_intrusion)
        report = ledger.service.record(events([s.serve("c1", "q2")]), by="test")
        assert report.appended == 1 and committer.stats.retries == 1
        with pytest.raises(DomainError):  # judged again against the stream as it now is
            ledger.service.record_one(events([s.serve("c1", "q1")])[0], by="test")
        committer.close()
        cert = _by_stream(_stored(ledger))["certification:c1"]
        assert [(v, line.get("question_id")) for v, line in cert] == [(1, None), (2, "q1"), (3, "q2")]


def _write_after(ledger, monkeypatch, intrude, refusal: type[Exception]) -> list[Exception]:
    """Make `intrude()` (another process's write) run between the committer's read and its
    first write, and collect what that write is refused with."""
    real_append, refused, intruded = ledger.store.append, [], []

    def append_after_an_intrusion(records, **kwargs):
        if not intruded:
            intrude()
            intruded.append(1)
        try:
            return real_append(records, **kwargs)
        except refusal as error:
            refused.append(error)
            raise

    monkeypatch.setattr(ledger.store, "append", append_after_an_intrusion)
    return refused


def test_a_stream_judged_against_and_moved_before_the_write_is_caught_by_the_write(pg_url, monkeypatch):
    """The committer writes in one statement (migration 016) that checks, under the write
    lock, the streams its commands were judged against without writing them: here the
    session's, finalised by another process between the committer's read and its write.
    Nothing of the group is written; judged again, the serve is refused."""
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")  # the committer caches s1, c1
        moved = _write_after(ledger, monkeypatch, lambda: other.service.record(
            events([s.finalise({"c1": "candidate"})]), by="other"), StreamVersionConflict)
        with pytest.raises(BatchRejected, match="finalised"):
            ledger.service.record(events([s.serve("c1", "q1")]), by="test")
        committer.close()
        assert [str(e) for e in moved] == ["streams read by this batch moved meanwhile: session:s1"]
        assert committer.stats.retries == 1
        assert [v for v, _ in _by_stream(_stored(ledger))["certification:c1"]] == [1]


def test_a_session_that_gained_a_certification_before_a_finalisation_was_written_is_judged_again(pg_url, monkeypatch):
    """The one-statement write checks memberships too: a finalisation judged on the
    session's one certification, while another process starts a second, is not
    written as judged; judged again, it is refused (dated before the new start)."""
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), *s.full_test("c1")]), by="test")
        moved = _write_after(ledger, monkeypatch, lambda: other.service.record(
            events([s.start("c2")]), by="other"), StreamVersionConflict)
        with pytest.raises(BatchRejected, match="before the last fact of the tests of session s1"):
            ledger.service.record(events([s.finalise()]), by="test")
        committer.close()
        assert [str(e) for e in moved] == ["streams read by this batch moved meanwhile: members:s1"]
        assert "SessionFinalised" not in {line["type"] for _, _, line in _stored(ledger)}


def test_an_event_id_recorded_by_another_process_before_the_write_is_skipped_when_judged_again(pg_url, monkeypatch):
    """The one-statement write refuses an event id another writer recorded meanwhile
    (the id index), as the id it is: the group is judged again and the line skipped."""
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        line = s.serve("c1", "q1")
        refused = _write_after(ledger, monkeypatch, lambda: other.service.record(events([line]), by="other"),
                               EventIdAlreadyRecorded)
        report = ledger.service.record(events([line]), by="test")
        committer.close()
        assert len(refused) == 1 and "certledger_event_ids_pkey" in str(refused[0])
        assert (report.appended, report.skipped, committer.stats.retries) == (0, 1, 1)
        assert [v for v, _ in _by_stream(_stored(ledger))["certification:c1"]] == [1, 2]


def test_the_same_event_id_twice_in_one_group_is_recorded_once(pg_url):
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        line = s.serve("c1", "q1")
        with _paused(ledger) as committer:
            first = committer.submit(events([line]), by="t")
            again = committer.submit(events([line]), by="t")
        assert (first.result().appended, again.result().skipped) == (1, 1)
        committer.close()
        assert len(_by_stream(_stored(ledger))["certification:c1"]) == 2


def test_an_id_another_command_of_the_group_took_is_not_said_to_be_this_batchs(pg_url):
    """The unit of a group holds every command's ids: one client was told that "an earlier
    line of this batch" held the id another client's batch had taken."""
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        line = s.serve("c1", "q1")
        with _paused(ledger) as committer:
            first = committer.submit(events([line]), by="a")
            other = committer.submit(events([{**line, "question_id": "q2"}]), by="b")
            own = committer.submit(events([s.serve("c1", "q3"), {**s.serve("c1", "q4"), "event_id": "twice"},
                                           {**s.serve("c1", "q5"), "event_id": "twice"}]), by="c")
        assert first.result().appended == 1
        with pytest.raises(BatchRejected) as refused:
            other.result()
        assert "another batch, recorded in the same transaction, has it" in refused.value.errors[0].message
        with pytest.raises(BatchRejected) as refused:
            own.result()
        assert "an earlier line of this batch has it" in refused.value.errors[0].message
        committer.close()


def test_a_ruling_id_in_one_group_names_one_decision_and_a_refused_command_frees_it(pg_url):
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), *s.full_test("c1"), *s.full_test("c2"), s.finalise()]), by="test")
        cancel = s.line("JuryRuling", ruling_id="r-9", decision="cancel", certification_id="c1", jury=JURY)
        with _paused(ledger) as committer:
            # refused for another line of its batch: its ruling id goes back with it
            freed = committer.submit(events([cancel, s.answer("c1", "never-served")]), by="t")
            taken = committer.submit(events([cancel]), by="t")
            clash = committer.submit(events([{**cancel, "event_id": "e-clash", "certification_id": "c2"}]), by="t")
            again = committer.submit(events([{**cancel, "event_id": "another-id"}]), by="t")
        with pytest.raises(BatchRejected):
            freed.result()
        assert taken.result().appended == 1
        with pytest.raises(BatchRejected) as refused:
            clash.result()
        assert [(e.field, e.code) for e in refused.value.errors] == [("ruling_id", "ruling-id-conflict")]
        assert (again.result().appended, again.result().skipped) == (0, 1)
        committer.close()
        assert [line["ruling_id"] for _, _, line in _stored(ledger) if line["type"] == "JuryRuling"] == ["r-9"]


def test_concurrent_clients_through_the_committer_record_what_one_by_one_recording_records(pg_url, pg_server):
    seeds = (11, 12, 13)
    streams = {seed: list(simulate_events(2, seed, START)) for seed in seeds}
    with open_ledger(pg_url) as ledger:
        committer = enable_group_commit(ledger.service)
        failures: list[BaseException] = []

        def client(seed: int) -> None:
            try:
                for event in streams[seed]:
                    ledger.service.record([event], by=f"client-{seed}")
            except BaseException as e:  # pragma: no cover - reported below
                failures.append(e)

        threads = [threading.Thread(target=client, args=(seed,)) for seed in seeds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        committer.close()
        assert not failures
        assert committer.stats.groups < committer.stats.commands  # some groups held several commands
        grouped = _by_stream(_stored(ledger))
    with _another_database(pg_server, pg_url) as reference_url, open_ledger(reference_url) as reference:
        for seed in seeds:
            for event in streams[seed]:
                reference.service.record([event], by=f"client-{seed}")
        assert grouped == _by_stream(_stored(reference))


def _another_database(pg_server: str, pg_url: str):
    return throwaway_database(pg_server, pg_url.rsplit("/", 1)[1] + "_ref", migrate=True)


def test_closing_the_committer_gives_record_back_to_the_service(pg_url):
    with open_ledger(pg_url) as ledger:
        committer = enable_group_commit(ledger.service)
        s = Scenario("s1")
        ledger.service.record(events([s.open()]), by="test")
        committer.close()
        assert ledger.service.committer is None
        ledger.service.record(events([s.start("c1")]), by="test")
        assert committer.stats.commands == 1
        with pytest.raises(RuntimeError):
            committer.submit(events([s.start("c2")]), by="test")


def test_a_command_cancelled_before_its_group_is_taken_is_not_written(pg_url):
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        with _paused(ledger) as committer:
            dropped = committer.submit(events([s.serve("c1", "q1")]), by="t")
            assert dropped.cancel()
            kept = committer.submit(events([s.serve("c1", "q2")]), by="t")
        assert kept.result().appended == 1
        committer.close()
        cert = _by_stream(_stored(ledger))["certification:c1"]
        assert [line.get("question_id") for _, line in cert] == [None, "q2"]


def test_a_command_outside_its_writers_limit_is_refused_alone(pg_url):
    from ledger.errors import DomainError as Refused

    def only_s1(event, ctx):  # a writer's own limit, as an API token's centre guard
        if getattr(event, "session_id", None) not in (None, "s1") or getattr(event, "certification_id", "c1") != "c1":
            raise OutOfLimit("not yours")

    class OutOfLimit(Refused):
        code = "out-of-scope"

    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1"), s.start("c2")]), by="test")
        with _paused(ledger) as committer:
            mine = committer.submit(events([s.serve("c1", "q1")]), by="centre-a", guard=only_s1)
            theirs = committer.submit(events([s.serve("c2", "q1")]), by="centre-a", guard=only_s1)
            free = committer.submit(events([s.serve("c2", "q1")]), by="jury")
        assert mine.result().appended == 1 and free.result().appended == 1
        with pytest.raises(BatchRejected) as refused:
            theirs.result()
        assert [(e.line, e.code) for e in refused.value.errors] == [(1, "out-of-scope")]
        committer.close()
        assert committer.stats.groups == 1


def test_a_command_the_database_refuses_takes_none_of_its_group_down(pg_url):
    """A value only the database checks fails the group's transaction: each command is
    then written alone, and only the faulty one is answered with the error."""
    from eventsourcing.persistence import DataError

    from ledger.events import SessionOpened

    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        # Past the model's checks (as a value the model does not know to refuse would be):
        # PostgreSQL's text cannot hold U+0000.
        faulty = SessionOpened.model_construct(session_id="bad\x00", centre_id="c", at=START, event_id=None)
        with _paused(ledger) as committer:
            good = committer.submit(events([s.open()]), by="t")
            bad = committer.submit([faulty], by="t")
            after = committer.submit(events([s.start("c1")]), by="t")
        assert good.result().appended == 1 and after.result().appended == 1
        with pytest.raises(DataError, match="NUL|0x00"):  # (psycopg refuses it in text, the server in binary)
            bad.result()
        committer.close()
        assert committer.stats.isolated == 1
        assert [line["type"] for _, _, line in _stored(ledger)] == ["SessionOpened", "CertificationStarted"]


def test_a_group_whose_write_fails_for_another_reason_is_answered_once(pg_url, monkeypatch):
    """Only a value the database refuses is isolated command by command: a lost
    connection retried once per command made every caller wait out the failure N times."""
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1"), s.start("c2")]), by="test")
        attempts = []

        def unreachable(records, **kwargs):
            attempts.append(1)
            raise ConnectionError("the server went away")

        with _paused(ledger) as committer:
            monkeypatch.setattr(ledger.store, "append", unreachable)
            futures = [committer.submit(events([s.serve(c, f"{c}-q1")]), by="t") for c in ("c1", "c2")]
        for future in futures:
            with pytest.raises(ConnectionError):
                future.result()
        committer.close()
        assert len(attempts) == 1 and committer.stats.isolated == 0


def _reads(ledger, monkeypatch) -> list[set[str]]:
    """The streams of each read the committer makes before judging a group."""
    committer, reads = ledger.service.committer, []
    real_catch_up = committer.cache.catch_up

    def counted(store, streams, event_ids):
        reads.append(set(streams))
        return real_catch_up(store, streams, event_ids)

    monkeypatch.setattr(committer.cache, "catch_up", counted)
    return reads


def test_a_group_on_streams_the_committer_holds_is_judged_without_a_read(pg_url, monkeypatch):
    """The committer's own writes keep its states current: a group naming only streams
    it holds is judged on them, and the write's checks stand in for the read."""
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")  # read, then held
        reads = _reads(ledger, monkeypatch)
        assert ledger.service.record(events([s.serve("c1", "q1"), s.answer("c1", "q1")]), by="test").appended == 2
        assert ledger.service.record(events([s.start("c2")]), by="test").appended == 1  # a new stream: read
        committer.close()
        assert len(reads) == 1 and "certification:c2" in reads[0]
        assert (committer.stats.unread, committer.stats.unread_missed, committer.stats.retries) == (1, 0, 0)
        assert [line["type"] for _, line in _by_stream(_stored(ledger))["certification:c1"]] == [
            "CertificationStarted", "QuestionServed", "AnswerRecorded"]


def test_a_batch_sent_again_is_skipped_not_refused_when_judged_unread(pg_url, monkeypatch):
    """Event ids are not read for a group judged unread: a batch already recorded looks
    refused there (its session already opened). The group is judged again, read, and
    the batch is skipped, as `record` answers a re-sent batch."""
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        batch = events([s.open(), s.start("c1"), s.serve("c1", "q1")])
        assert ledger.service.record(batch, by="test").appended == 3
        reads = _reads(ledger, monkeypatch)
        again = ledger.service.record(batch, by="test")
        committer.close()
        assert (again.appended, again.skipped) == (0, 3)
        assert len(reads) == 1  # the attempt judged unread, then the one judged again
        assert (committer.stats.unread_missed, committer.stats.refused) == (1, 0)


def test_a_stream_another_process_moved_before_a_group_judged_unread_is_judged_again(pg_url):
    """The committer's state of a session is stale (another process finalised it): the
    serve judged on it is caught by the write's check, judged again on a fresh read and
    refused, and nothing of it is written."""
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        other.service.record(events([s.finalise({"c1": "candidate"})]), by="other")
        with pytest.raises(BatchRejected, match="finalised"):
            ledger.service.record(events([s.serve("c1", "q1")]), by="test")
        committer.close()
        assert (committer.stats.unread_missed, committer.stats.retries) == (1, 1)
        assert [v for v, _ in _by_stream(_stored(ledger))["certification:c1"]] == [1]


def test_a_stream_another_process_appended_to_is_written_at_its_next_version(pg_url):
    """Written on a stale state, the group's event would take a version another process
    took: the id index and the stream's key refuse it, and judged again on a fresh read
    it follows the other's event."""
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s = Scenario("s1")
        committer = enable_group_commit(ledger.service)
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        other.service.record(events([s.serve("c1", "q1")]), by="other")
        assert ledger.service.record(events([s.serve("c1", "q2")]), by="test").appended == 1
        committer.close()
        cert = _by_stream(_stored(ledger))["certification:c1"]
        assert [(v, line.get("question_id")) for v, line in cert] == [(1, None), (2, "q1"), (3, "q2")]
        assert committer.stats.unread_missed == 1


def test_a_stream_dropped_from_the_committers_states_while_a_group_is_judged_is_read_again(pg_url):
    """Loading a stream the group did not name (a finalised session's certifications)
    drops the least recently used state, which was one the group named: the command
    using it is judged on a fresh read, not answered with a KeyError."""
    with open_ledger(pg_url) as ledger, open_ledger(pg_url) as other:
        s, t = Scenario("s1"), Scenario("s2")
        warm = enable_group_commit(ledger.service)
        ledger.service.record(events([t.open(), t.start("d1")]), by="test")
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        other.service.record(events([s.start("c2"), s.start("c3")]), by="other")  # not in the states
        warm.close()
        cache = warm.cache
        for oldest in ("certification:d1", "session:s2"):  # held longest, used least recently
            cache._states.move_to_end(oldest, last=False)
        cache.max_size = len(cache._states)  # full: each load drops one
        for read_first in (True, False):  # a group read first, and one judged unread
            with _paused(ledger) as committer:
                committer.cache = cache
                if read_first:
                    committer.submit(events([Scenario("s3").open()]), by="test")  # a stream not held
                finalised = committer.submit(events([s.finalise({c: "candidate" for c in ("c1", "c2", "c3")})]),
                                             by="test")
                served = committer.submit(events([t.serve("d1", f"q{int(read_first)}")]), by="test")
            if read_first:
                assert finalised.result().appended == 1
            assert served.result().appended == 1
            committer.close()
            cache = committer.cache
        assert [v for v, _ in _by_stream(_stored(ledger))["certification:d1"]] == [1, 2, 3]


def test_a_refusal_whose_undoing_fails_leaves_no_state_ahead_of_the_log(pg_url, monkeypatch):
    """Undoing a refused command re-reads its streams. If that read fails, the refused
    command is answered with the failure, and the states the group's earlier commands
    changed are forgotten with it, not kept with events never written (the next
    command on the stream would be written past a gap in its versions)."""
    with open_ledger(pg_url) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), s.start("c1")]), by="test")
        real_read, failed = ledger.store.read_stream, []

        def read_failing_once(stream, *args, **kwargs):
            if stream == "certification:c1" and not failed:
                failed.append(1)
                raise ConnectionError("the server went away")
            return real_read(stream, *args, **kwargs)

        with _paused(ledger) as committer:
            first = committer.submit(events([s.serve("c1", "q1")]), by="test")
            # Its first line is judged, its second refused: undoing the first re-reads c1.
            refused = committer.submit(events([s.serve("c1", "q2"), s.answer("c1", "never-served")]), by="test")
            monkeypatch.setattr(ledger.store, "read_stream", read_failing_once)
        with pytest.raises(ConnectionError):
            refused.result()
        assert first.result().appended == 1  # judged again without it, and written
        assert failed and ledger.service.record(events([s.serve("c1", "q2")]), by="test").appended == 1
        committer.close()
        cert = _by_stream(_stored(ledger))["certification:c1"]
        assert [(v, line.get("question_id")) for v, line in cert] == [(1, None), (2, "q1"), (3, "q2")]
