"""Which rule version is in force at an instant, and how versions are added."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ledger.rules import RuleDocumentInvalid, RuleTimeline

UTC = timezone.utc


def _jury(version: str = "jury-2024-09-cap-6", start: str = "2024-06-01T00:00:00Z", **keys: Any) -> dict[str, Any]:
    return {"version": version, "extends": "pix-v2-2024-05", "effective_from": start, "max_reachable_level": 6, **keys}


def _in_force(timeline: RuleTimeline, at: datetime) -> str | None:
    rules = timeline.in_force(at)
    return rules.version if rules else None


def test_builtin_holds_the_eight_versions() -> None:
    timeline = RuleTimeline.builtin()
    assert len(timeline) == 8 and "pix-v2-2021-04" in timeline


@pytest.mark.parametrize("at, version", [
    (datetime(2017, 11, 30, 22, 59, tzinfo=UTC), None),  # before the first version
    (datetime(2017, 11, 30, 23, 0, tzinfo=UTC), "pix-v2-2017-12"),  # midnight in Paris, exactly
    (datetime(2020, 12, 31, 22, 59, 59, tzinfo=UTC), "pix-v2-2017-12"),
    (datetime(2020, 12, 31, 23, 0, tzinfo=UTC), "pix-v2-2021-01"),
    (datetime(2021, 4, 19, 8, tzinfo=UTC), "pix-v2-2021-04"),
    (datetime(2021, 8, 29, 21, 59, tzinfo=UTC), "pix-v2-2021-04"),
    (datetime(2021, 8, 30, 8, tzinfo=UTC), "pix-v2-2021-08"),
    (datetime(2022, 3, 15, tzinfo=UTC), "pix-v2-2022-03"),
    (datetime(2022, 5, 2, tzinfo=UTC), "pix-v2-2022-05"),
    (datetime(2023, 12, 1, 9, tzinfo=UTC), "pix-v2-2023-12"),
    (datetime(2024, 5, 15, 9, tzinfo=UTC), "pix-v2-2024-05"),
    (datetime(2030, 1, 1, tzinfo=UTC), "pix-v2-2024-05"),
])
def test_the_version_in_force_is_the_latest_that_started(at: datetime, version: str | None) -> None:
    assert _in_force(RuleTimeline.builtin(), at) == version


def test_a_retroactive_jury_version_applies_from_its_effective_date() -> None:
    timeline = RuleTimeline.builtin()
    timeline.add(_jury())
    assert _in_force(timeline, datetime(2024, 5, 31, 21, 59, tzinfo=UTC)) == "pix-v2-2024-05"
    assert _in_force(timeline, datetime(2024, 6, 12, 8, tzinfo=UTC)) == "jury-2024-09-cap-6"


def test_on_a_tie_the_version_added_later_wins() -> None:
    timeline = RuleTimeline.builtin()
    timeline.add(_jury("first", "2024-06-01T00:00:00Z"))
    timeline.add(_jury("second", "2024-06-01T02:00:00+02:00"))  # the same instant
    assert _in_force(timeline, datetime(2024, 6, 2, tzinfo=UTC)) == "second"
    assert [r.version for r in timeline.versions()][-2:] == ["first", "second"]


def test_a_version_name_is_unique() -> None:
    timeline = RuleTimeline.builtin()
    with pytest.raises(RuleDocumentInvalid) as caught:
        timeline.add(_jury(version="pix-v2-2021-04"))
    assert [p.path for p in caught.value.problems] == ["version"]
    assert len(timeline) == 8


def test_a_document_extending_an_unknown_version_is_refused() -> None:
    with pytest.raises(RuleDocumentInvalid) as caught:
        RuleTimeline().add(_jury())
    assert [p.path for p in caught.value.problems] == ["extends"]


def test_a_variant_can_extend_a_variant() -> None:
    timeline = RuleTimeline.builtin()
    timeline.add(_jury())
    rules = timeline.add({"version": "cap-6-no-trust", "extends": "jury-2024-09-cap-6",
                          "effective_from": "2024-07-01T00:00:00Z", "trust_rule": None})
    assert (rules.max_reachable_level, rules.trust_rule) == (6, None)


def test_raw_gives_the_document_as_written_and_a_fresh_copy() -> None:
    timeline = RuleTimeline.builtin()
    timeline.add(_jury())
    raw = timeline.raw("jury-2024-09-cap-6")
    assert raw == _jury()
    raw["max_reachable_level"] = 2  # type: ignore[index]
    assert timeline.raw("jury-2024-09-cap-6") == _jury()
    assert timeline.raw("nope") is None and timeline.get("nope") is None


def test_in_force_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError):
        RuleTimeline.builtin().in_force(datetime(2024, 1, 1))
