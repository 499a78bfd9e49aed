"""A stored event that no longer reads as a fact is named where it lies, not left to the
decoder's traceback."""

from __future__ import annotations

import orjson
import pytest

from storage.codec import read_state, recorded_from
from storage.errors import StoredEventUnreadable


def _fact() -> dict:
    return {"event": {"type": "SessionOpened", "session_id": "s", "centre_id": "c", "at": "2024-06-12T08:00:00Z"},
            "recorded_at": "2024-06-12T09:00:00+00:00", "recorded_by": "test"}


@pytest.mark.parametrize("raw", [b"{garbage", b"[]", orjson.dumps({"event": "x", "recorded_at": "t"}),
                                 orjson.dumps({"recorded_at": "2024-06-12T09:00:00+00:00"})])
def test_a_state_that_is_no_recorded_fact_is_named_by_position_and_stream(raw):
    with pytest.raises(StoredEventUnreadable) as caught:
        read_state("session:s", 3, 41, raw)
    assert str(caught.value).startswith("the event stored at position 41 (session:s v3) cannot be read (")
    assert caught.value.position == 41


def test_a_fact_whose_fields_no_longer_read_is_named_too():
    state = _fact()
    del state["event"]["centre_id"]
    with pytest.raises(StoredEventUnreadable, match=r"^the event stored at session:s v1 cannot be read \("):
        recorded_from("session:s", 1, None, orjson.dumps(state))


def test_a_readable_fact_reads():
    assert read_state("session:s", 1, 9, orjson.dumps(_fact()))["event"]["session_id"] == "s"
    assert recorded_from("session:s", 1, 9, orjson.dumps(_fact())).event.centre_id == "c"
