"""Query parameters a route does not take are refused, never ignored.

An ignored parameter is a wrong answer presented as a right one: `?as_of=T` on a route
without as-of returned today's results as if historical, and a misspelt `?asof=T` the
current result. So every route refuses a name it does not declare, and a name given
twice (one of the two values would be dropped as silently).

Why 400 and not 422: this API answers 400 when the request is malformed whatever its
values (a cursor it did not issue, a page size out of range, a NUL in the query), and
422 when a value of a known parameter breaks its rule (`invalid-request`). A parameter
the route does not have is the first kind. Like the NUL guard's 400 it comes before
authentication: the names a route takes are no secret (they are in the OpenAPI
document), and 400 is documented on every route already.
"""

from __future__ import annotations

from collections import Counter

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.problems import BadRequest, problem_type


def _names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names of a dependency tree."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return frozenset(names)


def _problem(code: str, names: list[str], why: str) -> BadRequest:
    errors = [{"field": name, "detail": why, "code": code, "type": problem_type(code)} for name in names]
    listed = ", ".join(names)
    return BadRequest(f"query parameter(s) {listed}: {why}", field=names[0], errors=errors, code=code)


async def refuse_unknown_query(request: Request) -> None:
    """An app dependency: 400 `unknown-query-parameter` / `repeated-query-parameter`."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    counts = Counter(name for name, _ in request.query_params.multi_items())
    taken = _names(route.dependant)  # a few dependants: cheaper than a cache keyed by route
    unknown = [name for name in counts if name not in taken]
    if unknown:
        raise _problem("unknown-query-parameter", unknown, "this route does not take it "
                       f"(it takes: {', '.join(sorted(taken)) or 'none'})")
    repeated = [name for name, n in counts.items() if n > 1]
    if repeated:
        raise _problem("repeated-query-parameter", repeated, "given more than once; give one value")
