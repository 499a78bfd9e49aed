"""The reproducibility rate's rounding and bands, and the trust rule's threshold, as the
rule documents define them (§3.1, §3.5)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.rules import ReproducibilityRate, TrustRule

PIX = ReproducibilityRate(rounding="half_up", fail_below=50, middle_band_from=70, high_band_from=80)


@pytest.mark.parametrize("correct, answered, rate", [
    (5, 8, 63),  # 62.5 rounds half up to 63 (Python's round() gives 62)
    (1, 8, 13),  # 12.5 -> 13 (round() gives 12)
    (3, 8, 38),  # 37.5 -> 38
    (7, 8, 88),  # 87.5 -> 88
    (2, 3, 67),  # 66.67 -> 67
    (1, 3, 33),  # 33.33 -> 33
    (23, 47, 49),  # 48.94 -> 49
    (24, 48, 50),
    (0, 0, 0),  # no answered question: 0
    (3, 3, 100),
])
def test_the_rate_rounds_halves_up(correct: int, answered: int, rate: int) -> None:
    assert PIX.percent(correct, answered) == rate


def test_other_roundings_a_jury_may_choose() -> None:
    even = PIX.model_copy(update={"rounding": "half_even"})
    down = PIX.model_copy(update={"rounding": "down"})
    assert (even.percent(5, 8), even.percent(7, 8), down.percent(2, 3)) == (62, 88, 66)


@pytest.mark.parametrize("rate, band", [
    (100, "high"), (80, "high"), (79, "middle"), (70, "middle"), (69, "low"), (50, "low"), (0, "low"),
])
def test_bands_start_at_80_and_70(rate: int, band: str) -> None:
    assert PIX.band(rate) == band


@pytest.mark.parametrize("served, required", [
    (15, 10),  # 0.66 x 15 = 9.9 -> 10
    (48, 32),  # 0.66 x 48 = 31.68 -> 32
    (18, 12),  # 11.88 -> 12
    (14, 10),  # 9.24 -> 10
    (50, 33),  # exactly 33: no rounding up
    (0, 0),
])
def test_the_trust_rule_requires_the_ceiling_of_066_times_served(served: int, required: int) -> None:
    assert TrustRule(min_answered_ratio=Decimal("0.66")).required(served) == required
