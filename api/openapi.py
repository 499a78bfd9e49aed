"""The OpenAPI document: every route's roles, bodies and problems.

Routes declare who may call them with `doc(...)`: the roles go in the description and
in an `x-roles` extension; every error status names the problem schema, served as
`application/problem+json`. `POST /events` reads its body itself (it is JSON Lines, or
a JSON array), so its schema, the interchange format's, is added here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.media import JSON_LINES_TYPES, JSON_TYPES
from api.schemas import Problem, WhatIfRequest
from api.settings import Settings
from ledger.events import event_adapter
from ledger.rules import rule_document_json_schema

_WHY = {
    400: "a malformed request: a body that is not JSON, a batch with no event (`empty-batch`), a JSON body that "
         "is not an array of events (`not-an-array`), a cursor this API did not issue, a page size out of its "
         "range (1 to the maximum), the NUL character (U+0000) in the path or query, a query parameter the route does not take (`unknown-query-parameter`) or one given twice "
         "(`repeated-query-parameter`), named in `field`",
    401: "no bearer token, or an unknown or revoked one",
    403: "the token's role may not do this, the session is another centre's, or a `reader` asked `as_of` or "
         "`stale` (it sees current published results only), named in `field`",
    404: "nothing of that id visible to this token",
    409: "the cursor names a position of another history of the log (`cursor-not-in-this-log`: a ledger restored "
         "from an older backup), or was issued before an upgrade derived the results again "
         "(`results-derived-again`): read the feed again from the start and replace the copy",
    413: "the body (or the batch's count of lines) is larger than the server accepts: the problem's `limit` and "
         "`unit` (`bytes` or `events`) say by how much",
    415: "the body's Content-Type is not one the route reads (`POST /events` also refuses a body without one), "
         "or the body is content-encoded: the problem's `accepted` lists what is read",
    422: "the request (or a line of the batch) breaks a rule; nothing was appended",
    503: ("the ledger's storage cannot be reached (`storage-unavailable`, `ledger-not-prepared`), or the results "
          "are far behind the log and being derived in the background (`results-catching-up`, with its `lag`); "
          "retry after `Retry-After` seconds (the result reads also take `stale=true`: see that parameter). "
          "(Should that background derivation fail, reads answer 500 `results-catch-up-failed` until one "
          "succeeds; it is tried again after `Retry-After`.)"),
}
ROLE_WORDS = {
    "centre": "centre (its own centre's sessions only)",
    "jury": "jury",
    "auditor": "auditor",
    "reader": "reader (published results only)",
}

DESCRIPTION = """\
certledger's HTTP API: the Pix certification ledger's results, audits and rule versions,
and the door through which centres and the jury append facts.

**Authentication.** Every route but `/health` and the documentation needs
`Authorization: Bearer <token>`; tokens are issued by the operator with
`certledger tokens add --role R [--centre C | --member M]` and stored hashed (a jury
token bound to member M appends only lines naming M, alone, as who decided: a decision of
several members is recorded with an unbound jury token, the secretariat's). A missing or unknown
token is 401; a role a route does not admit, or another centre's session, is 403.

| role | reads | appends (`POST /events`; `POST /events/check` judges the same, appending nothing) |
|---|---|---|
| `centre` | its own sessions' results; rule versions | its own sessions' facts: SessionOpened, CertificationStarted, QuestionServed, AnswerRecorded, CertificationCompleted, IncidentReported, FraudReported, SessionFinalised |
| `jury` | everything, audits, what-if | jury facts: QuestionNeutralised, QuestionDeneutralised, JuryRuling, RuleVersionChanged, ResultsPublished, ResultsUnpublished |
| `auditor` | everything, audits, what-if | nothing |
| `reader` | current results of published sessions only, without their explanation's `jury` record (and those sessions' list): a result, a session's, a candidate's (an unpublished or unknown one is 404, as if unknown), and the change feed (a result unpublished since is `withdrawn`, without its body); history, audits, rule versions, what-if, `as_of` and `stale` are 403 | nothing |

**Results** have the shape of `certledger results --json`. `published: false` marks a
result whose session is not published; `status: "started"` a certification not scored
yet; `explanation.session_finalised: false` a provisional result. An explanation's
prose names each jury decision (a ruling by its id, a neutralisation by its event id);
its `jury` record says who took each one (the members' ids) and in what words (a
ruling's comment, a neutralisation's reason). A `reader`'s results come without that
record; the other roles' bodies hold it.

**Lists** are pages: `data`, and `next_cursor` to pass as `cursor` (null on the last
page); `limit` bounds the page size.

**Caching.** Each 200 answer to a GET (or HEAD) carries an `ETag`, the digest of its
bytes, and `Cache-Control: private, no-cache` (the answer is the token's own, and is to be
checked again before each use). Send the tag back in `If-None-Match`: while the answer
would be the same bytes it is a 304 without a body. An answer that `stale=true` read from
results behind the log (its `Certledger-Results-*` headers say so) is `no-store` and has no
tag; one that found the results current is tagged as any other.

