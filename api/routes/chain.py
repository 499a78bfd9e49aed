"""The head of the log's hash chain, for whoever keeps heads to check the log later."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import LedgerDep, NotReader
from api.openapi import doc
from api.problems import NotFound
from api.responses import OrjsonResponse
from api.schemas import ChainHeadPublic
from storage.chain import kept_form

router = APIRouter(tags=["ledger"])


@router.get(
    "/chain/head", response_model=ChainHeadPublic,
    **doc("centre", "jury", "auditor", errors=(401, 403, 404), what=(
        "The last link of the log's hash chain (migration 014): the digest of every event up to "
        "`position`, chained from `anchor`, each commit's link sealed with its commit row, its time "
        "and where it ends, since migration 021. Keep heads outside the ledger (an auditor's system, a "
        "centre's records); `certledger verify --expect-chain POSITION:DIGEST` later fails if the "
        "log up to a kept head is not the same. This is the head as stored: `verify` recomputes it "
        "from the events.")),
)
def chain_head(principal: NotReader, ledger: LedgerDep):
    head = ledger.store.chain_head()
    if head is None:
        raise NotFound("no commit is linked in this ledger's hash chain yet (none since migration 014), or the "
                       "ledger has none (014 not applied): no head to keep", code="no-chain-head")
    return OrjsonResponse({"position": head.position, "digest": head.digest, "anchor": head.anchor,
                           "committed_at": head.committed_at,
                           "expect_chain": kept_form(head.position, head.digest)})
