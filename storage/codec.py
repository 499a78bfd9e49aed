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
from storage.errors import StoredEventUnreadable

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


def read_state(stream: str, version: int | None, position: int | None, raw: bytes | str) -> dict:
    """A stored state decoded, or the log's damage named where it lies (see
    `StoredEventUnreadable`): JSON holding a fact and its recorded time."""
    try:
        state = transcoder.decode(raw)
        if not (isinstance(state, dict) and isinstance(state.get("event"), dict) and "type" in state["event"]
                and isinstance(state.get("recorded_at"), str)):
            raise ValueError("not a recorded fact")
    except ValueError as e:  # (orjson's JSONDecodeError is one)
        raise StoredEventUnreadable(stream, version, position, e) from None
    return state


def from_stored(stored: StoredEvent, position: int | None = None) -> Recorded:
    return recorded_from(str(stored.originator_id), stored.originator_version, position, stored.state)


def recorded_from(stream: str, version: int | None, position: int | None, raw: bytes | str) -> Recorded:
    """A stored event as the fact it records (read as it was accepted), or its damage named."""
    state = read_state(stream, version, position, raw)
    line = state["event"]
    try:
        return Recorded(
            stream=stream,
            version=version,  # type: ignore[arg-type]  # (None: a caller that does not know it)
            event=EVENT_TYPES[line["type"]].model_validate(line),
            recorded_at=datetime.fromisoformat(state["recorded_at"]),
            recorded_by=state["recorded_by"],
            position=position,
        )
    except (KeyError, ValueError) as e:  # (pydantic's ValidationError is a ValueError)
        raise StoredEventUnreadable(stream, version, position, e) from None
