"""Appending facts: a batch in the interchange format, all or nothing, as `certledger import`."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import replace
from typing import NoReturn
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep, ScopeDep, Writer, log_failure
from api.media import is_json_array, json_body
from api.openapi import doc
from api.problems import BadRequest, PayloadTooLarge, ResultsCatchingUp, ResultsCatchUpFailed, line_problems
from api.responses import OrjsonResponse
from api.schemas import EventsAppended, EventsChecked
from api.scope import APPENDS, refuse
from commands.interchange import json_kind, json_lines, parse_item, parse_line, repeated_key_error, without_bom
from commands.recording import BatchRejected, LineError
from ledger.events import LedgerEvent, ResultsPublished, RuleVersionChanged
from ledger.unique_keys import Path, repeated_keys
from projections.docket import awaiting_at_publication, awaiting_summary
from projections.results import ResultsReader

router = APIRouter(tags=["events"])
log = logging.getLogger("certledger.api")


def _too_many(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"a batch holds at most {limit} events", extra={"limit": limit, "unit": "events"})


def _parse(body: bytes, json_array: bool, limit: int) -> list[tuple[int, LedgerEvent | LineError]]:
    """(line, fact or problem): JSON Lines numbered by line, a JSON array by item; a 413
    as soon as there are more than `limit` (every line of a 10 MiB body was parsed first:
    3.5 million `{}` lines held the server 12 s and 2 GB before the 413)."""
    body = without_bom(body)  # as some editors save UTF-8, in either form
    if not body.strip():
        return []  # refused as an empty batch, not as JSON that does not parse
    if json_array:
        items = json_body(body)
        if not isinstance(items, list):
            # A malformed batch, as an empty one: a 400 of its own code (it was a 422
            # "invalid-json", a code that is a 400 everywhere else, on JSON that is valid).
            raise BadRequest(f"a JSON body is an array of events, not {json_kind(items)}: send [event, …] "
                             "(or JSON Lines)", code="not-an-array")
        if len(items) > limit:
            raise _too_many(limit)
        # Decoded, an item has lost the second of a key written twice: found in the text.
        repeated: dict[int, Path] = {}
        for path in repeated_keys(body, items):
            repeated.setdefault(int(path[0]), path[1:])
        return [(i, repeated_key_error(i, repeated[i - 1], item) if i - 1 in repeated and isinstance(item, dict)
                 else parse_item(i, item)) for i, item in enumerate(items, start=1)]
    numbered = []
    for number, line in json_lines(body):
        if len(numbered) == limit:
            raise _too_many(limit)
        numbered.append((number, parse_line(number, line)))
    return numbered


@router.post(
    "/events", response_model=EventsAppended,
    **doc("centre", "jury", errors=(401, 403, 413, 415, 422, 503), what=(
        "Append a batch of facts, validated line by line against the ledger as it would be with "
        "the batch's earlier lines applied, then recorded in one transaction: all or nothing. A "
        "refusal (422) lists every bad line with its `line`, `field` and the domain error's `type` "
        "(`line` is 1-based: the line of a JSON Lines body, blank lines counted, or the item of a JSON "
        "array, at most 50 listed, `truncated` saying whether there were more); a line the token may not "
        "append is a 403 listing it the same way (`code` forbidden), with the batch's other refused lines "
        "beside it. `centre` appends its own "
        "sessions' facts, `jury` jury facts, rule versions and publication.")),
)
async def post_events(request: Request, principal: Writer, runtime: RuntimeDep, scope: ScopeDep):
    return await _judged(request, principal, runtime, scope, _record)


async def _judged(request: Request, principal, runtime, scope, then):
    """The batch read and parsed; refused whole if a line could not be read, else handed
    to `then` (record it, or check it)."""
    json_array = is_json_array(request.headers.get("content-type"), request.headers.get("content-encoding"))
    body = await request.body()  # bounded by the app's BodyLimit (max_body_bytes)
    # In the thread pool: parsing 5,000 lines is work, and the event loop serves every request.
    numbered = await run_in_threadpool(_parse, body, json_array, runtime.settings.max_batch_events)
    if not numbered:
        raise BadRequest("the batch holds no event: send at least one", code="empty-batch")
    if any(isinstance(item, LineError) for _, item in numbered):
        return await run_in_threadpool(_refuse_whole, runtime, scope, principal, numbered)
    events = [item for _, item in numbered]
    lines = [line for line, _ in numbered]
    return await run_in_threadpool(then, runtime, scope, principal, events, lines)


@router.post(
    "/events/check", response_model=EventsChecked,
    **doc("centre", "jury", errors=(401, 403, 413, 415, 422, 503), what=(
        "Judge a batch exactly as `POST /events` would, against the ledger as it stands, and append "
        "nothing: 200 with what would be appended, or the same 422 or 403, listing every bad line the "
        "same way. A centre checks its batch before it sends it; the verdict holds as long as no one "
        "writes in between (a session finalised meanwhile, say, refuses what was judged acceptable).")),
)
async def check_events(request: Request, principal: Writer, runtime: RuntimeDep, scope: ScopeDep):
    return await _judged(request, principal, runtime, scope, _check)


def _check(runtime, scope, principal, events: list[LedgerEvent], lines: list[int]) -> OrjsonResponse:
    if _out_of_scope(scope, principal, events, lines):
        _refuse_whole(runtime, scope, principal, list(zip(lines, events)))
    position = runtime.ledger.store.max_position()  # (read first: the verdict is on this ledger or a later one)
    try:
        report = runtime.ledger.service.check(events, by=principal.recorder(), guard=scope.centre_guard(principal))
    except BatchRejected as rejected:
        _refused_at(rejected, lines)
    return OrjsonResponse({"would_append": report.appended, "already_recorded": report.skipped,
                           "position": position, **_warnings(report, events, lines)})


def _refused_at(rejected: BatchRejected, lines: list[int]) -> NoReturn:
    """A batch's refusal with each line numbered as the request's body numbers it: a 403
    if any is out of the token's scope, else the 422."""
    _forbid([], rejected, lambda line: lines[line - 1])
    raise BatchRejected(
        [replace(e, line=lines[e.line - 1]) for e in rejected.errors],
        truncated=rejected.truncated,
    ) from None


