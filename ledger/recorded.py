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


def digest_of(line: dict) -> str:
    """Content digest of an interchange line: same content, same digest, whatever key order."""
    return hashlib.sha256(orjson.dumps(line, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
