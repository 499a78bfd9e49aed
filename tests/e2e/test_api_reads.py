"""Reading through the API: result shape, pagination, filters, as-of, history, audit,
rule versions, what-if and the OpenAPI document (TestClient, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from api.main import create_app
from api.pagination import encode_cursor
from commands.bootstrap import open_ledger
from projections.results import ResultsReader, catch_up
from tests.e2e.api_support import ok, settings_for, world  # noqa: F401 (fixture)


def _walk(world, path: str, who: str, **params) -> tuple[list[str], int]:
    """Every certification id of a paginated list, following next_cursor; and the page count."""
    seen, pages, cursor = [], 0, None
    while True:
        page = ok(world.get(path, who, **params, **({"cursor": cursor} if cursor else {})))
        pages += 1
        seen += [r["certification_id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


def test_a_result_body_is_what_certledger_results_json_prints(world):
    with open_ledger(world.url) as ledger:
        catch_up(ledger.store)
        expected = ResultsReader(ledger.store).current(certification_id="a1")[0]
    assert ok(world.get("/certifications/a1/result", "jury")) == expected


def test_the_cursor_walks_every_result_of_a_session_exactly_once(world):
    seen, pages = _walk(world, "/sessions/sA1/results", "jury")
    assert seen == [f"a{n}" for n in range(1, 8)]  # 7 results, default page size 3
    assert pages == 3


def test_the_page_size_is_chosen_and_bounded(world):
    seen, pages = _walk(world, "/sessions/sA1/results", "auditor", limit=5)
    assert len(seen) == 7 and len(set(seen)) == 7 and pages == 2
    # Out of range at either end, the same answer (0 was FastAPI's 422, 6 this API's 400).
    for wrong in (6, 0, -1, 10**30):  # max_page_size is 5 here
        refused = world.get("/sessions/sA1/results", "jury", limit=wrong)
        assert refused.status_code == 400, (wrong, refused.text)
        assert refused.json()["field"] == "limit" and refused.json()["code"] == "page-size-out-of-range"
        assert f"limit is from 1 to 5, not {wrong}" in refused.json()["detail"]
    limits = [p["schema"] for item in world.client.get("/openapi.json").json()["paths"].values()
              for op in item.values() for p in op.get("parameters", []) if p["name"] == "limit"]
    assert limits and all({"type": "integer", "minimum": 1, "maximum": 5} in s["anyOf"] for s in limits), limits
    # A certification's history is a list like the others (it took any limit, 100 by default).
    too_big = world.get("/certifications/a1/results", "jury", limit=6)
    assert too_big.status_code == 400 and too_big.json()["field"] == "limit"
    assert ok(world.get("/certifications/a1/results", "jury"))["limit"] == 3  # the default page size here


def test_a_forged_cursor_is_a_bad_request_naming_the_field(world):
    response = world.get("/sessions/sA1/results", "jury", cursor="%%%not-base64")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid-cursor" and response.json()["field"] == "cursor"
    # A history's cursor is a number: a Unicode digit that int() does not read was a 500.
    for forged in ("²", "x", "1²"):
        response = world.get("/certifications/a1/results", "jury", cursor=encode_cursor(forged))
        assert response.status_code == 400, (forged, response.text)
        assert response.json()["code"] == "invalid-cursor" and response.json()["field"] == "cursor"


def test_the_reader_walks_published_results_through_pages_too(world):
    seen, _ = _walk(world, "/sessions/sA1/results", "reader", limit=2)
    assert seen == [f"a{n}" for n in range(1, 8)]


def test_lists_filter_by_status_and_start_period(world):
    started = ok(world.get("/sessions/sA2/results", "jury", status="started"))["data"]
    assert [r["certification_id"] for r in started] == ["a8"]
    assert ok(world.get("/sessions/sA2/results", "jury", status="validated"))["data"] == []
    cand = ok(world.get("/candidates/cand-x/certifications", "jury", started_to="2024-06-12T08:00:00+00:00"))
    assert cand["data"] == []  # both started after 08:00
    cand = ok(world.get("/candidates/cand-x/certifications", "jury", started_from="2024-06-12T08:00:00+00:00"))
    assert [r["certification_id"] for r in cand["data"]] == ["a1", "b1"]
    naive = world.get("/candidates/cand-x/certifications", "jury", started_from="2024-06-12T08:00:00")
    assert naive.status_code == 422 and naive.json()["field"] == "started_from"


def test_a_result_says_when_its_certification_started_wherever_it_is_read(world):
    # The lists select by start time, and a certificate is dated by it, but no body said
    # it: a centre's or a reader's copy (neither may read the audit) could not date one.
    trail = ok(world.get("/certifications/a1/audit", "auditor"))
    started = next(e["at"] for e in trail["events"] if e["type"] == "CertificationStarted")
    expected = datetime.fromisoformat(started)
    bodies = [ok(world.get("/certifications/a1/result", who)) for who in ("reader", "centre-A", "jury")]
    bodies += [trail["current"], ok(world.get("/certifications/a1/result", "jury", as_of=_later()))]
    bodies += [r for r in ok(world.get("/sessions/sA1/results", "jury", limit=1))["data"]]
    bodies += [c["result"] for c in _feed(world, "centre-A") if c["certification_id"] == "a1"]
    assert len(bodies) == 7
    for body in bodies:
        assert datetime.fromisoformat(body["started_at"]) == expected, body.get("started_at")
    assert ok(world.get("/certifications/a8/result", "jury"))["started_at"]  # not scored yet: dated all the same
    # The filter and the field agree: a period starting at that instant holds it, one just after does not.
    selected = ok(world.get("/candidates/cand-x/certifications", "jury", started_from=bodies[0]["started_at"]))
    assert "a1" in [r["certification_id"] for r in selected["data"]]
    schema = world.client.get("/openapi.json").json()["components"]["schemas"]["ResultPublic"]
    assert "started_at" in schema["required"]


def _feed(world, who: str) -> list[dict]:
    """The whole change feed, as a follower reads it from the start."""
    changes, cursor = [], None
    while True:
        page = ok(world.get("/results/changes", who, **({"cursor": cursor} if cursor else {})))
        changes, cursor = changes + page["data"], page["cursor"]
        if not page["more"]:
            return changes


def _later() -> str:
    return "2999-01-01T00:00:00+00:00"


def test_as_of_gives_the_result_as_the_ledger_knew_it(world):
    before = world.moments["before_neutralisation"].isoformat()
    then = ok(world.get("/certifications/a2/result", "auditor", as_of=before))
    now = ok(world.get("/certifications/a2/result", "auditor"))
    assert then["explanation"]["competences"]["1.1"]["Z"] == 0
    assert now["explanation"]["competences"]["1.1"]["Z"] == 1
    history = ok(world.get("/certifications/a2/results", "auditor"))["data"]
    assert [h["cause"] for h in history][-1] == "neutralisation"


def test_as_of_before_a_certification_was_recorded_is_not_found(world):
    response = world.get("/certifications/a1/result", "jury", as_of="2024-01-01T00:00:00+00:00")
    assert response.status_code == 404 and response.json()["field"] == "as_of"


def test_the_history_lists_each_result_with_its_cause_oldest_first(world):
    history = ok(world.get("/certifications/a2/results", "centre-A"))
    assert [h["seq"] for h in history["data"]] == list(range(1, len(history["data"]) + 1))
    assert history["data"][0]["cause"] == "first scoring"
    assert all(h["recorded_at"] and h["position"] > 0 for h in history["data"])


def test_the_audit_explains_and_can_look_back(world):
    trail = ok(world.get("/certifications/a2/audit", "auditor"))
    assert trail["certification_id"] == "a2" and trail["centre_id"] == "centre-A"
    assert "QuestionNeutralised" in [e["type"] for e in trail["events"]]
    assert any(e["recorded_by"].startswith("api:jury:") for e in trail["events"])
    assert trail["current"]["explanation"]["rule_version"] == "pix-v2-2024-05"
    before = world.moments["before_neutralisation"].isoformat()
    old = ok(world.get("/certifications/a2/audit", "jury", as_of=before))
    assert "QuestionNeutralised" not in [e["type"] for e in old["events"]]
    assert len(old["results"]) == len(trail["results"]) - 1


def test_facts_are_recorded_by_the_token_never_its_secret(world):
    trail = ok(world.get("/certifications/a1/audit", "jury"))
    recorders = {e["recorded_by"] for e in trail["events"]}
    assert any(r.startswith("api:centre:centre-A:") for r in recorders)
    assert not any(secret in r for r in recorders for secret in world.tokens.values())


def test_unknown_things_are_not_found(world):
    for path in ("/certifications/nope/result", "/certifications/nope/results", "/certifications/nope/audit",
                 "/sessions/nope/results", "/rule-versions/nope"):
        response = world.get(path, "jury")
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] != "no-such-route", path
    assert ok(world.get("/candidates/nope/certifications", "jury"))["data"] == []
    # A path no route answers is told apart from an id that names nothing.
    for path in ("/nope", "/certification/a1/result", "/certifications/a1/resuls"):
        response = world.get(path, "jury")
        assert response.status_code == 404 and response.json()["code"] == "no-such-route", (path, response.text)
        assert f"no route answers GET {path}" in response.json()["detail"]


def test_a_nul_character_in_a_path_or_query_is_a_bad_request(world):
    """PostgreSQL cannot hold U+0000: such a lookup was a 500 from the driver."""
    for path in ("/certifications/a%00b/result", "/certifications/%00/audit", "/sessions/%00/results",
                 "/candidates/%00/certifications", "/sessions/s/results?status=%00"):
        response = world.client.get(path, headers=world.auth("jury"))
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/nul-character")
        assert response.json()["title"] == "NUL character"
        assert response.json()["instance"] == path.split("?")[0], response.text  # its NUL written %00


def test_every_problem_body_has_one_shape(world):
    """A review found `invalid-request`'s errors[] without the code and type every other
    problem's items carry, pydantic's "Value error, " before our own words, and titles
    such as "Invalid json"."""
    refused = world.client.get("/sessions/sA1/results?limit=abc&started_to=2024-01-01", headers=world.auth("jury"))
    body = refused.json()
    assert refused.status_code == 422 and body["code"] == "invalid-request" and body["instance"] == "/sessions/sA1/results"
    assert {e["field"] for e in body["errors"]} == {"limit", "started_to"}
    for item in body["errors"]:
        assert set(item) == {"field", "detail", "code", "type"} and item["type"].endswith("/invalid-request"), item
        assert not item["detail"].startswith("Value error"), item
    bad_json = world.client.post("/what-if", content=b"{not json", headers={**world.auth("jury"),
                                                                            "content-type": "application/json"})
    assert bad_json.json()["title"] == "Invalid JSON"


@pytest.mark.parametrize("path", [
    "/sessions/sA1/results?started_from=0001-01-01T00:30:00%2B01:00",
    "/sessions/sA1/results?started_to=9999-12-31T23:30:00-05:00",
    "/certifications/a1/audit?as_of=9999-12-31T23:30:00-05:00",
])
def test_an_instant_outside_the_utc_years_is_a_problem_naming_the_parameter(world, path):
    response = world.client.get(path, headers=world.auth("jury"))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == path.split("?")[1].split("=")[0]


def test_rule_versions_are_listed_in_timeline_order_and_resolved_one_by_one(world):
    names, cursor = [], None
    while True:
        page = ok(world.get("/rule-versions", "centre-A", **({"cursor": cursor} if cursor else {})))
        names += [v["version"] for v in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names[0] == "pix-v2-2017-12" and names[-1] == "pix-v2-2024-05" and len(names) == 8
    one = ok(world.get("/rule-versions/pix-v2-2021-08", "auditor"))
    assert one["resolved"]["trust_rule"] is not None and one["resolved"]["origins"]
    assert one["written"]["version"] == "pix-v2-2021-08"


def test_what_if_reports_the_changes_and_writes_nothing(world):
    position = world.position()
    body = {
        "proposal": {"version": "what-if-lvl2", "extends": "pix-v2-2024-05",
                     "effective_from": "2024-06-01T00:00:00+00:00", "max_reachable_level": 2},
        "start": "2024-06-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00",
    }
    report = ok(world.client.post("/what-if", json=body, headers=world.auth("auditor")))
    assert report["proposal"] == "what-if-lvl2" and report["compared"] == 9
    assert report["changed"] == 8 and all(c["pix_difference"] < 0 for c in report["changes"])
    assert world.position() == position
    assert world.get("/rule-versions/what-if-lvl2", "jury").status_code == 404
    assert report["warnings"] == []  # nothing `rules check` would warn of
    # What `rules check` warns of, the what-if says too (it used to say nothing of it).
    body["proposal"] = {**body["proposal"], "version": "what-if-qpc4", "questions_per_competence": 4}
    warned = ok(world.client.post("/what-if", json=body, headers=world.auth("jury")))["warnings"]
    assert len(warned) == 1 and " 4/3/0," in warned[0] and "error result" in warned[0], warned
    # A version of the ledger is no proposal: nothing to warn of.
    named = {"proposal": "pix-v2-2021-04", "start": body["start"], "end": body["end"]}
    assert ok(world.client.post("/what-if", json=named, headers=world.auth("jury")))["warnings"] == []
    # A body saved with a UTF-8 byte-order mark is read as POST /events reads one.
    marked = world.client.post("/what-if", content=b"\xef\xbb\xbf" + orjson.dumps(named),
                               headers={**world.auth("jury"), "content-type": "application/json"})
    assert marked.status_code == 200 and marked.json()["compared"] == report["compared"], marked.text


@pytest.mark.parametrize("body, field", [
    ({"proposal": {"version": "bad", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
                   "max_reachable_level": 99}, "start": "2024-06-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"},
     "proposal.max_reachable_level"),
    # Judged as recording judges it: "6" is not the integer 6 (the comparison took it).
    ({"proposal": {"version": "lax", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
                   "max_reachable_level": "6"}, "start": "2024-06-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"},
     "proposal.max_reachable_level"),
    ({"proposal": "pix-v2-2024-05", "against": "nope", "start": "2024-06-01T00:00:00Z",
      "end": "2024-07-01T00:00:00Z"}, "against"),
    ({"proposal": "pix-v2-2024-05"}, "start"),
    ({"proposal": "pix-v2-2024-05", "start": "2024-07-01T00:00:00Z", "end": "2024-06-01T00:00:00Z"}, "end"),
    ({"proposal": "pix-v2\u00002024-05", "start": "2024-06-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"},
     "proposal"),
    # The period's instants as every instant the API takes: not a Unix time, seconds and
    # the offset required, no more than six decimals (each was read as some moment).
    ({"proposal": "pix-v2-2024-05", "start": "1700000000", "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"proposal": "pix-v2-2024-05", "start": 0, "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"proposal": "pix-v2-2024-05", "start": "2024-01-01T00:00Z", "end": "2026-01-01T00:00:00Z"}, "start"),
    ({"proposal": "pix-v2-2024-05", "start": "2024-01-01T00:00:00Z", "end": "2026-01-01T00:00:00.1234567Z"}, "end"),
    ({"proposal": "pix-v2-2024-05", "start": "2024-01-01T00:00:00", "end": "2026-01-01T00:00:00Z"}, "start"),
])
def test_a_bad_what_if_is_a_problem_naming_the_field(world, body, field):
    response = world.client.post("/what-if", json=body, headers=world.auth("jury"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    # Every problem listed as every other list of problems lists them: its field in the
    # request (a rule document's said `max_reachable_level`, which the body does not hold,
    # where a key written twice in it said `proposal.max_reachable_level`), code and type.
    errors = response.json().get("errors", [{"field": field, "detail": "", "code": "", "type": ""}])
    for error in errors:
        assert {"field", "detail", "code", "type"} <= set(error), error
    assert errors[0]["field"] == field


@pytest.mark.parametrize("proposal", [[{"version": "in-a-list"}], 6, None, True])
def test_a_proposal_neither_a_document_nor_a_name_is_one_problem_of_the_proposal(world, proposal):
    """It was said twice, at `proposal.dict[str,any]` and `proposal.str`: the union's
    branches, named as fields no body holds."""
    body = {"proposal": proposal, "start": "2024-06-01T00:00:00Z", "end": "2024-07-01T00:00:00Z"}
    response = world.client.post("/what-if", json=body, headers=world.auth("jury"))
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == response.json()["field"] == "proposal"
    assert "a rule document (a JSON object) or the name of a version" in error["detail"]


def test_the_openapi_document_describes_every_route_role_and_problem(world):
    spec = ok(world.client.get("/openapi.json"))
    operations = {(m.upper(), p): op for p, item in spec["paths"].items() for m, op in item.items()}
    assert set(operations) == {
        ("GET", "/certifications/{certification_id}/result"), ("GET", "/certifications/{certification_id}/results"),
        ("GET", "/certifications/{certification_id}/audit"), ("GET", "/sessions"), ("GET", "/sessions/{session_id}/results"),
        ("GET", "/candidates/{candidate_id}/certifications"), ("GET", "/results/changes"), ("GET", "/rule-versions"),
        ("GET", "/rule-versions/{version}"), ("POST", "/what-if"), ("POST", "/events"), ("POST", "/events/check"), ("GET", "/chain/head"),
        ("GET", "/docket"), ("GET", "/health"),
    }
    for (method, path), op in operations.items():
        assert "x-roles" in op and "Roles:" in op["description"] or path == "/health"
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert errors, path
        assert all(list(r["content"]) == ["application/problem+json"] for r in errors.values()), path
    events = operations[("POST", "/events")]["requestBody"]["content"]
    assert set(events) == {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json"}
    assert operations[("POST", "/events/check")]["requestBody"]["content"] == events  # (the same body)
    assert "SessionOpened" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    docs = world.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_the_openapi_document_states_the_batch_limits_media_types_and_the_readers_403s():
    spec = create_app(settings_for("sqlite:///never-opened.db", max_batch_events=7, max_body_bytes=4096)).openapi()
    post = spec["paths"]["/events"]["post"]
    assert "at most 7 events and 4096 bytes" in post["description"]
    assert "`line` is 1-based" in post["description"]
    assert "415" in post["responses"] and "empty-batch" in post["responses"]["400"]["description"]
    schemas = spec["components"]["schemas"]
    assert {"limit", "unit", "accepted"} <= set(schemas["Problem"]["properties"])
    for ref in schemas["InterchangeEvent"]["discriminator"]["mapping"].values():
        assert "type" in schemas[ref.rsplit("/", 1)[-1]]["required"], ref
    reader = next(row for row in spec["info"]["description"].splitlines() if row.startswith("| `reader`"))
    assert "anything else is 404" not in reader
    assert all(word in reader for word in ("history", "audits", "rule versions", "`as_of` and `stale` are 403"))


def test_every_route_refusing_a_reader_its_parameters_documents_the_403(world):
    # A reader asking `stale` (or `as_of`) is a 403 wherever the route takes it; the change
    # feed's document listed no 403, so a client generated from it had no case for it.
    refused = world.get("/results/changes", "reader", stale="true")
    assert refused.status_code == 403 and refused.json()["field"] == "stale"
    paths = world.client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            if names & {"stale", "as_of"}:
                assert "403" in operation["responses"], (method, path)


def test_the_change_feeds_409_describes_both_of_its_problems():
    # A cursor of another history and one issued before the results were derived again
    # are both 409s; the response's description named the first alone.
    spec = create_app(settings_for("sqlite:///never-opened.db")).openapi()
    described = spec["paths"]["/results/changes"]["get"]["responses"]["409"]["description"]
    assert "cursor-not-in-this-log" in described and "results-derived-again" in described
