"""Rule-version warnings of commands judged in one group: each command's own versions,
judged among the rules as the group's earlier commands left them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from commands.bootstrap import open_ledger
from commands.group_commit import GroupCommitter
from tests.builders import JURY, Scenario, events

pytestmark = pytest.mark.postgres


def _version(s: Scenario, name: str, effective_from: str) -> dict:
    return s.line("RuleVersionChanged", version=name, effective_from=effective_from, jury=JURY, reason="test",
                  rules={"extends": "pix-v2-2024-05", "max_reachable_level": 8})


def test_each_command_of_a_group_is_warned_of_its_own_rule_versions_only(pg_url):
    with open_ledger(pg_url) as ledger:
        s = Scenario("grp-rules", start=datetime(2024, 6, 1, tzinfo=timezone.utc))
        committer = GroupCommitter(ledger.service, start=False)
        ledger.service.committer = committer
        first = committer.submit(events([_version(s, "jury-2032-a", "2032-01-01T00:00:00Z")]), by="jury")
        second = committer.submit(events([_version(s, "jury-2032-b", "2032-01-01T00:00:00Z")]), by="jury")
        committer.start()
        assert first.result().appended == second.result().appended == 1
        committer.close()
        assert first.result().rule_version_warnings() == []
        warned = second.result().rule_version_warnings()  # raised "version 'jury-2032-a' already exists"
        assert [v for v, _ in warned] == ["jury-2032-b"]
        assert "jury-2032-a never applies" in warned[0][1]
