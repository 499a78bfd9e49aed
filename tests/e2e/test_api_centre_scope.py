"""What a centre's refusal tells it of another centre: that a line is not its to write,
never whose it is (a 403 named the other centre; a certification's refusal named its
session). And facts dated before what they close (TestClient, PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from commands.bootstrap import open_ledger
from ledger.streams import certification_stream
from tests.builders import JURY, Scenario
from tests.e2e.api_support import T0, world  # noqa: F401 (fixture)


def test_a_centre_starting_a_certification_id_another_centre_holds_is_told_the_id_is_taken(world):
    b = Scenario("sB2", start=T0 + timedelta(hours=2))
    response = world.post_events("centre-B", [b.open("centre-B"), b.start("a8")])  # a8: centre-A's, in sA2
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "certification-already-started" and body["field"] == "certification_id", body
    assert "centre-A" not in response.text and "sA2" not in response.text


def test_a_centre_writing_to_another_centres_certification_learns_not_its_session(world):
    b = Scenario("sB1", start=T0 + timedelta(hours=2))
    response = world.post_events("centre-B", [{**b.answer("a8", "a8-q1"), "event_id": "b-on-a8"}])
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["field"] == "certification_id" and "certification a8 belongs to another centre's session" in body["detail"]
    assert "sA2" not in response.text and "centre-A" not in response.text


def test_a_finalisation_or_a_publication_dated_before_what_it_follows_is_refused(world):
    """A finalisation dated 2020 of a session opened in 2024 was accepted, and so was a
    publication dated before the finalisation."""
    a2 = Scenario("sA2", start=T0 - timedelta(days=1))
    response = world.post_events("centre-A", [{**a2.finalise({"a8": "technical"}), "event_id": "early-final"}])
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == ("fact-dated-out-of-order", "at")
    assert "before the last fact of the tests of session sA2" in response.json()["detail"]
    b1 = Scenario("sB1", start=T0 - timedelta(days=1))
    response = world.post_events("jury", [{**b1.publish(), "event_id": "early-publication"}])
    assert response.status_code == 422, response.text
    assert (response.json()["code"], response.json()["field"]) == ("fact-dated-out-of-order", "at")
    assert "before session sB1 was finalised" in response.json()["detail"]


def test_a_refusal_says_whether_its_errors_list_every_line_refused(world):
    """A 422 listed the first 50 refused lines with only "(50+ lines refused)" in its text
    to say there were more; a 403 listed every line (789 KB for 5,000)."""
    b = Scenario("sB1", start=T0 + timedelta(hours=3))
    unserved = [{**b.answer("b1", f"nope-{n}"), "event_id": f"unserved-{n}"} for n in range(60)]
    many = world.post_events("centre-B", unserved)
    assert many.status_code == 422 and many.json()["truncated"] is True
    assert len(many.json()["errors"]) == 50
    few = world.post_events("centre-B", unserved[:3])
    assert few.status_code == 422 and few.json()["truncated"] is False and len(few.json()["errors"]) == 3
    forbidden = world.post_events("centre-B", [{**line, "certification_id": "a1"} for line in unserved])
    assert forbidden.status_code == 403 and forbidden.json()["truncated"] is True
    assert len(forbidden.json()["errors"]) == 50 and "60 line(s) not allowed" in forbidden.json()["detail"]


def test_a_403_lists_the_batchs_other_refused_lines_beside_the_forbidden_ones(world):
    """It listed the forbidden line alone: a client needed a round trip per kind of problem."""
    b = Scenario("sB1", start=T0 + timedelta(hours=4))
    batch = [{**b.answer("b1", "nope"), "event_id": "mixed-1"},             # the rules refuse it (sB1 is finalised)
             {**b.answer("a1", "a1-q1"), "event_id": "mixed-2"},            # another centre's
             {**b.answer("b1", "b1-1.1-0", "okk"), "event_id": "mixed-3"}]  # unreadable
    for body in (batch, batch[:2]):  # with and without an unreadable line
        response = world.post_events("centre-B", body)
        assert response.status_code == 403, response.text
        listed = [(e["line"], e["code"]) for e in response.json()["errors"]]
        expected = [(1, "session-finalised"), (2, "forbidden"), (3, "invalid-field")][:len(body)]
        assert listed == expected, listed
        assert response.json()["line"] == 2 and response.json()["field"] == "certification_id"
        assert "1 line(s) not allowed for this token, and" in response.json()["detail"]


def test_a_403_counts_the_other_refusals_it_could_not_list(world):
    """One forbidden line beside 60 refused by the rules answered truncated: false and "49
    other line(s)": the rules' own list had stopped at 50."""
    b = Scenario("sB1", start=T0 + timedelta(hours=5))
    batch = [{**b.answer("a1", "a1-q1"), "event_id": "many-0"}]
    batch += [{**b.answer("b1", f"nope-{n}"), "event_id": f"many-{n + 1}"} for n in range(60)]
    response = world.post_events("centre-B", batch)
    assert response.status_code == 403 and response.json()["truncated"] is True, response.text
    assert "other line(s) the ledger's rules refuse" in response.json()["detail"]
    assert "+ other line(s)" in response.json()["detail"] and len(response.json()["errors"]) == 50


