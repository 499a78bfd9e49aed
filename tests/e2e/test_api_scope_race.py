"""A centre's limit is judged with the ledger's rules, on the same states: a certification
another centre starts after the pre-check cannot be written to (review finding F2)."""

from __future__ import annotations

import pytest

from api.scope import Scope
from api.tokens import Principal
from commands.bootstrap import open_ledger
from commands.group_commit import enable_group_commit
from commands.recording import BatchRejected
from tests.builders import Scenario, events


@pytest.mark.parametrize("grouped", [False, True], ids=["one by one", "group commit"])
def test_a_centre_cannot_append_to_another_centres_certification_started_meanwhile(pg_url, clock, grouped):
    a = Principal(token_id="ta", role="centre", centre_id="centre-a")
    with open_ledger(pg_url, clock=clock) as ledger:
        committer = enable_group_commit(ledger.service) if grouped else None  # as the API on PostgreSQL
        theirs = Scenario("s-b")
        ledger.service.record(events([theirs.open("centre-b")]), by="b")
        fact = events([theirs.line("FraudReported", certification_id="b-cert-7", report_id="r", reported_by="x")])
        # The pre-check sees an unknown certification and lets the ledger decide…
        assert Scope(ledger.store).refusals(a, fact) == []
        # …then centre B starts it, before A's batch is judged.
        ledger.service.record(events([theirs.start("b-cert-7")]), by="b")
        head = ledger.store.max_position()
        with pytest.raises(BatchRejected) as info:
            ledger.service.record(fact, by=a.recorder(), guard=Scope.centre_guard(a))
        assert [e.code for e in info.value.errors] == ["out-of-scope"]
        assert ledger.store.max_position() == head
        # Its own session's facts still pass the same guard.
        mine = Scenario("s-a")
        report = ledger.service.record(events([mine.open("centre-a"), mine.start("a-cert-1")]), by=a.recorder(),
                                       guard=Scope.centre_guard(a))
        assert report.appended == 2
        if committer is not None:
            assert committer.stats.refused == 1 and committer.stats.commands == 4
            committer.close()
