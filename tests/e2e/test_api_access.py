"""Every route, every role: who may call what (TestClient, PostgreSQL).

Expected statuses are the roles matrix of `api/auth.py`: 401 without a valid token,
403 for a role a route does not admit or another centre's session, 404 for what a
reader may not see (an unpublished result does not exist for it).
"""

from __future__ import annotations

import pytest

from tests.e2e.api_support import ROLES, world  # noqa: F401 (fixture)

WHAT_IF = {
    "proposal": {"version": "proposal-x", "extends": "pix-v2-2024-05",
                 "effective_from": "2024-06-01T00:00:00+00:00", "max_reachable_level": 2},
    "start": "2024-06-01T00:00:00+00:00",
    "end": "2024-07-01T00:00:00+00:00",
}
AS_OF = "2024-06-20T09:10:00+00:00"

# (method, path, query or body) -> status for centre-A, centre-B, jury, auditor, reader
MATRIX = {
    ("GET", "/certifications/a1/result", None): (200, 403, 200, 200, 200),
    ("GET", "/certifications/b1/result", None): (403, 200, 200, 200, 404),
    ("GET", "/certifications/a8/result", None): (200, 403, 200, 200, 404),
    ("GET", "/certifications/a1/result", ("as_of", AS_OF)): (200, 403, 200, 200, 403),
    ("GET", "/certifications/a1/results", None): (200, 403, 200, 200, 403),
    ("GET", "/certifications/a1/results", ("as_of", AS_OF)): (200, 403, 200, 200, 403),
    ("GET", "/certifications/b1/results", None): (403, 200, 200, 200, 403),
    ("GET", "/certifications/a1/audit", None): (403, 403, 200, 200, 403),
    ("GET", "/certifications/a1/audit", ("as_of", AS_OF)): (403, 403, 200, 200, 403),
    ("GET", "/sessions/sA1/results", None): (200, 403, 200, 200, 200),
    ("GET", "/sessions/sB1/results", None): (403, 200, 200, 200, 404),
    ("GET", "/sessions/sA2/results", None): (200, 403, 200, 200, 404),
    ("GET", "/sessions/sA1/results", ("as_of", AS_OF)): (200, 403, 200, 200, 403),
    ("GET", "/sessions/sB1/results", ("as_of", AS_OF)): (403, 200, 200, 200, 403),
    ("GET", "/candidates/cand-x/certifications", None): (200, 200, 200, 200, 200),
    ("GET", "/candidates/cand-x/certifications", ("as_of", AS_OF)): (200, 200, 200, 200, 403),
    ("GET", "/rule-versions", None): (200, 200, 200, 200, 403),
    ("GET", "/rule-versions/pix-v2-2024-05", None): (200, 200, 200, 200, 403),
    ("POST", "/what-if", "what-if"): (403, 403, 200, 200, 403),
    ("GET", "/chain/head", None): (200, 200, 200, 200, 403),
    ("GET", "/health", None): (200, 200, 200, 200, 200),
}


def _call(world, method: str, path: str, extra, who):
    if method == "POST":
        return world.client.post(path, json=WHAT_IF, headers=world.auth(who))
    params = dict([extra]) if extra else None
    return world.client.get(path, params=params, headers=world.auth(who))


CASES = [
    pytest.param(method, path, extra, role, status,
                 id=f"{method} {path}{'?as_of' if isinstance(extra, tuple) else ''} as {role}")
    for (method, path, extra), statuses in MATRIX.items()
    for role, status in zip(ROLES, statuses)
]


@pytest.mark.parametrize("method, path, extra, role, expected", CASES)
def test_each_role_gets_what_the_matrix_says(world, method, path, extra, role, expected):
    response = _call(world, method, path, extra, role)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == expected
        assert body["type"].startswith("https://certledger.dev/problems/")


@pytest.mark.parametrize("method, path, extra", [k for k in MATRIX if k[1] != "/health"])
def test_every_route_but_health_needs_a_token(world, method, path, extra):
    response = _call(world, method, path, extra, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthenticated"


def test_an_unknown_or_malformed_token_is_refused_like_a_missing_one(world):
    for header in ("Bearer clt_000000000000_nope", "Bearer not-even-ours", "Basic dXNlcjpwYXNz"):
        response = world.client.get("/sessions/sA1/results", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_health_reports_the_store_and_the_projection_lag(world):
    body = world.client.get("/health").json()
    assert body["status"] == "ok" and body["backend"] == "postgresql"
    assert body["position"] > 0 and body["lag"] == 0
    assert body["projection_position"] == body["position"]


def test_health_answers_head_as_probes_send_it(world):
    response = world.client.head("/health")
    assert response.status_code == 200 and response.content == b""


def test_the_reader_sees_published_results_only(world):
    candidate = world.get("/candidates/cand-x/certifications", "reader").json()
    assert [r["certification_id"] for r in candidate["data"]] == ["a1"]
    assert all(r["published"] for r in world.get("/sessions/sA1/results", "reader").json()["data"])


def test_other_roles_see_unpublished_and_unscored_results_marked_as_such(world):
    b1 = world.get("/certifications/b1/result", "jury").json()
    assert b1["published"] is False and b1["status"] == "validated"
    a8 = world.get("/certifications/a8/result", "centre-A").json()
    assert a8["published"] is False and a8["status"] == "started"
    assert a8["pix_score"] is None and a8["explanation"] is None


def test_a_centre_sees_only_its_own_certifications_of_a_candidate(world):
    def ids(who):
        return [r["certification_id"] for r in world.get("/candidates/cand-x/certifications", who).json()["data"]]

    assert ids("centre-A") == ["a1"]
    assert ids("centre-B") == ["b1"]
    assert ids("jury") == ids("auditor") == ["a1", "b1"]