def test_a_copy_of_another_centres_fact_is_forbidden_not_skipped(world):
    """The guard ran after the event_id lookup: a line equal to one of another centre's
    recorded facts was skipped as already recorded, so beside a refused start of that
    certification (whose session the pre-check then took for an unknown one) the answer
    listed a wrong guess (event-id-conflict) and not the right one: an oracle of what the
    other centre had recorded, its candidates' answers among them."""
    with open_ledger(world.url) as ledger:
        answers = [rec.event.to_line() for rec in ledger.store.read_stream(certification_stream("a1"))
                   if rec.event.type == "AnswerRecorded"]
    right = answers[0]
    wrong = {**right, "status": "ko" if right["status"] != "ko" else "ok"}
    b = Scenario("sB-nowhere", start=T0 + timedelta(hours=6))
    start = {**b.start("a1"), "event_id": "oracle-start"}  # a session no one opened: the pre-check lets it by
    response = world.post_events("centre-B", [start, right, wrong])
    assert response.status_code == 403, response.text
    listed = {e["line"]: e["code"] for e in response.json()["errors"]}
    assert listed.get(2) == "forbidden" and listed.get(3) == "forbidden", listed
    assert "event-id-conflict" not in response.text


def test_lines_a_token_may_never_append_are_not_judged_by_the_ledgers_rules(world, monkeypatch):
    """They were: a centre's 5,000 rule versions, each a document to validate against a
    timeline growing with the batch's earlier ones, held the server 27 s for a 403."""
    import commands.recording as recording

    judged = []
    check = recording.check
    monkeypatch.setattr(recording, "check", lambda event, ctx: judged.append(event.type) or check(event, ctx))
    b = Scenario("sB1", start=T0 + timedelta(hours=7))
    version = {"type": "RuleVersionChanged", "version": "centre-b-rules", "effective_from": "2030-01-01T00:00:00Z",
               "rules": {"extends": "pix-v2-2024-05", "max_reachable_level": 6}, "jury": JURY,
               "at": "2024-06-20T09:00:00Z"}
    neutralise = b.line("QuestionNeutralised", certification_id="b1", question_id="b1-1.1-0", by="pix-1", reason="r")
    batch = [version, {**b.answer("b1", "nope"), "event_id": "never-1"}, {**neutralise, "event_id": "never-2"}]
    response = world.post_events("centre-B", batch)
    assert response.status_code == 403, response.text
    listed = [(e["line"], e["code"]) for e in response.json()["errors"]]
    assert listed == [(1, "forbidden"), (2, "session-finalised"), (3, "forbidden")], listed
    assert judged == ["AnswerRecorded"], judged


def test_a_line_of_a_type_the_token_may_never_append_is_forbidden_even_when_it_does_not_validate(world):
    """A centre's jury ruling with malformed `jury` items was a 422 about `jury.0`: the
    token's right to append the type is judged before the line's fields."""
    b = Scenario("sB1", start=T0 + timedelta(hours=8))
    ruling = {**b.line("JuryRuling", ruling_id="centre-ruling", decision="comment", comment="c"),
              "jury": ["pix-1", "ext-1"], "event_id": "malformed-1"}
    response = world.post_events("centre-B", [ruling, {**b.answer("b1", "b1-1.1-0", "okk"), "event_id": "malformed-2"}])
    assert response.status_code == 403, response.text
    listed = [(e["line"], e["code"], e["field"]) for e in response.json()["errors"]]
    assert listed[0] == (1, "forbidden", "type") and listed[1][:2] == (2, "invalid-field"), listed
    assert "the centre role may not append JuryRuling" in response.json()["errors"][0]["detail"]
    # A type it may append, malformed, is still a 422 naming the field.
    alone = world.post_events("centre-B", [{**b.answer("b1", "b1-1.1-0", "okk"), "event_id": "malformed-3"}])
    assert alone.status_code == 422 and alone.json()["errors"][0]["field"] == "status", alone.text


def test_a_centre_opening_another_centres_session_is_told_in_words_that_name_its_own_centre(world):
    """A token of a centre whose id reads as a word ("other") was told "a other token may
    not open a session …": the centre's id was put where an adjective goes."""
    c = Scenario("sB9", start=T0 + timedelta(hours=2))
    response = world.post_events("centre-B", [c.open("centre-A")])
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["field"] == "centre_id", body
    assert "a token of centre centre-B may not open a session for centre centre-A" in body["detail"], body
