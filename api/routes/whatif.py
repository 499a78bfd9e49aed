"""What-if: a proposed rule version scored over a period, compared; nothing is written.

The body is read here, after the token's role is checked, and bounded by a limit of its
own: declared as a model parameter, FastAPI read and parsed it on the event loop before
any dependency ran, so anyone, without a token, could make the server parse 10 MiB of
JSON per request while every other request waited (six such requests held `/health`
for two seconds). A rule document is a few kilobytes."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import JuryOrAuditor, LedgerDep, Runtime, RuntimeDep
from api.media import JSON_TYPES, UnsupportedMediaType, is_json, json_body, refuse_encoded, refuse_other_charset
from api.openapi import doc
from api.problems import PayloadTooLarge, Unprocessable
from api.responses import OrjsonResponse
from api.schemas import WhatIfRequest
from commands.bootstrap import Ledger
from commands.interchange import without_bom
from ledger.events import WRITTEN
from ledger.rules import RuleDocumentInvalid
from ledger.unique_keys import dotted, repeated_key_message, repeated_keys
from projections.vector_whatif import fast_what_if
from projections.whatif import UnknownRuleVersion, WhatIfReport

router = APIRouter(tags=["what-if"])

WHAT_IF_MAX_BODY_BYTES = 1 << 20  # a rule document is a few KB; the built-in ones under 4 KB


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"a what-if body is at most {WHAT_IF_MAX_BODY_BYTES} bytes (a rule document is a few KB)",
                           extra={"limit": WHAT_IF_MAX_BODY_BYTES, "unit": "bytes"})


async def _body(request: Request) -> bytes:
    refuse_encoded(request.headers.get("content-encoding"))
    if not is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType(f"a {request.headers['content-type']} body is not read: send the request as JSON "
                                   "(application/json)", field="Content-Type", extra={"accepted": ["application/json"]})
    refuse_other_charset(request.headers.get("content-type"), accepted=JSON_TYPES)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > WHAT_IF_MAX_BODY_BYTES:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > WHAT_IF_MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _request(body: bytes) -> WhatIfRequest:
    body = without_bom(body)  # as some editors save UTF-8, and as POST /events and import take it
    document = json_body(body)
    repeated = repeated_keys(body, document)
    if repeated:  # a proposal must say one thing: decoded, one of the two values is gone
        raise Unprocessable(repeated_key_message(repeated[0]), field=dotted(repeated[0]), code="repeated-key")
    try:
        # Judged as written, as every instant the API takes: "1700000000" or 0 was read as
        # a Unix time, "2024-01-01T00:00Z" without its seconds, nanoseconds cut.
        return WhatIfRequest.model_validate(document, strict=True, context=WRITTEN)
    except ValidationError as e:  # answered as FastAPI answers a body model's errors
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in e.errors()]) from None


def _compare(runtime: Runtime, ledger: Ledger, asked: WhatIfRequest) -> OrjsonResponse:
    runtime.fresh_results()  # the comparison is with the current results
    try:
        # Vectorised (identical to projections.whatif.what_if, tested); every change explained.
        report = fast_what_if(ledger.store, asked.proposal, against=asked.against, start=asked.start, end=asked.end,
                              details=None)
    except UnknownRuleVersion as unknown:
        field = "against" if unknown.name == asked.against else "proposal"
        raise Unprocessable(str(unknown), field=field, code="unknown-rule-version") from None
    except RuleDocumentInvalid as invalid:  # its paths are the document's: said as the body's, as a key twice is
        raise RuleDocumentInvalid([replace(p, path=f"proposal.{p.path}" if p.path else "proposal")
                                   for p in invalid.problems]) from None
    return OrjsonResponse(report.model_dump(mode="json"))


@router.post(
    "/what-if", response_model=WhatIfReport,
    **doc("jury", "auditor", errors=(400, 401, 403, 413, 415, 422, 503), what=(
        "Score the certifications started in the period [`start`, `end`] under a proposed rule "
        "document (which may `extend` a version of the ledger; it takes effect where the timeline "
        "would put it in force), or under a version already in the ledger, and compare with their "
        "current results (or with the `against` version): status transitions, score differences, "
        "competence level changes and each changed certification: what lies under it (the rate's counts, the "
        "trust rule's verdict, the incidents and questions treated otherwise) and the table rows that fired. "
        "Writes nothing. An invalid document is 422 with every problem and its path in the body "
        "(`proposal.level_table[3].C`). The body "
        f"(JSON) is at most {WHAT_IF_MAX_BODY_BYTES} bytes (413 beyond), read once the token is known.")),
)
async def post_what_if(request: Request, principal: JuryOrAuditor, runtime: RuntimeDep, ledger: LedgerDep):
    body = await _body(request)
    asked = await run_in_threadpool(_request, body)
    return await run_in_threadpool(_compare, runtime, ledger, asked)