def _refuse_whole(runtime, scope, principal, numbered) -> None:
    """Judge the batch without writing and refuse it with every problem, as `import`
    reports them: its unreadable lines, the lines this token may not append (403) and
    the ledger's refusals of the others. (A 403 used to list the forbidden lines alone,
    and a batch with unreadable lines stopped at those: a round trip per kind.)"""
    events = [item for _, item in numbered if not isinstance(item, LineError)]
    lines = [line for line, item in numbered if not isinstance(item, LineError)]
    precheck = _out_of_scope(scope, principal, events, lines)
    # A line of a type this token may never append is not judged by the ledger's rules:
    # the others are judged as they would be without it, and a centre's batch of 5,000
    # rule versions (a document each to validate) held the server 27 s for its 403. Nor
    # by its own fields: one that does not validate is forbidden all the same.
    allowed = APPENDS.get(principal.role, frozenset())
    precheck += [{"line": line, "field": "type", "detail": f"the {principal.role} role may not append {item.kind}",
                  "code": "forbidden"}
                 for line, item in numbered if isinstance(item, LineError) and item.kind and item.kind not in allowed]
    judged = [(line, item) for line, item in numbered if _of_a_type_allowed(item, allowed)]
    rejected = runtime.ledger.service.refusals(judged, by=principal.recorder(),
                                               guard=scope.centre_guard(principal))
    _forbid(precheck, rejected, lambda line: line)
    raise rejected


def _of_a_type_allowed(item: LedgerEvent | LineError, allowed: frozenset[str]) -> bool:
    """A fact of a type the role may append, or a line whose type is unknown or unread
    (judged as such)."""
    if isinstance(item, LineError):
        return item.kind is None or item.kind in allowed
    return item.type in allowed


def _out_of_scope(scope, principal, events: list[LedgerEvent], lines: list[int]) -> list[dict]:
    """The lines this token may not append, found before the ledger's rules."""
    refusals = scope.refusals(principal, events)
    for refusal in refusals:
        refusal["line"] = lines[refusal["line"] - 1]
    return refusals


