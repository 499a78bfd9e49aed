"""How a recorded event is stored: orjson bytes under an explicit, versioned topic.

Topics name the event type, not a Python path, so stored rows outlive module moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import StoredEvent, Transcoder

from ledger.events import EVENT_TYPES
from ledger.recorded import Recorded

TOPIC_PREFIX = "certledger:"
TOPIC_SUFFIX = "@1"


class OrjsonTranscoder(Transcoder):
    """The library's Transcoder interface over orjson: our states are plain JSON already
    (pydantic dumped them in JSON mode), so nothing needs tagging."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


transcoder = OrjsonTranscoder()


def topic_for(type_name: str) -> str:
    return f"{TOPIC_PREFIX}{type_name}{TOPIC_SUFFIX}"


def to_stored(rec: Recorded, line: dict | None = None) -> StoredEvent:
    line = line if line is not None else rec.event.to_line()
    state = {"event": line, "recorded_at": rec.recorded_at.isoformat(), "recorded_by": rec.recorded_by}
    return StoredEvent(
        originator_id=rec.stream,
        originator_version=rec.version,
        topic=topic_for(line["type"]),
        state=transcoder.encode(state),
    )


def decode_state(state: bytes) -> dict:
    return transcoder.decode(state)


def from_stored(stored: StoredEvent, position: int | None = None) -> Recorded:
    state = transcoder.decode(stored.state)
    line = state["event"]
    event = EVENT_TYPES[line["type"]].model_validate(line)
    return Recorded(
        stream=str(stored.originator_id),
        version=stored.originator_version,
        event=event,
        recorded_at=datetime.fromisoformat(state["recorded_at"]),
        recorded_by=state["recorded_by"],
        position=position,
    )
