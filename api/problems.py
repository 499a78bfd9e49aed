"""The one place where errors become HTTP problems (RFC 9457, `application/problem+json`).

Every problem has a stable `type` (`https://certledger.dev/problems/<code>`, where
`code` is the domain error's own code), a `title`, the `status`, a `detail` for a
person, the offending `field` when one is to blame and, when there are several,
`errors`: one entry per problem (for `POST /events`, per refused line, with `line`).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.head import allowed_with_head, method_asked
from api.responses import ProblemResponse
from commands.recording import BatchRejected, LineError, refused_lines
from ledger.errors import DomainError
from ledger.rules import RuleDocumentInvalid
from storage.errors import (UNAVAILABLE, LedgerNotPrepared, StoredEventUnreadable, first_line, permission_denied,
                            schema_missing, sqlite_busy, sqlite_storage_failed)

PROBLEM_BASE = "https://certledger.dev/problems/"
log = logging.getLogger("certledger.api")

# Domain errors that mean "no such thing" rather than "refused".
_NOT_FOUND_CODES = {"unknown-session", "unknown-certification", "unknown-rule-version"}


def problem_type(code: str) -> str:
    return PROBLEM_BASE + code


# Words a title writes as they are written in prose ("Invalid JSON", not "Invalid json").
_AS_WRITTEN = {"json": "JSON", "nul": "NUL", "utf": "UTF"}


def title_of(code: str) -> str:
    title = " ".join(_AS_WRITTEN.get(word, word) for word in code.lower().split("-"))
    return title[:1].upper() + title[1:]


class ApiProblem(Exception):
    """A problem raised by the API itself (authentication, scope, lookups, limits)."""

    status = 400
    code = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, errors: list[dict] | None = None,
                 code: str | None = None, status: int | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail, self.field, self.errors, self.headers, self.extra = detail, field, errors, headers, extra
        self.code = code or self.code
        self.status = status or self.status


class ResultsCatchingUp(ApiProblem):
    """The results projection is too far behind the log for a read to catch it up: one
    catch-up runs in the background meanwhile."""

    status, code = 503, "results-catching-up"

    def __init__(self, lag: int):
        super().__init__(f"the results are being derived from the log, {lag} event(s) behind; retry later",
                         headers={"Retry-After": "5"}, extra={"lag": lag})


class ResultsCatchUpFailed(ApiProblem):
    """The background catch-up of a projection far behind failed (the server's log says
    why): not a wait that will end by itself. Another is tried after `Retry-After`."""

    status, code = 500, "results-catch-up-failed"

    def __init__(self, lag: int, *, retry_after: float):
        super().__init__(f"the results are {lag} event(s) behind the log and deriving them failed; it has been "
                         "logged, and is tried again later", headers={"Retry-After": str(int(retry_after))},
                         extra={"lag": lag})


class Unauthenticated(ApiProblem):
    status, code = 401, "unauthenticated"

    def __init__(self, detail: str):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiProblem):
    status, code = 403, "forbidden"


class NotFound(ApiProblem):
    status, code = 404, "not-found"


class BadRequest(ApiProblem):
    status, code = 400, "bad-request"


class PayloadTooLarge(ApiProblem):
    status, code = 413, "payload-too-large"


class Unprocessable(ApiProblem):
    status, code = 422, "unprocessable"


def problem(status: int, code: str, detail: str, *, field: str | None = None, errors: list[dict] | None = None,
            instance: str | None = None, headers: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title_of(code),
        "status": status,
        "detail": detail,
        "code": code,
        "field": field,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=headers)


def line_problems(errors: list[LineError]) -> list[dict]:
    return [
        {"line": e.line, "field": e.field, "detail": e.detail, "code": e.code, "type": problem_type(e.code)}
        for e in errors
    ]


def batch_rejected(errors: list[LineError], *, truncated: bool = False, instance: str | None = None) -> ProblemResponse:
    """A refused batch: the problem of its first refused line (its domain error's type,
    line and field), and in `errors` every refused line."""
    first = errors[0]
    refused = refused_lines(errors)
    more = "" if refused == 1 else f" ({refused}{'+' if truncated else ''} lines refused)"
    # `truncated`: `errors` stops at the first lines refused (a program cannot tell from
    # the list alone whether it holds every one).
    return problem(422, first.code, f"{first}; nothing was appended{more}", field=first.field,
                   errors=line_problems(errors), instance=instance,
                   extra={"line": first.line, "truncated": truncated})


def _path(request: Request) -> str:
    return request.url.path


def _field_of(loc: tuple | list) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    """Register the handlers: the single mapping from exceptions to problems."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem):
        return problem(exc.status, exc.code, exc.detail, field=exc.field, errors=exc.errors,
                       instance=_path(request), headers=exc.headers, extra=exc.extra)

    @app.exception_handler(BatchRejected)
    async def _batch(request: Request, exc: BatchRejected):
        return batch_rejected(exc.errors, truncated=exc.truncated, instance=_path(request))

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        status = 404 if exc.code in _NOT_FOUND_CODES else 422
        return problem(status, exc.code, exc.message, field=exc.field, instance=_path(request))

    @app.exception_handler(RuleDocumentInvalid)
    async def _rules(request: Request, exc: RuleDocumentInvalid):
        errors = [{"field": p.path or None, "detail": p.message, "code": "rule-document-invalid",
                   "type": problem_type("rule-document-invalid")} for p in exc.problems]
        first = exc.problems[0] if exc.problems else None
        return problem(422, "rule-document-invalid", str(exc), field=first.path if first else None,
                       errors=errors, instance=_path(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:  # not a field's problem: the body is not JSON at all (its loc is a byte offset)
            reason = (broken.get("ctx") or {}).get("error", "")
            return problem(400, "invalid-json", f"the body is not valid JSON: {reason} at byte {broken['loc'][-1]}",
                           instance=_path(request))
        # pydantic prefixes a validator's own words with "Value error, ": the reader's not ours.
        errors = [{"field": _field_of(e.get("loc", ())), "detail": e.get("msg", "invalid").removeprefix("Value error, "),
                   "code": "invalid-request", "type": problem_type("invalid-request")} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "detail": "invalid request"}
        return problem(422, "invalid-request", f"{first['field'] or 'request'}: {first['detail']}",
                       field=first["field"], errors=errors, instance=_path(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, f"http-{exc.status_code}")
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":  # the router's: no route has this path
            # Not `not-found`, which says an id names nothing this token may see: a client
            # with a mistyped path took its certification for unknown.
            code, detail = "no-such-route", f"no route answers {request.method} {_path(request)} ({_the_routes(request)})"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405 and detail == "Method Not Allowed":  # the router's: the path takes others
            allowed = allowed_with_head((headers or {}).get("Allow"))
            headers = {**(headers or {}), **({"Allow": allowed} if allowed else {})}
            detail = f"{method_asked(request.scope)} is not allowed on {_path(request)}" + (
                f"; it takes {allowed}" if allowed else "")
        if exc.status_code == 400 and detail == "There was an error parsing the body":  # FastAPI's, for a JSON body
            code, detail = "invalid-json", "the body could not be read as JSON: it is not UTF-8 text, or not JSON"
        return problem(exc.status_code, code, detail, instance=_path(request), headers=headers)

    def _the_routes(request: Request) -> str:
        # With the documents turned off (CERTLEDGER_API_DOCS=false), /openapi.json is a
        # 404 too: pointing there sent a client from one 404 to another.
        if request.app.openapi_url:
            return f"the routes are listed at {request.app.openapi_url}"
        return "the routes: " + ", ".join(sorted(request.app.openapi()["paths"]))  # (built once, then kept)

    async def _storage(request: Request, exc: Exception, *, why: str = ""):
        # The driver's own first line ("database is locked", "connection refused"): the
        # type alone left an operator to guess. It may quote a value the database could
        # not take; a connection's error names its host, port and user, not its password.
        said = first_line(exc)[:300]
        log.error("storage error on %s %s: %s%s", request.method, _path(request), why or type(exc).__name__,
                  f" ({said})" if said else "")
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:  # a restarted server left every pooled connection dead: replace them
            runtime.ledger.store.drop_dead_connections()  # (in the background)
        # (A missing table comes wrapped as the library's OperationalError on SQLite.)
        prepared = not (isinstance(exc, LedgerNotPrepared) or schema_missing(exc))
        code = "storage-unavailable" if prepared else "ledger-not-prepared"
        return problem(503, code, "the ledger's storage cannot serve this request now; retry later",
                       instance=_path(request), headers={"Retry-After": "5"})

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _storage)

    @app.exception_handler(sqlite3.OperationalError)
    async def _sqlite(request: Request, exc: sqlite3.OperationalError):
        # Another writer past the busy timeout (during any long import), or its disk full
        # (say): each was a 500 with a traceback.
        if sqlite_busy(exc) or sqlite_storage_failed(exc):
            return await _storage(request, exc)
        if schema_missing(exc):
            return await _storage(request, LedgerNotPrepared(str(exc)))
        return await _unexpected(request, exc)

    async def _programming(request: Request, exc: Exception):
        # A table dropped under a running server was a 500 with two tracebacks.
        if schema_missing(exc):
            return await _storage(request, LedgerNotPrepared(str(exc)))
        if permission_denied(exc) is not None:  # the role's grants, a deployment's to mend (README: Roles)
            return await _storage(request, exc, why="the database role may not do what this request needs")
        return await _unexpected(request, exc)

    for programming in (psycopg.ProgrammingError, persistence.ProgrammingError):
        app.add_exception_handler(programming, _programming)

    @app.exception_handler(StoredEventUnreadable)
    async def _damaged(request: Request, exc: StoredEventUnreadable):
        # The operator's log names where the log is damaged, in one line (it was a traceback
        # ending in the decoder's error); the client is told what it is, not where: the
        # stream named may be another centre's.
        log.error("stored event unreadable on %s %s: %s", request.method, _path(request), exc)
        return problem(500, "ledger-damaged", "a stored event of the ledger cannot be read (changed past the log's "
                       "triggers, or a damaged database): the server's log names it; `certledger verify` names "
                       "every such event", instance=_path(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Never echo the exception to the client: it may quote data. (The server's log
        # keeps its message and traceback, for whoever runs the server.)
        log.exception("unexpected error on %s %s", request.method, _path(request))
        # (Answered outside the middlewares, NoSniff's included, when no handler took it.)
        return problem(500, "internal-error", "an unexpected error occurred; it has been logged",
                       instance=_path(request), headers={"X-Content-Type-Options": "nosniff"})
