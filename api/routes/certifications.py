"""One certification: its current result (or as of a time), its history, its audit."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from api.deps import (JuryOrAuditor, LedgerDep, NotReader, Reader, ResultsDep, ResultsOrStaleDep, ScopeDep,
                      SettingsDep, StaleResults)
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, invalid_cursor, page_size
from api.problems import NotFound
from api.responses import OrjsonResponse
from api.routes.params import AsOf, Id, as_of_echo, refuse_as_of_to_reader
from api.schemas import AuditTrail, ResultHistory, ResultPublic
from projections.asof import commit_times, results_as_of
from projections.audit import CertificationNotFound, audit_trail, results_given_by
from projections.results import ResultsReader

router = APIRouter(prefix="/certifications", tags=["certifications"])


def _visible_row(results: ResultsReader, scope, principal, certification_id: str) -> dict:
    rows = results.current(certification_id=certification_id)
    if not rows and isinstance(results, StaleResults):
        raise results.missing()
    return scope.check_result(principal, rows[0] if rows else None, f"certification {certification_id}")


@router.get(
    "/{certification_id}/result", response_model=ResultPublic,
    **doc("centre", "jury", "auditor", "reader", what=(
        "The certification's current result; with `as_of`, the result as the ledger knew it at "
        "that recorded time, with `as_of` in the body (not for `reader`, which sees current "
        "published results only: 403).")),
)
def current_result(certification_id: Id, principal: Reader, results: ResultsOrStaleDep, scope: ScopeDep,
                   ledger: LedgerDep, as_of: AsOf = None):
    refuse_as_of_to_reader(principal, as_of)
    row = _visible_row(results, scope, principal, certification_id)
    if as_of is None:
        return OrjsonResponse(scope.shown(principal, row))
    past = results_as_of(ledger.store, as_of, certification_id=certification_id)
    if not past:
        raise NotFound(f"certification {certification_id} was not yet recorded at {as_of.isoformat()}",
                       field="as_of")
    return OrjsonResponse({**past[0], "as_of": as_of_echo(as_of)})


@router.get(
    "/{certification_id}/results", response_model=ResultHistory,
    **doc("centre", "jury", "auditor", errors=(400, 401, 403, 404, 422, 503), what=(
        "Every result the certification was given, oldest first, each with its cause (first "
        "scoring, finalisation, neutralisation, jury ruling, rule version …), the recorded time "
        "and log position of the event that caused it. Paginated by `cursor` / `limit`. With "
        "`as_of`, the results it had been given by that recorded time, as the audit's `as_of` "
        "gives them (404 if it was not recorded yet).")),
)
def result_history(certification_id: Id, principal: NotReader, results: ResultsOrStaleDep, scope: ScopeDep,
                   settings: SettingsDep, ledger: LedgerDep, as_of: AsOf = None, cursor: CursorQuery = None,
                   limit: LimitQuery = None):
    size = page_size(limit, settings.default_page_size, settings.max_page_size)  # as every list
    _visible_row(results, scope, principal, certification_id)
    entries = results.history(certification_id) if as_of is None else _history_as_of(ledger, certification_id, as_of)
    after = decode_cursor(cursor)
    if after is not None:
        if not (after.isascii() and after.isdigit()):  # "²" is a digit to isdigit(), not to int(): a 500
            raise invalid_cursor()
        seq = int(after)
        entries = [e for e in entries if e["seq"] > seq]
    page, more = entries[:size], len(entries) > size
    committed = commit_times(ledger.store, [e["position"] for e in page])  # as the audit gives them
    page = [{**e, "committed_at": committed.get(e["position"])} for e in page]
    return OrjsonResponse({
        "certification_id": certification_id,
        "data": page,
        "next_cursor": encode_cursor(str(page[-1]["seq"])) if more else None,
        "limit": size,
        "as_of": as_of_echo(as_of),
    })


def _history_as_of(ledger, certification_id: str, as_of: datetime) -> list[dict]:
    try:
        return results_given_by(ledger.store, certification_id, as_of)[0]
    except CertificationNotFound as missing:
        raise NotFound(str(missing), field="as_of") from None


@router.get(
    "/{certification_id}/audit", response_model=AuditTrail,
    **doc("jury", "auditor", what=(
        "The certification's trail: every event of it, of its session and of its candidate (a ban, its lifting) (and each rule version "
        "that rescored it) with who recorded it and when, every result with its cause, and the "
        "current result with its explanation; with `as_of`, all as the ledger knew it then.")),
)
def audit(certification_id: Id, principal: JuryOrAuditor, ledger: LedgerDep, results: ResultsDep,
          as_of: AsOf = None):
    try:
        trail = audit_trail(ledger.store, certification_id, as_of=as_of)
    except CertificationNotFound as missing:
        raise NotFound(str(missing), field="as_of" if as_of else None) from None
    return OrjsonResponse(trail)
