"""Appending through `POST /events`: all or nothing, within each role's scope, refusals
naming line and field (TestClient, PostgreSQL)."""

from __future__ import annotations

import gzip
from datetime import timedelta

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app as cli
from tests.builders import JURY, Scenario
from tests.e2e.api_support import T0, ndjson, ok, settings_for, world  # noqa: F401 (fixture)


def _session(world, session_id: str, centre: str = "centre-A", certs: int = 2) -> tuple[Scenario, list[dict]]:
    s = Scenario(session_id, start=T0)
    lines = [s.open(centre)]
    for n in range(certs):
        lines += s.full_test(f"{session_id}-c{n}")
    return s, lines + [s.finalise()]


def _refused_without_a_trace(world, response, status: int, position: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert world.position() == position, "a refused batch appended something"
    return response.json()


def test_a_centre_appends_its_own_session_and_reads_it_back_at_once(world):
    _, lines = _session(world, "own-1")
    report = ok(world.post_events("centre-A", lines))
    assert report == {"appended": len(lines), "skipped": 0, "position": world.position()}
    results = ok(world.get("/sessions/own-1/results", "centre-A"))["data"]
    assert [r["status"] for r in results] == ["validated", "validated"]
    assert all(r["published"] is False for r in results)


def test_the_same_batch_twice_appends_nothing_the_second_time(world):
    _, lines = _session(world, "own-2", certs=1)
    ok(world.post_events("centre-A", lines))
    assert ok(world.post_events("centre-A", lines)) == {"appended": 0, "skipped": len(lines),
                                                          "position": world.position()}


def test_a_json_array_is_accepted_as_well_as_json_lines(world):
    _, lines = _session(world, "own-3", centre="centre-B", certs=1)
    report = ok(world.client.post("/events", json=lines, headers=world.auth("centre-B")))
    assert report["appended"] == len(lines)


def test_a_rejected_batch_names_line_and_field_and_appends_nothing(world):
    position = world.position()
    s = Scenario("rejected-1", start=T0)
    lines = [s.open("centre-A"), s.start("r1"), s.answer("r1", "never-served")]
    body = _refused_without_a_trace(world, world.post_events("centre-A", lines), 422, position)
    assert body["type"] == "https://certledger.dev/problems/question-not-served"
    assert body["line"] == 3 and body["field"] == "question_id"
    assert body["errors"] == [{"line": 3, "field": "question_id", "detail": body["errors"][0]["detail"],
                               "code": "question-not-served",
                               "type": "https://certledger.dev/problems/question-not-served"}]
    assert world.get("/sessions/rejected-1/results", "jury").status_code == 404


def test_every_malformed_line_is_reported_and_nothing_appended(world):
    position = world.position()
    s = Scenario("rejected-2", start=T0)
    good, bad_field = s.open("centre-A"), s.start("r2")
    bad_field["colour"] = "blue"
    body = ndjson([good]) + b"{not json\n" + ndjson([bad_field]) + b'{"type": "Nope", "at": "x"}\n'
    response = world.client.post("/events", content=body,
                                 headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
    problem = _refused_without_a_trace(world, response, 422, position)
    assert [(e["line"], e["field"], e["code"]) for e in problem["errors"]] == [
        (2, None, "invalid-json"), (3, "colour", "invalid-field"), (4, "type", "unknown-type")]
    assert problem["line"] == 2


def test_an_unreadable_line_does_not_hide_the_rule_problems_of_the_others(world):
    """The answer stopped at the unreadable lines; `import` of the same file listed the
    readable lines' rule problems too."""
    position = world.position()
    s = Scenario("rejected-3", start=T0)
    lines = [s.open("centre-A"), s.start("r3"), s.answer("r3", "never-served")]
    body = ndjson(lines[:2]) + b"{not json\n" + ndjson(lines[2:])
    response = world.client.post("/events", content=body,
                                 headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
    problem = _refused_without_a_trace(world, response, 422, position)
    assert [(e["line"], e["field"], e["code"]) for e in problem["errors"]] == [
        (3, None, "invalid-json"), (4, "question_id", "question-not-served")]
    # Judged without a trace: the same lines, readable, are then recorded whole.
    assert ok(world.post_events("centre-A", lines[:2]))["appended"] == 2
    # And a token's limit among them is still a 403.
    foreign = Scenario("foreign-3", start=T0).open("centre-B")
    response = world.client.post("/events", content=ndjson([foreign]) + b"{not json\n",
                                 headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("line, field", [
    ({"type": "QuestionNeutralised", "certification_id": "a3", "question_id": "a3-1.1-0", "by": "pix-1"}, "type"),
    ({"type": "JuryRuling", "ruling_id": "r-x", "decision": "cancel", "certification_id": "a3", "jury": JURY}, "type"),
    ({"type": "ResultsUnpublished", "session_id": "sA1"}, "type"),
    ({"type": "RuleVersionChanged", "version": "v-x", "effective_from": "2025-01-01T00:00:00Z",
      "rules": {"extends": "pix-v2-2024-05"}, "jury": JURY}, "type"),
    ({"type": "SessionOpened", "session_id": "foreign-1", "centre_id": "centre-B"}, "centre_id"),
    ({"type": "CertificationStarted", "certification_id": "intruder", "session_id": "sB1", "candidate_id": "c",
      "profile": {"1.1": {"pix": 30}}}, "session_id"),
    ({"type": "IncidentReported", "certification_id": "b1", "report_id": "x", "code": "C1"}, "certification_id"),
    ({"type": "FraudReported", "certification_id": "b1", "report_id": "x", "reported_by": "me"}, "certification_id"),
])
def test_a_centre_may_not_append_jury_facts_nor_touch_another_centre(world, line, field):
    position = world.position()
    own = Scenario("scope-ok", start=T0).open("centre-A")
    response = world.post_events("centre-A", [own, {**line, "at": "2024-06-12T10:00:00Z"}])
    problem = _refused_without_a_trace(world, response, 403, position)
    assert problem["code"] == "forbidden" and problem["line"] == 2 and problem["field"] == field
    # Each line listed as a 422 lists it, problem type included.
    assert problem["errors"] == [{"line": 2, "field": field, "detail": problem["errors"][0]["detail"],
                                  "code": "forbidden", "type": problem["type"]}]


def test_the_jury_appends_jury_facts_and_publication_but_no_centre_fact(world):
    # event ids of its own; the session is sA1; dated the next day, after the certifications started
    s = Scenario("jury-decisions", start=T0 + timedelta(days=1))
    decisions = [
        s.line("QuestionNeutralised", certification_id="a4", question_id="a4-2.1-1", by="pix-2", reason="E9"),
        s.line("ResultsUnpublished", session_id="sA1"),
        s.ruling("cancel", certification_id="a5"),
        s.line("ResultsPublished", session_id="sA1"),
        s.line("RuleVersionChanged", version="pix-v2-2030-01", effective_from="2030-01-01T00:00:00Z",
               rules={"extends": "pix-v2-2024-05", "max_reachable_level": 8}, jury=JURY, reason="test"),
    ]
    assert ok(world.post_events("jury", decisions))["appended"] == 5
    assert ok(world.get("/certifications/a5/result", "reader"))["status"] == "cancelled"
    assert ok(world.get("/rule-versions/pix-v2-2030-01", "auditor"))["resolved"]["max_reachable_level"] == 8
    position = world.position()
    response = world.post_events("jury", [Scenario("jury-opens", start=T0).open("centre-A")])
    assert _refused_without_a_trace(world, response, 403, position)["field"] == "type"


@pytest.mark.parametrize("who", ["auditor", "reader"])
def test_auditors_and_readers_append_nothing(world, who):
    position = world.position()
    response = world.post_events(who, [Scenario(f"by-{who}", start=T0).open("centre-A")])
    _refused_without_a_trace(world, response, 403, position)


@pytest.mark.parametrize("content_type, body", [
    ("application/x-ndjson", b""), ("application/x-ndjson", b"\n  \r\n\n"),
    ("application/json", b""), ("application/json", b"[]"), ("application/json", b" \n"),
])
def test_a_batch_without_an_event_is_refused_the_same_way_in_either_form(world, content_type, body):
    position = world.position()
    response = world.client.post("/events", content=body,
                                 headers={**world.auth("centre-A"), "Content-Type": content_type})
    assert _refused_without_a_trace(world, response, 400, position)["code"] == "empty-batch"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/vnd.api+json",
                                          "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_of_another_media_type_or_none_is_refused_unread(world, content_type):
    position = world.position()
    s = Scenario(f"media-{content_type}", start=T0)
    headers = world.auth("centre-A") | ({"Content-Type": content_type} if content_type else {})
    response = world.client.post("/events", content=ndjson([s.open("centre-A")]), headers=headers)
    problem = _refused_without_a_trace(world, response, 415, position)
    assert problem["code"] == "unsupported-media-type" and problem["field"] == "Content-Type"
    assert problem["accepted"] == ["application/x-ndjson", "application/jsonl", "application/x-jsonlines",
                                   "application/json"]


def test_a_content_encoded_body_is_refused_not_read_as_garbled_lines(world):
    position = world.position()
    s = Scenario("gzipped", start=T0)
    response = world.client.post("/events", content=gzip.compress(ndjson([s.open("centre-A")])), headers={
        **world.auth("centre-A"), "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    problem = _refused_without_a_trace(world, response, 415, position)
    assert problem["field"] == "Content-Encoding" and problem["accepted"] == ["identity"]
    assert response.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("content_type", ["application/jsonl", "application/x-jsonlines",
                                          "Application/X-NDJSON; charset=utf-8", "application/json; charset=utf-8",
                                          "application/x-ndjson; charset=US-ASCII",
                                          # a quoted ";" belongs to its parameter's value: no charset named
                                          'application/x-ndjson; note="sent;charset=latin1"'])
def test_every_json_lines_name_and_a_charset_parameter_are_read(world, content_type):
    s = Scenario("named-" + content_type.replace("/", "-").replace(" ", ""), start=T0)  # an id holds no "/"
    body = orjson.dumps([s.open("centre-A")]) if "/json;" in content_type else ndjson([s.open("centre-A")])
    response = world.client.post("/events", content=body,
                                 headers={**world.auth("centre-A"), "Content-Type": content_type})
    assert ok(response)["appended"] == 1


@pytest.mark.parametrize("content_type", ["application/x-ndjson; charset=iso-8859-1",
                                          'application/json; Charset="windows-1252"', "application/jsonl; charset=",
                                          'application/x-ndjson; note="a;b"; charset=latin1',
                                          # two charsets: the second is not ignored
                                          "application/x-ndjson; charset=utf-8; charset=latin1"])
def test_a_body_said_to_be_in_another_charset_than_utf_8_is_refused_not_read_as_utf_8(world, content_type):
    """A Latin-1 body whose bytes are also UTF-8 ("Ã©" is b"\\xc3\\xa9") was read as UTF-8
    whatever its Content-Type said, and recorded as another session's id ("…é")."""
    position = world.position()
    s = Scenario("latin-1-Ã©-" + str(len(content_type)), start=T0)
    line = s.open("centre-A")
    body = (orjson.dumps([line]) if "/json;" in content_type else ndjson([line])).decode().encode("latin-1")
    response = world.client.post("/events", content=body, headers={**world.auth("centre-A"), "Content-Type": content_type})
    problem = _refused_without_a_trace(world, response, 415, position)
    assert problem["field"] == "Content-Type" and "UTF-8" in problem["detail"]
    if "/json;" in content_type:  # a what-if's body alike
        what_if = world.client.post("/what-if", content=b'{"proposal": "pix-v2-2024-05"}',
                                    headers={**world.auth("jury"), "Content-Type": content_type})
        assert what_if.status_code == 415 and what_if.json()["accepted"] == ["application/json"]


def test_a_line_without_a_type_is_refused_for_its_missing_type(world):
    position = world.position()
    s = Scenario("untyped", start=T0)
    untyped = {k: v for k, v in s.open("centre-A").items() if k != "type"}
    as_lines = world.post_events("centre-A", [s.open("centre-A"), untyped])
    as_array = world.client.post("/events", json=[untyped], headers=world.auth("centre-A"))
    for response, line in ((as_lines, 2), (as_array, 1)):
        problem = _refused_without_a_trace(world, response, 422, position)
        assert (problem["line"], problem["field"], problem["code"]) == (line, "type", "missing-type")
        assert "missing" in problem["detail"] and "None" not in problem["detail"]


def test_a_batch_over_the_limits_is_refused_whole(world):
    position = world.position()
    with TestClient(create_app(settings_for(world.url, max_batch_events=2, max_body_bytes=4096))) as small:
        _, lines = _session(world, "too-many", certs=1)
        response = small.post("/events", content=ndjson(lines[:3]),
                              headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
        problem = _refused_without_a_trace(world, response, 413, position)
        assert (problem["limit"], problem["unit"]) == (2, "events")
        response = small.post("/events", content=b" " * 5000,
                              headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
        problem = _refused_without_a_trace(world, response, 413, position)
        assert (problem["limit"], problem["unit"]) == (4096, "bytes")


def test_a_batch_over_the_event_limit_is_refused_before_its_every_line_is_parsed(world, monkeypatch):
    """Every line of the body was parsed before the lines were counted: 10 MiB of `{}`
    lines (3.5 million) held the server 12 s and 2 GB, on its event loop, for a 413."""
    import api.routes.events as route

    parsed = []
    monkeypatch.setattr(route, "parse_line", lambda number, raw: parsed.append(number) or route.LineError(
        number, None, "x", "invalid-json"))
    position = world.position()
    headers = world.auth("centre-A")
    for content_type, body in (("application/x-ndjson", b"{}\n\n" * 6000), ("application/json", b"[" + b"{}," * 6000 + b"{}]")):
        parsed.clear()
        response = world.client.post("/events", content=body, headers={**headers, "Content-Type": content_type})
        problem = _refused_without_a_trace(world, response, 413, position)
        assert (problem["limit"], problem["unit"]) == (5000, "events")
        assert len(parsed) <= 5000, len(parsed)


@pytest.mark.parametrize("body", [b"", b"\n", b"a", b"a\n", b"a\r\nb\rc\n\n d\t\n\x0b\x0c\r\n\r\re", b"\r\n\r\n x",
                                  b"x\r\r\ny\x1cz\x85\n", b"  \t\n\n\na"])
def test_json_lines_are_numbered_as_the_lines_of_the_body(body):
    from commands.interchange import json_lines

    assert list(json_lines(body)) == [(n, line) for n, line in enumerate(body.splitlines(), start=1) if line.strip()]


def test_tokens_are_issued_once_stored_hashed_listed_without_secrets_and_revoked(world):
    runner = CliRunner()
    refused = runner.invoke(cli, ["tokens", "add", "--role", "centre", "--db", world.url])
    assert refused.exit_code == 2 and "--centre" in refused.output
    # A centre no fact can carry would be a token that can do nothing: refused, unstored.
    with psycopg.connect(world.url) as conn:
        tokens_before = conn.execute("SELECT count(*) FROM certledger_api_tokens").fetchone()[0]
    for centre, words in [("  ", "blank"), ("centre-A\n", "white space"), ("centre\x1bA", "U+001B"),
                          (" centre-A", "white space"), ("c" * 201, "at most 200 characters")]:
        refused = runner.invoke(cli, ["tokens", "add", "--role", "centre", "--centre", centre, "--db", world.url])
        assert refused.exit_code == 2 and words in " ".join(refused.output.split()), (centre, refused.output)
    with psycopg.connect(world.url) as conn:
        assert conn.execute("SELECT count(*) FROM certledger_api_tokens").fetchone()[0] == tokens_before
    issued = runner.invoke(cli, ["tokens", "add", "--role", "centre", "--centre", "centre-A", "--db", world.url])
    assert issued.exit_code == 0, issued.output
    assert "no session of centre" not in issued.output
    mistyped = runner.invoke(cli, ["tokens", "add", "--role", "centre", "--centre", "centre-a", "--db", world.url])
    assert mistyped.exit_code == 0 and "no session of centre centre-a is in the ledger's results yet" in " ".join(
        mistyped.output.split()), mistyped.output  # issued (a new centre has none yet), but said
    token = issued.stdout.strip().splitlines()[-1]
    token_id = token.split("_")[1]
    assert ok(world.client.get("/sessions/sA1/results", headers={"Authorization": f"Bearer {token}"}))
    with psycopg.connect(world.url) as conn:
        stored = conn.execute("SELECT * FROM certledger_api_tokens").fetchall()
    assert not any(token in str(row) for row in stored)
    listed = runner.invoke(cli, ["tokens", "list", "--db", world.url])
    assert token_id in listed.stdout and token not in listed.stdout
    assert runner.invoke(cli, ["tokens", "revoke", token_id, "--db", world.url]).exit_code == 0
    response = world.client.get("/sessions/sA1/results", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401  # the world's token cache is off
    assert runner.invoke(cli, ["tokens", "revoke", token_id, "--db", world.url]).exit_code == 1


def test_concurrent_batches_go_through_one_group_committer_and_all_land(world):
    from concurrent.futures import ThreadPoolExecutor

    runtime = world.client.app.state.runtime
    assert runtime.committer is not None  # PostgreSQL: POST /events is group-committed
    before = runtime.committer.stats.commands
    sessions = [_session(world, f"conc-{n}", certs=1) for n in range(8)]
    start = world.position()
    with ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(lambda s: ok(world.post_events("centre-A", s[1])), sessions))
    assert [r["appended"] for r in reports] == [len(lines) for _, lines in sessions]
    assert world.position() == start + sum(len(lines) for _, lines in sessions)
    assert runtime.committer.stats.commands - before == len(sessions)
    for n in range(8):
        results = ok(world.get(f"/sessions/conc-{n}/results", "centre-A"))["data"]
        assert [r["status"] for r in results] == ["validated"]


def test_lines_about_a_refused_start_are_counted_on_its_problem(world):
    s, lines = _session(world, "cascade-1", certs=1)
    lines[1] = {**lines[1], "at": "2019-01-01T00:00:00+00:00"}  # the start: before its session opened
    position = world.position()
    body = _refused_without_a_trace(world, world.post_events("centre-A", lines), 422, position)
    follow_ons = len(lines) - 3  # all but the open, the start and the finalisation
    # (which then finds no started certification: a problem of its own, listed)
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(2, "at"), (len(lines), "session_id")]
    assert f"so {follow_ons} later line(s) about certification cascade-1-c0 are refused with it" in body["errors"][0]["detail"]
    assert body["detail"].endswith(f"({2 + follow_ons} lines refused)")


def test_a_body_that_is_not_json_or_not_utf8_is_named_as_such(world):
    what_if = world.client.post("/what-if", content=b"{not json", headers={**world.auth("jury"),
                                                                          "content-type": "application/json"})
    assert what_if.status_code == 400 and what_if.json()["type"].endswith("/invalid-json"), what_if.text
    assert "not valid JSON" in what_if.json()["detail"]
    position = world.position()
    s = Scenario("utf8-1", start=T0)
    bad = b'{"type": "SessionOpened", "session_id": "\xff\xfe"}'
    body = ndjson([s.open("centre-A")]) + bad + b"\n"
    problem = _refused_without_a_trace(world, world.client.post(
        "/events", content=body, headers={**world.auth("centre-A"), "content-type": "application/x-ndjson"}), 422, position)
    assert problem["errors"][0]["line"] == 2
    column = bad.index(b"\xff") + 1
    assert f"not UTF-8 text: byte 0xff at column {column}" in problem["errors"][0]["detail"]
    # A line that is not JSON is placed on its line the same way: the decoder's "line 1
    # column 12 (char 11)" told of a line 1 beside the batch's line 2.
    broken = b'{"type": "SessionOpened" "session_id": "x"}'
    problem = _refused_without_a_trace(world, world.client.post(
        "/events", content=ndjson([s.open("centre-A")]) + broken + b"\n",
        headers={**world.auth("centre-A"), "content-type": "application/x-ndjson"}), 422, position)
    error = problem["errors"][0]
    assert error["line"] == 2 and error["detail"].startswith("not valid JSON: "), error
    column = broken.index(b'"session_id"') + 1  # where a comma is missing
    assert "line 1" not in error["detail"] and error["detail"].endswith(f"at column {column}"), error


def test_a_json_array_body_that_is_not_json_or_not_utf8_is_a_bad_request(world):
    """The same answers as for JSON Lines, and a byte-order mark is ignored as there."""
    headers = {**world.auth("centre-A"), "content-type": "application/json"}
    position = world.position()
    broken = _refused_without_a_trace(world, world.client.post("/events", content=b"[{", headers=headers), 400, position)
    assert broken["type"].endswith("/invalid-json") and "not valid JSON" in broken["detail"]
    latin = _refused_without_a_trace(world, world.client.post("/events", content=b'["\xff"]', headers=headers), 400,
                                     position)
    assert "not UTF-8 text: byte 0xff at offset 2" in latin["detail"]
    # Valid JSON that is no batch: a malformed request too, named for what it is.
    for body, kind in ((b'{"type": "SessionOpened"}', "an object"), (b'"events"', "a string"), (b"3", "a number")):
        shaped = _refused_without_a_trace(world, world.client.post("/events", content=body, headers=headers), 400,
                                          position)
        assert shaped["code"] == "not-an-array" and f"not {kind}" in shaped["detail"], shaped
    s = Scenario("bom-1", start=T0)
    assert ok(world.client.post("/events", content=b"\xef\xbb\xbf" + orjson.dumps([s.open("centre-A")]),
                                headers=headers))["appended"] == 1
    what_if = world.client.post("/what-if", content=b'{"proposal": "\xff"}', headers={**world.auth("jury"),
                                                                                      "content-type": "application/json"})
    assert what_if.status_code == 400 and what_if.json()["type"].endswith("/invalid-json"), what_if.text


def test_an_array_item_nested_a_thousand_deep_is_a_refused_line_not_a_500(world):
    """Decoded whole (orjson reads 1,024 levels), each item was written out again as its
    line, by a recursive encoder past orjson's own 255 levels: an item nested about a
    thousand deep was a 500 and two tracebacks in the server's log, for any centre's token."""
    headers = {**world.auth("centre-A"), "content-type": "application/json"}
    position = world.position()
    deep = b'[{"type": "SessionFinalised", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}]"
    refused = _refused_without_a_trace(world, world.client.post("/events", content=deep, headers=headers), 422,
                                       position)
    assert refused["errors"][0]["line"] == 1 and refused["code"] == "invalid-json", refused
    assert "nested" in refused["errors"][0]["detail"], refused


def test_a_what_if_body_is_read_only_once_the_token_is_known_and_within_its_own_limit(world):
    """Declared as a model, the body was read and parsed before any dependency ran: anyone,
    without a token, could have the server parse 10 MiB of JSON per request on its event
    loop while every other request waited."""
    from api.routes.whatif import WHAT_IF_MAX_BODY_BYTES

    junk = b"{not json" + b" " * 1000
    anonymous = world.client.post("/what-if", content=junk, headers={"content-type": "application/json"})
    assert anonymous.status_code == 401, anonymous.text  # not 400: the body was never parsed
    centre = world.client.post("/what-if", content=junk, headers={**world.auth("centre-A"),
                                                                  "content-type": "application/json"})
    assert centre.status_code == 403, centre.text
    big = b'{"proposal": "' + b"x" * WHAT_IF_MAX_BODY_BYTES + b'"}'
    too_large = world.client.post("/what-if", content=big, headers={**world.auth("jury"),
                                                                     "content-type": "application/json"})
    assert too_large.status_code == 413 and too_large.json()["limit"] == WHAT_IF_MAX_BODY_BYTES, too_large.text
    # Chunked (no Content-Length): counted as it arrives, and still a 413 (it was a 400 invalid-json).
    chunked = world.client.post("/what-if", content=iter([big[:1000], big[1000:]]),
                                headers={**world.auth("jury"), "content-type": "application/json"})
    assert chunked.status_code == 413, chunked.text
    form = world.client.post("/what-if", content=b"proposal=x", headers={
        **world.auth("jury"), "content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415 and form.json()["accepted"] == ["application/json"], form.text
    gzipped = world.client.post("/what-if", content=b"{}", headers={
        **world.auth("jury"), "content-type": "application/json", "content-encoding": "gzip"})
    assert gzipped.status_code == 415 and gzipped.headers["accept-encoding"] == "identity", gzipped.text
    # A JSON-based type, or none, is read as JSON (as FastAPI's body model read it): here a 422 naming the field.
    for content_type in ("application/vnd.certledger+json", None):
        read = world.client.post("/what-if", content=b'{"proposal": "pix-v2-2024-05"}', headers={
            **world.auth("jury"), **({"content-type": content_type} if content_type else {})})
        assert read.status_code == 422 and read.json()["field"] == "start", read.text


def test_a_key_written_twice_is_refused_in_lines_arrays_and_what_if_bodies(world):
    """Decoded, an object keeps one of the two values: the API recorded `"session_id": "a",
    "session_id": "b"` as session b. In lines, in a JSON array's items and in a what-if
    proposal alike, the key is named and nothing is recorded."""
    position = world.position()
    s = Scenario("twice-1", start=T0)
    opened, started = s.open("centre-A"), s.start("t1")
    twice = orjson.dumps(opened)[:-1] + b',"centre_id":"centre-B"}'
    lines = twice + b"\n" + ndjson([started])
    as_lines = world.client.post("/events", content=lines,
                                 headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
    as_array = world.client.post("/events", content=b"[" + twice + b"," + orjson.dumps(started) + b"]",
                                 headers={**world.auth("centre-A"), "Content-Type": "application/json"})
    for response in (as_lines, as_array):
        problem = _refused_without_a_trace(world, response, 422, position)
        assert (problem["line"], problem["field"], problem["errors"][0]["code"]) == (1, "centre_id", "repeated-key")
        assert "'centre_id' is written twice" in problem["detail"]
    # The same lines with each key once are recorded, as lines and as an array.
    assert ok(world.post_events("centre-A", [opened, started]))["appended"] == 2
    proposal = (b'{"proposal": {"version": "p", "extends": "pix-v2-2024-05", "effective_from": '
                b'"2024-09-01T00:00:00Z", "max_reachable_level": 9, "max_reachable_level": 6}}')
    what_if = world.client.post("/what-if", content=proposal,
                                headers={**world.auth("jury"), "content-type": "application/json"})
    assert what_if.status_code == 422, what_if.text
    assert (what_if.json()["code"], what_if.json()["field"]) == ("repeated-key", "proposal.max_reachable_level")


def test_an_integer_past_64_bits_is_refused_alike_in_lines_and_in_an_array(world):
    """orjson decodes 10**30 as a float: in a JSON array the pix was refused as "not a
    valid integer", where the same line in JSON Lines says it is beyond the 64 bits the
    ledger stores. Both now say the latter, and an array without such a number is read
    as before (a long digit run inside a string included)."""
    position = world.position()
    s = Scenario("huge-1", start=T0)
    opened, started = s.open("centre-A"), s.start("h1")
    huge = orjson.dumps(started).replace(b'"1.2":{"pix":30}', b'"1.2":{"pix":' + b"1" + b"0" * 30 + b"}")
    as_lines = world.client.post("/events", content=ndjson([opened]) + huge,
                                 headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
    as_array = world.client.post("/events", content=b"[" + orjson.dumps(opened) + b"," + huge + b"]",
                                 headers={**world.auth("centre-A"), "Content-Type": "application/json"})
    said = []
    for response in (as_lines, as_array):
        problem = _refused_without_a_trace(world, response, 422, position)
        said.append((problem["line"], problem["field"], problem["detail"]))
        assert "beyond 64 bits" in problem["detail"], problem
    assert said[0] == said[1]
    # Below -2**63 takes only nineteen digits: a rule document's number, read exactly too.
    rule = s.line("RuleVersionChanged", version="huge-rule", effective_from="2030-01-01T00:00:00Z", jury=JURY,
                  reason="test", rules={"extends": "pix-v2-2024-05", "qrocm_dep": {"partially_credit": 0}})
    low = orjson.dumps(rule).replace(b'"partially_credit":0', b'"partially_credit":-9223372036854775809')
    said = []
    for body, kind in ((low + b"\n", "application/x-ndjson"), (b"[" + low + b"]", "application/json")):
        response = world.client.post("/events", content=body, headers={**world.auth("jury"), "Content-Type": kind})
        said.append(_refused_without_a_trace(world, response, 422, position)["detail"])
    assert "beyond 64 bits" in said[0] and said[0] == said[1], said
    # A what-if's proposal is read exactly too: the same words, not "not a valid integer".
    proposal = orjson.dumps({"proposal": rule["rules"], "start": "2024-01-01T00:00:00Z",
                             "end": "2024-12-31T00:00:00Z"}).replace(b'"partially_credit":0', b'"partially_credit":'
                                                                     + b"1" + b"0" * 30)
    what_if = world.client.post("/what-if", content=proposal, headers={**world.auth("jury"),
                                                                      "Content-Type": "application/json"})
    assert what_if.status_code == 422 and "beyond 64 bits" in what_if.json()["detail"], what_if.text
    digits = {**opened, "event_id": "huge-1-" + "1" * 25}  # twenty digits and more, in a string
    appended = world.client.post("/events", content=orjson.dumps([digits, started]),
                                 headers={**world.auth("centre-A"), "Content-Type": "application/json"})
    assert ok(appended)["appended"] == 2


def test_a_batch_is_checked_as_it_would_be_appended_and_nothing_is_written(world):
    """`POST /events/check`: a centre's batch judged exactly as `POST /events` would judge
    it, against the ledger as it stands, with nothing appended whatever the verdict."""
    def check(who, lines, **kwargs):
        headers = {**world.auth(who), "Content-Type": "application/x-ndjson"}
        return world.client.post("/events/check", content=ndjson(lines), headers=headers, **kwargs)

    position = world.position()
    _, lines = _session(world, "checked-1", certs=1)
    assert ok(check("centre-A", lines)) == {"would_append": len(lines), "already_recorded": 0,
                                             "position": position}
    assert world.position() == position and world.get("/sessions/checked-1/results", "jury").status_code == 404
    # A refusal is the same as the append's: the same lines, fields and codes.
    s = Scenario("checked-2", start=T0)
    bad = [s.open("centre-A"), s.start("k1"), s.answer("k1", "never-served")]
    checked = _refused_without_a_trace(world, check("centre-A", bad), 422, position)
    appended = _refused_without_a_trace(world, world.post_events("centre-A", bad), 422, position)
    assert checked["errors"] == appended["errors"] and checked["errors"][0]["line"] == 3
    # Out of the token's scope: the same 403 (another centre's session; a jury fact).
    foreign = [Scenario("checked-3", start=T0).open("centre-B")]
    assert _refused_without_a_trace(world, check("centre-A", foreign), 403, position)["errors"] == \
        _refused_without_a_trace(world, world.post_events("centre-A", foreign), 403, position)["errors"]
    assert check(None, lines).status_code == 401 and check("reader", lines).status_code == 403
    # Once appended, the same batch would add nothing; an unreadable line is named.
    ok(world.post_events("centre-A", lines))
    assert ok(check("centre-A", lines)) == {"would_append": 0, "already_recorded": len(lines),
                                             "position": world.position()}
    garbled = world.client.post("/events/check", content=ndjson(lines[:1]).rstrip(b"\n") + b"\n{not json",
                                headers={**world.auth("centre-A"), "Content-Type": "application/x-ndjson"})
    assert _refused_without_a_trace(world, garbled, 422, world.position())["errors"][0]["line"] == 2
    assert world.client.post("/events/check", content=b"", headers={
        **world.auth("centre-A"), "Content-Type": "application/x-ndjson"}).status_code == 400


def test_a_rule_version_the_rules_check_warns_of_is_said_so_over_http_too(world):
    """`rules check`, `what-if` and `import` warn of a version whose effective_from is
    another's (that one then never applies): a jury recording it over HTTP (the route for a
    jury token) was answered `appended: 1` and nothing else. Recorded all the same."""
    s = Scenario("jury-warned", start=T0 + timedelta(days=1))

    def version(name: str, effective_from: str) -> dict:
        return s.line("RuleVersionChanged", version=name, effective_from=effective_from, jury=JURY, reason="test",
                      rules={"extends": "pix-v2-2024-05", "max_reachable_level": 8})

    tie = version("jury-tie-2024-05", "2024-05-15T00:00:00+02:00")  # pix-v2-2024-05's instant
    checked = ok(world.client.post("/events/check", content=ndjson([tie]),
                                   headers={**world.auth("jury"), "Content-Type": "application/x-ndjson"}))
    assert checked["would_append"] == 1
    assert [(w["line"], w["version"]) for w in checked["warnings"]] == [(1, "jury-tie-2024-05")]
    assert "pix-v2-2024-05 never applies" in checked["warnings"][0]["detail"]
    # Recorded (two versions of 2032, which no certification reaches): the second takes
    # over from the first at the same instant, judged with the batch's earlier line.
    first, second = version("jury-2032-a", "2032-01-01T00:00:00Z"), version("jury-2032-b", "2032-01-01T00:00:00Z")
    appended = ok(world.post_events("jury", [first, second]))
    assert appended["appended"] == 2
    assert [(w["line"], w["version"]) for w in appended["warnings"]] == [(2, "jury-2032-b")]
    assert "jury-2032-a never applies" in appended["warnings"][0]["detail"]
    assert "warnings" not in ok(world.post_events("jury", [first, second]))  # re-sent: skipped, nothing new
    plain = s.line("JuryRuling", ruling_id="warned-comment", decision="comment", comment="c", jury=JURY[:1])
    assert "warnings" not in ok(world.post_events("jury", [plain]))


def test_an_unknown_key_inside_a_field_is_not_said_to_be_the_events(world):
    # A jury member written {"member_id", "kind"} was refused as "jury.0.kind: unknown
    # field for RuleVersionChanged": the event has no such field, but neither was it said
    # to be one, and the member, whose field it is, went unnamed.
    member = {"member_id": "p1", "kind": "pix", "external": False}
    line = {"type": "RuleVersionChanged", "version": "v-kind", "effective_from": "2024-09-01T00:00:00Z",
            "rules": {"extends": "pix-v2-2024-05"}, "jury": [member, *JURY[1:]], "at": "2024-08-01T00:00:00Z"}
    refused = world.client.post("/events/check", content=ndjson([line]),
                                headers={**world.auth("jury"), "content-type": "application/x-ndjson"})
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert (error["field"], error["detail"]) == ("jury.0.kind", "unknown field in jury.0"), error
    line = {**line, "jury": JURY, "colour": "blue"}
    refused = world.client.post("/events/check", content=ndjson([line]),
                                headers={**world.auth("jury"), "content-type": "application/x-ndjson"})
    error = refused.json()["errors"][0]
    assert (error["field"], error["detail"]) == ("colour", "unknown field for RuleVersionChanged"), error
