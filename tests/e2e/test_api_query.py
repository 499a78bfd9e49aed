"""Query parameters: a route refuses the ones it does not take (an ignored `as_of` was a
current answer presented as historical), and the result lists and the history answer
`as_of` as the as-of module and `certledger results --as-of` do (TestClient, PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.e2e.api_support import ok, world  # noqa: F401 (fixture)

EVERY_ROUTE = [
    ("GET", "/certifications/a1/result"), ("GET", "/certifications/a1/results"), ("GET", "/certifications/a1/audit"),
    ("GET", "/sessions/sA1/results"), ("GET", "/candidates/cand-x/certifications"), ("GET", "/rule-versions"),
    ("GET", "/rule-versions/pix-v2-2024-05"), ("POST", "/what-if"), ("POST", "/events"), ("GET", "/health"),
]


def _refused(response, code: str, field: str) -> dict:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code and body["field"] == field, body
    return body


def test_every_route_of_the_document_is_checked_here(world):
    spec = ok(world.client.get("/openapi.json"))
    routes = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert len(routes) == len(EVERY_ROUTE)


@pytest.mark.parametrize("method, path", EVERY_ROUTE)
def test_a_parameter_the_route_does_not_take_is_refused_naming_it(world, method, path):
    response = world.client.request(method, path, params={"bogus": "1"}, headers=world.auth("jury"))
    _refused(response, "unknown-query-parameter", "bogus")


def test_a_misspelt_as_of_is_refused_not_answered_with_the_current_result(world):
    before = world.moments["before_neutralisation"].isoformat()
    body = _refused(world.get("/certifications/a2/result", "auditor", asof=before), "unknown-query-parameter", "asof")
    assert "as_of" in body["detail"]  # what the route does take


def test_every_unknown_parameter_is_listed(world):
    body = _refused(world.get("/sessions/sA1/results", "jury", sort="id", page="2"), "unknown-query-parameter", "sort")
    assert [e["field"] for e in body["errors"]] == ["sort", "page"]


def test_a_parameter_given_twice_is_refused_not_one_value_dropped(world):
    response = world.client.get("/sessions/sA1/results?status=validated&status=rejected", headers=world.auth("jury"))
    _refused(response, "repeated-query-parameter", "status")


def test_an_unknown_parameter_is_refused_before_the_token_is_asked_for(world):
    """As the NUL guard: the request is malformed whoever sends it."""
    _refused(world.get("/sessions/sA1/results", None, bogus="1"), "unknown-query-parameter", "bogus")
