"""The rule versions the ledger holds."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import NotReader, RuntimeDep, SettingsDep
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, invalid_cursor, page_size
from api.problems import NotFound
from api.responses import OrjsonResponse
from api.routes.params import Id
from api.schemas import RuleVersionPublic, RuleVersionsPage

router = APIRouter(prefix="/rule-versions", tags=["rule versions"])


@router.get(
    "", response_model=RuleVersionsPage,
    **doc("centre", "jury", "auditor", errors=(400, 401, 403, 422, 503), what=(
        "The rule versions of the ledger in timeline order (effective date, then the order the "
        "jury recorded them), each with the jury that decided it, its reason and when it was "
        "recorded; paginated by `cursor` / `limit`.")),
)
def rule_versions(principal: NotReader, runtime: RuntimeDep, settings: SettingsDep,
                  cursor: CursorQuery = None, limit: LimitQuery = None):
    versions = runtime.rule_timeline().versions()
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    start = 0
    after = decode_cursor(cursor)
    if after is not None:
        names = [v.version for v in versions]
        if after not in names:
            raise invalid_cursor()
        start = names.index(after) + 1
    page = versions[start:start + size]
    more = start + size < len(versions)
    return OrjsonResponse({
        "data": [
            {"version": v.version, "effective_from": v.effective_from.isoformat(), "extends": v.extends,
             "description": v.description, "algorithm": v.algorithm, **runtime.rule_decisions[v.version]}
            for v in page
        ],
        "next_cursor": encode_cursor(page[-1].version) if more and page else None,
        "limit": size,
    })


@router.get(
    "/{version}", response_model=RuleVersionPublic,
    **doc("centre", "jury", "auditor", what=(
        "One rule version: `resolved`, its document with the `extends` chain merged in and the "
        "version each value comes from (`origins`); `written`, the document as recorded.")),
)
def rule_version(version: Id, principal: NotReader, runtime: RuntimeDep):
    timeline = runtime.rule_timeline()
    rules = timeline.get(version)
    if rules is None:
        raise NotFound(f"no rule version {version!r} in the ledger", field="version", code="unknown-rule-version")
    resolved = rules.model_dump(mode="json")
    return OrjsonResponse({
        "version": rules.version,
        "effective_from": rules.effective_from.isoformat(),
        **runtime.rule_decisions[rules.version],
        "resolved": resolved,
        "written": timeline.raw(version) or resolved,
    })
