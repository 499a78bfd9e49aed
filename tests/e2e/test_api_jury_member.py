"""A jury token bound to one member (`tokens add --role jury --member M`): what it appends
names that member, alone, as the one who decided; an unbound jury token (the jury's
secretariat) records any member's decisions, and those of several (TestClient, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.tokens import TokenError, TokenStore
from commands.bootstrap import open_ledger
from tests.builders import JURY, Scenario
from tests.e2e.api_support import T0, world  # noqa: F401 (fixture)


def _member_token(world, member: str) -> dict[str, str]:
    with open_ledger(world.url) as ledger:
        token = TokenStore(ledger.store).add("jury", member_id=member)[1]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}


def _post(world, headers, lines):
    from tests.e2e.api_support import ndjson

    return world.client.post("/events", content=ndjson(lines), headers=headers)


def test_a_members_token_records_its_members_decisions_only(world):
    """`by` and `jury` were whatever the line said: a jury token could write a
    neutralisation "by" anyone, and the explanation then named them as who decided."""
    pix1 = _member_token(world, "pix-1")
    s = Scenario("sB1", start=T0 + timedelta(hours=9))
    theirs = {**s.line("QuestionNeutralised", certification_id="b1", question_id="b1-1.1-0", by="pix-2",
                       reason="r"), "event_id": "member-1"}
    refused = _post(world, pix1, [theirs])
    assert refused.status_code == 403, refused.text
    error = refused.json()["errors"][0]
    assert (error["field"], error["code"]) == ("by", "forbidden")
    assert "a token of jury member pix-1 may not record a decision by pix-2" in error["detail"]
    others = [m for m in JURY if m["member_id"] != "pix-1"]
    ruling = {**s.line("JuryRuling", ruling_id="member-ruling", decision="comment", comment="c", jury=others),
              "event_id": "member-2"}
    refused = _post(world, pix1, [ruling])
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "jury", refused.text
    mine = {**theirs, "by": "pix-1", "event_id": "member-3"}
    alone = [m for m in JURY if m["member_id"] == "pix-1"]
    assert _post(world, pix1, [mine, {**ruling, "jury": alone, "event_id": "member-4"}]).status_code == 200
    with open_ledger(world.url) as ledger:
        recorders = {rec.event.event_id: rec.recorded_by for rec in ledger.store.iter_log()}
    assert recorders["member-3"].startswith("api:jury:pix-1:")  # the audit's "recorded by" names the member
    # An unbound jury token records any member's decision, as before.
    assert world.post_events("jury", [{**theirs, "event_id": "member-5", "by": "pix-2",
                                       "question_id": "b1-1.1-1"}]).status_code == 200


def test_a_members_token_does_not_vouch_for_the_rest_of_the_jury(world):
    """A token of pix-1 recorded a fraud rejection naming the whole jury: the ledger then
    said four members decided what only pix-1's token vouched for. A decision of several
    members is the secretariat's to record (an unbound jury token)."""
    pix1 = _member_token(world, "pix-1")
    s = Scenario("sB1", start=T0 + timedelta(hours=9))
    fraud = {**s.line("JuryRuling", ruling_id="member-fraud", decision="reject_for_fraud", certification_id="b1",
                      comment="c", jury=JURY), "event_id": "member-6"}
    version = {**s.line("RuleVersionChanged", version="member-version", effective_from="2030-01-01T00:00:00Z",
                        rules={"extends": "pix-v2-2024-05", "max_reachable_level": 6}, jury=JURY),
               "event_id": "member-7"}
    refused = _post(world, pix1, [fraud, version])
    assert refused.status_code == 403, refused.text
    errors = refused.json()["errors"]
    assert [(e["line"], e["field"], e["code"]) for e in errors] == [(1, "jury", "forbidden"), (2, "jury", "forbidden")]
    assert errors[0]["detail"] == (
        "a token of jury member pix-1 records only what pix-1 decided alone, not a ruling naming pix-2, ext-1, "
        "ext-2: a decision of several members is recorded by the jury's secretariat, with a jury token bound "
        "to no member")
    assert "not a rule version naming pix-2, ext-1, ext-2" in errors[1]["detail"]
    with open_ledger(world.url) as ledger:
        assert not {"member-6", "member-7"} & {rec.event.event_id for rec in ledger.store.iter_log()}
    # The secretariat records it, and the audit says who recorded it.
    assert world.post_events("jury", [fraud]).status_code == 200


def test_only_a_jury_token_names_a_member():
    with pytest.raises(TokenError, match="--member is for a jury token"):
        TokenStore.add(TokenStore.__new__(TokenStore), "reader", member_id="pix-1")
    with pytest.raises(TokenError, match="--member 'pix-1 ': no leading or trailing white space"):
        TokenStore.add(TokenStore.__new__(TokenStore), "jury", member_id="pix-1 ")
    # Judged as the facts' ids are written: a name no fact could be written with.
    with pytest.raises(TokenError, match=r"--member 'pix\\xa01': no control, invisible or non-printing character"):
        TokenStore.add(TokenStore.__new__(TokenStore), "jury", member_id="pix\u00a01")
    with pytest.raises(TokenError, match="--centre 'lyon/3': no '/'"):
        TokenStore.add(TokenStore.__new__(TokenStore), "centre", centre_id="lyon/3")


def test_a_ruling_naming_the_member_twice_is_said_so():
    """From a review: it read 'not a ruling naming no one'."""
    from api.scope import _member_problem
    from tests.builders import events

    s = Scenario("sB1", start=T0)
    twice = [m for m in JURY if m["member_id"] == "pix-1"] * 2
    [ruling] = events([s.line("JuryRuling", ruling_id="twice", decision="comment", comment="c", jury=twice)])
    field, detail = _member_problem("pix-1", ruling)
    assert field == "jury" and "not a ruling naming pix-1 2 times:" in detail
