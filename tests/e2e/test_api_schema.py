"""The API against its own OpenAPI document, with generated requests (schemathesis):
no server error, and no status, content type, header or body that the document does not
describe. Bounded: `MAX_EXAMPLES` per operation, a uvicorn server on loopback, PostgreSQL.

The document is taken from the app itself (built without a database: `create_app`
opens nothing until it starts); the server it is checked against runs the same app
over a ledger holding the story of `api_support`, so ids from the story can be hit.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx2 as httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.main import create_app
from api.media import JSON_LINES_TYPES
from tests.conftest import ManualClock
from tests.e2e.api_support import World, issue_tokens, make_database, settings_for, tell_the_story

MAX_EXAMPLES = 12
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
for json_lines in JSON_LINES_TYPES:
    schemathesis.serializer.alias(json_lines, "text/plain")  # JSON Lines go as text
DOCUMENT = create_app(settings_for("sqlite:///never-opened.db")).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(pg_server, pg_template):
    """(base URL, world) of a uvicorn server on loopback over a ledger with the story."""
    url, drop = make_database(pg_server, pg_template)
    tokens = issue_tokens(url)
    port = _free_port()
    config = uvicorn.Config(create_app(settings_for(url), clock=ManualClock()), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as client:
            world = World(client, url, ManualClock(), tokens)  # type: ignore[arg-type]
            tell_the_story(world)
            yield base, world
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        drop()


def test_the_document_is_served_as_built(served):
    base, _ = served
    assert httpx.get(f"{base}/openapi.json").json() == DOCUMENT


# Path ids the story holds: most generated ids are unknown (404), so some cases are
# pointed at real ones, and their 200 bodies are checked against the document too.
KNOWN = {
    "certification_id": ["a1", "a2", "a8", "b1"],
    "session_id": ["sA1", "sA2", "sB1"],
    "candidate_id": ["cand-x"],
    "version": ["pix-v2-2017-12", "pix-v2-2024-05"],
}


def _aim_at_the_story(case) -> None:
    for name, value in (case.path_parameters or {}).items():
        known = KNOWN.get(name)
        if known and isinstance(value, str):
            pick = sum(value.encode()) % (2 * len(known))
            if pick < len(known):
                case.path_parameters[name] = known[pick]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_generated_request_breaks_the_server_or_the_document(case, served):
    base, world = served
    _aim_at_the_story(case)
    who = "jury" if case.path in ("/events", "/events/check") else "auditor"  # each admitted where it is used
    case.call_and_validate(base_url=base, headers={"Authorization": f"Bearer {world.tokens[who]}"},
                           checks=CHECKS)


def test_the_document_lists_the_values_a_line_may_be_written_with():
    """The answer statuses, incident codes, competences and jury decisions were plain
    strings in the document: a client generated from it sent values refused as 422s."""
    from ledger.vocabulary import ABORT_REASONS, ANSWER_STATUSES, COMPETENCES, INCIDENT_CODES, JURY_DECISIONS

    parts = DOCUMENT["components"]["schemas"]
    assert set(parts["AnswerRecorded"]["properties"]["status"]["enum"]) == ANSWER_STATUSES
    assert set(parts["IncidentReported"]["properties"]["code"]["enum"]) == set(INCIDENT_CODES)
    assert set(parts["QuestionServed"]["properties"]["competence"]["enum"]) == set(COMPETENCES)
    assert set(parts["JuryRuling"]["properties"]["decision"]["enum"]) == JURY_DECISIONS
    profile = parts["CertificationStarted"]["properties"]["profile"]
    assert set(profile["propertyNames"]["enum"]) == set(COMPETENCES)
    assert parts["ProfileEntry"]["properties"]["pix"]["maximum"] == 64
    reasons = parts["SessionFinalised"]["properties"]["abort_reasons"]["additionalProperties"]
    assert set(reasons["enum"]) == ABORT_REASONS
