"""An event as the ledger recorded it: the fact, plus where and when it was written.

`event.at` is when the fact happened (the centre's or jury's clock); `recorded_at` is
when the ledger learnt it. Audits "as the ledger knew it at T" filter on recorded_at.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import orjson

from ledger.events import LedgerEvent


@dataclass(frozen=True, slots=True)
class Recorded:
    stream: str
    version: int
    event: LedgerEvent
    recorded_at: datetime
    recorded_by: str
    position: int | None = None  # notification id, once stored


# A jury ruling's id names one decision (explanations cite it: "cancelled by jury
# ruling R"), so it is unique in the ledger like an event_id, and kept in the same index
# under this prefix, which an event_id may not take.
RULING_KEY_PREFIX = "ruling_id:"


# The digest migration 006 gives the rulings a ledger held before the index: unknown
# until compared with the stored ruling itself (`commands.recording`).
UNINDEXED_DIGEST = "-"


def ruling_key(ruling_id: str) -> str:
    return RULING_KEY_PREFIX + ruling_id


def ruling_key_of(event: LedgerEvent) -> str | None:
    """The index key of the fact's ruling id, if it is a ruling: what the write path
    indexes and what recording looks up (one place, so the two cannot diverge)."""
    ruling_id = getattr(event, "ruling_id", None) if event.type == "JuryRuling" else None
    return ruling_key(ruling_id) if ruling_id is not None else None


def ruling_digest(line: dict) -> str:
    """The ruling's content, whatever event_id carried it: the same ruling imported again
    is recognised, and the same id with another decision refused."""
    return digest_of({k: v for k, v in line.items() if k != "event_id"})


def digest_of(line: dict) -> str:
    """Content digest of an interchange line: same content, same digest, whatever key order."""
    return hashlib.sha256(orjson.dumps(line, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