def _forbid(precheck: list[dict], rejected: BatchRejected, line_of) -> None:
    """403 if any line is out of this token's scope (found before the rules or with
    them), listing beside them the other lines the rules refused."""
    found = [{"line": line_of(e.line), "field": e.field, "detail": e.detail, "code": "forbidden"}
             for e in rejected.errors if e.code == "out-of-scope"]
    seen = {r["line"] for r in precheck}
    forbidden = precheck + [f for f in found if f["line"] not in seen]
    if not forbidden:
        return
    lines = {f["line"] for f in forbidden}
    others = [{**problem, "line": line_of(problem["line"])} for problem in line_problems(rejected.errors)
              if problem["code"] != "out-of-scope" and line_of(problem["line"]) not in lines]
    refuse(forbidden, others=others, more=rejected.truncated)  # the rules stopped at their 50th refusal


def _record(runtime, scope, principal, events: list[LedgerEvent], lines: list[int]) -> OrjsonResponse:
    if _out_of_scope(scope, principal, events, lines):
        _refuse_whole(runtime, scope, principal, list(zip(lines, events)))
    with runtime.write_lock if runtime.committer is None else nullcontext():
        try:
            report = runtime.ledger.service.record(events, by=principal.recorder(),
                                                   guard=scope.centre_guard(principal))
        except BatchRejected as rejected:
            _refused_at(rejected, lines)
    position = runtime.ledger.store.max_position()
    caught_up = False
    if report.appended:
        try:
            runtime.catch_up()
            caught_up = True
        except (ResultsCatchingUp, ResultsCatchUpFailed):
            pass  # far behind: a background catch-up runs, or its failure was logged once
        except Exception as problem:  # the facts are recorded; the projection catches up on the next read
            # (The database gone just after the commit, a crash or a restart: one line.)
            log_failure(log, "catching the results projection up after an append", problem)
    return OrjsonResponse({"appended": report.appended, "skipped": report.skipped, "position": position,
                           **_warnings(report, events, lines),
                           **_awaiting_jury(runtime, list(report.published), events, lines, caught_up=caught_up)})


def _awaiting_jury(runtime, published: list[str], events: list[LedgerEvent], lines: list[int], *,
                   caught_up: bool) -> dict[str, list[dict]]:
    """What still awaited the jury in each session the batch published, as `import` says
    it: `{"awaiting_jury": [{"line", "session_id", "awaiting", "detail"}]}`, or nothing.
    Publication is not refused for it (the docket advises); it is not silent either.
    With the results still catching up it is not known yet, and said so (`awaiting`
    null)."""
    if not published:
        return {}
    line_of = {e.session_id: line for line, e in zip(lines, events) if isinstance(e, ResultsPublished)}
    found: dict[str, list[dict]] | None = None
    why = "the results are catching up"
    if caught_up:
        try:
            found = awaiting_at_publication(ResultsReader(runtime.ledger.store), published)
        except Exception:  # the facts are recorded: said as unknown, not a 500 over them
            log.exception("reading what awaits the jury in a session just published failed")
            why = "it could not be read: the server's log says why"
    items = []
    for session in published:
        docket = f"GET /docket?session_id={quote(session, safe='')}"
        if found is None:
            items.append({"line": line_of.get(session), "session_id": session, "awaiting": None,
                          "detail": f"published; what awaits the jury in it is not known yet ({why}): {docket} says it"})
        elif session in found:
            items.append({"line": line_of.get(session), "session_id": session, "awaiting": len(found[session]),
                          "detail": f"published while {awaiting_summary(found[session])}; {docket} lists them (the jury "
                                    "may unpublish to decide first: ResultsUnpublished)"})
    return {"awaiting_jury": items} if items else {}


def _warnings(report, events: list[LedgerEvent], lines: list[int]) -> dict[str, list[dict]]:
    """The batch's rule versions' warnings, as `import` prints them (judged among the
    rules the batch was judged against: `RecordReport.rule_version_warnings`), each with
    its line: `{"warnings": [{"line", "version", "detail"}]}`, or nothing. A jury recording
    a version over HTTP that silently took over from another was told nothing."""
    line_of = {e.version: line for line, e in zip(lines, events) if isinstance(e, RuleVersionChanged)}
    found = [{"line": line_of.get(version), "version": version, "detail": warning}
             for version, warning in report.rule_version_warnings()]
    return {"warnings": found} if found else {}
