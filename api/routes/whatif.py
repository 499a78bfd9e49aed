"""What-if: a proposed rule version scored over a period, compared; nothing is written."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JuryOrAuditor, LedgerDep, RuntimeDep
from api.openapi import doc
from api.problems import Unprocessable
from api.responses import OrjsonResponse
from api.schemas import WhatIfRequest
from projections.vector_scoring import fast_what_if
from projections.whatif import UnknownRuleVersion, WhatIfReport

router = APIRouter(tags=["what-if"])


@router.post(
    "/what-if", response_model=WhatIfReport,
    **doc("jury", "auditor", errors=(400, 401, 403, 413, 422, 503), what=(
        "Score the certifications started in the period [`start`, `end`] under a proposed rule "
        "document (which may `extend` a version of the ledger; it takes effect where the timeline "
        "would put it in force), or under a version already in the ledger, and compare with their "
        "current results (or with the `against` version): status transitions, score differences, "
        "competence level changes and each changed certification with the table rows that fired. "
        "Writes nothing. An invalid document is 422 with every problem and its path.")),
)
def post_what_if(body: WhatIfRequest, principal: JuryOrAuditor, runtime: RuntimeDep, ledger: LedgerDep):
    runtime.fresh_results()  # the comparison is with the current results
    try:
        # Vectorised (identical to projections.whatif.what_if, tested); every change explained.
        report = fast_what_if(ledger.store, body.proposal, against=body.against, start=body.start, end=body.end,
                              details=None)
    except UnknownRuleVersion as unknown:
        field = "against" if unknown.name == body.against else "proposal"
        raise Unprocessable(str(unknown), field=field, code="unknown-rule-version") from None
    return OrjsonResponse(report.model_dump(mode="json"))