**Errors** are `application/problem+json` (RFC 9457): `type` is
`https://certledger.dev/problems/<code>`, stable per error; `field` names the offending
field; `errors` lists every problem (with `line` for a refused batch: its first 50 refused
lines, `truncated` saying whether there were more). A query parameter
a route does not take is refused (400 `unknown-query-parameter`), never ignored.
"""


def doc(*roles: str, what: str, errors: tuple[int, ...] = (401, 403, 404, 422, 503),
        public: bool = False) -> dict[str, Any]:
    """Route keyword arguments: what the route does, the roles it admits, the problems it
    returns."""
    # Every route may answer 400: the NUL guard (api.nul_guard) stands before them all.
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": Problem, "description": _WHY[status]} for status in sorted({400, *errors})
    }
    who = "Anyone, without a token." if public else "Roles: " + ", ".join(ROLE_WORDS[r] for r in roles) + "."
    return {
        "responses": responses,
        "openapi_extra": {"x-roles": list(roles)},
        "description": f"{what}\n\n**{who}**",
    }


def _hoist(schema: dict[str, Any], prefix: str, components: dict[str, Any]) -> dict[str, Any]:
    """Move a JSON schema's `$defs` into the components, prefixing their names."""
    defs = schema.pop("$defs", {})
    rename = {name: f"{prefix}{name}" for name in defs}

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: fix(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                out["$ref"] = "#/components/schemas/" + rename[ref[len("#/$defs/"):]]
            if "mapping" in out and isinstance(out["mapping"], dict):
                out["mapping"] = {
                    k: "#/components/schemas/" + rename[v[len("#/$defs/"):]] if v.startswith("#/$defs/") else v
                    for k, v in out["mapping"].items()
                }
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    for name, body in defs.items():
        components[rename[name]] = fix(body)
    return fix(schema)


def _problem_media_types(paths: dict[str, Any]) -> None:
    for operations in paths.values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")


def _events_body(components: dict[str, Any]) -> dict[str, Any]:
    events = _hoist(event_adapter.json_schema(), "", components)
    for ref in events["discriminator"]["mapping"].values():
        # The models default `type` to their own name, so their schemas call it optional;
        # but a line is matched to its model by `type`: without it, it is refused (`missing-type`).
        event = components[ref.rsplit("/", 1)[-1]]
        event["required"] = ["type", *(f for f in event.get("required", []) if f != "type")]
    components["InterchangeEvent"] = events
    lines = {"schema": {"type": "string", "minLength": 1, "description": "one JSON event per line"}}
    array = {"schema": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/InterchangeEvent"}}}
    return {
        "required": True,
        "description": (
            "A batch of facts in the interchange format: JSON Lines (one event per line, "
            f"{', '.join(f'`{t}`' for t in JSON_LINES_TYPES)}) or a JSON array of events (`application/json`); "
            "any other Content-Type, or none, is a 415. Every line is validated, then the "
            "batch is appended in one transaction, or nothing is (a refusal names each bad line "
            "and field). Lines with an `event_id` already recorded with the same content are skipped. "
            "A batch with no event (an empty body, blank lines only, `[]`) is a 400 `empty-batch`."
        ),
        "content": {**{t: lines for t in JSON_LINES_TYPES}, **{t: array for t in JSON_TYPES}},
    }


def _batch_limits(operation: dict[str, Any], settings: Settings) -> None:
    """The server's own limits, so a client can split its batches before it is refused."""
    operation["description"] += (
        f"\n\n**Limits.** A batch holds at most {settings.max_batch_events} events and "
        f"{settings.max_body_bytes} bytes; beyond either, it is refused whole: a 413 whose problem "
        "carries the `limit` and its `unit` (`events` or `bytes`)."
    )


def _page_limits(paths: dict[str, Any], maximum: int) -> None:
    """`limit` is from 1 to the server's configured maximum page size."""
    for operations in paths.values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "limit":
                    for branch in parameter["schema"].get("anyOf", [parameter["schema"]]):
                        if branch.get("type") == "integer":
                            branch["minimum"], branch["maximum"] = 1, maximum


def _conditional_gets(paths: dict[str, Any]) -> None:
    """Every GET takes `If-None-Match` and may answer 304 (api.conditional)."""
    for operation in (item["get"] for item in paths.values() if "get" in item):
        operation.setdefault("parameters", []).append({
            "name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "the `ETag` of an answer held: a 304 without a body while the answer would be the same"})
        operation["responses"]["304"] = {
            "description": "not modified: the answer would be the bytes whose `ETag` was sent in `If-None-Match`"}


def build_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    _problem_media_types(spec["paths"])
    _page_limits(spec["paths"], settings.max_page_size)
    _conditional_gets(spec["paths"])
    for path in ("/events", "/events/check"):  # (the check reads the same body)
        post_events = spec["paths"].get(path, {}).get("post")
        if post_events is not None:
            post_events["requestBody"] = _events_body(components)
            _batch_limits(post_events, settings)
    rule_doc = _hoist(rule_document_json_schema(), "RuleDocument", components)
    components["RuleDocumentProposal"] = rule_doc
    what_if = spec["paths"].get("/what-if", {}).get("post")
    if what_if is not None:  # its route reads the body itself, once the token is known
        request = _hoist(WhatIfRequest.model_json_schema(), "WhatIfRequest", components)
        request["properties"]["proposal"]["anyOf"] = [{"$ref": "#/components/schemas/RuleDocumentProposal"},
                                                      {"type": "string"}]
        components["WhatIfRequest"] = request
        what_if["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/WhatIfRequest"}}}}
    app.openapi_schema = spec
    return spec
