"""Every row of the certified-level tables (§3.4), in every rate band.

Set-up of each case: the target competence 1.1 (35 pix, estimated level 4) gets N
questions: C answered ok, Z answered ko then neutralised by the jury, the rest ko. Four
filler competences (3 questions each, 24 pix) steer the rate: with a = N - Z target
questions answered, of which C correct, and f filler questions ok out of 12,
    rate = (C + f) / (a + 12), rounded half up.
Expected outcome: V -> level 4, 35 pix; D -> level 3, 27 pix; X -> level -1, 0 pix.
"""

from __future__ import annotations

import pytest

from tests.unit.test_scoring_support import FILLER_COMPETENCES, Certification

MARK = {"V": (4, 35), "D": (3, 27), "X": (-1, 0)}
OUTCOME = {"V": "validated", "D": "downgraded", "X": "uncertified"}


def _certification(n: int, c: int, z: int, filler_ok: int) -> Certification:
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    target = [cert.question("1.1", "ok" if i < c else "ko") for i in range(n)]
    cert.fillers(ok=filler_ok)
    cert.complete().finalise()
    for qid in target[n - z:]:  # the last Z target questions, all answered ko
        cert.neutralise(qid)
    return cert


# (N, C, Z, band, f, rate, cell): rate = (C + f) / (N - Z + 12), the cell from §3.4.
NEUTRALISATION_ERA = [
    # 3 | 3 | 0 | 3 OK | V V V
    (3, 3, 0, "high", 9, 80, "V"),  # 12/15 = 80
    (3, 3, 0, "middle", 8, 73, "V"),  # 11/15 = 73.3
    (3, 3, 0, "low", 6, 60, "V"),  # 9/15 = 60
    # 3 | 2 | 0 | 2 OK, 1 KO | V D D
    (3, 2, 0, "high", 10, 80, "V"),
    (3, 2, 0, "middle", 9, 73, "D"),
    (3, 2, 0, "low", 7, 60, "D"),
    # 3 | 2 | 1 | 2 OK, 1 neutralised | V V V
    (3, 2, 1, "high", 10, 86, "V"),  # 12/14 = 85.7
    (3, 2, 1, "middle", 8, 71, "V"),  # 10/14 = 71.4
    (3, 2, 1, "low", 6, 57, "V"),  # 8/14 = 57.1
    # 3 | 1 | 0 | 1 OK, 2 KO | X X X
    (3, 1, 0, "high", 11, 80, "X"),
    (3, 1, 0, "middle", 10, 73, "X"),
    (3, 1, 0, "low", 8, 60, "X"),
    # 3 | 1 | 1 | 1 OK, 1 KO, 1 neutralised | V D X
    (3, 1, 1, "high", 11, 86, "V"),
    (3, 1, 1, "middle", 9, 71, "D"),
    (3, 1, 1, "low", 7, 57, "X"),
    # 3 | 1 | 2 | 1 OK, 2 neutralised | V V D
    (3, 1, 2, "high", 11, 92, "V"),  # 12/13 = 92.3
    (3, 1, 2, "middle", 9, 77, "V"),  # 10/13 = 76.9
    (3, 1, 2, "low", 7, 62, "D"),  # 8/13 = 61.5
    # 3 | 0 | 0..3 | no OK | X X X
    (3, 0, 0, "high", 12, 80, "X"),
    (3, 0, 0, "middle", 11, 73, "X"),
    (3, 0, 0, "low", 9, 60, "X"),
    (3, 0, 1, "high", 12, 86, "X"),
    (3, 0, 1, "middle", 10, 71, "X"),
    (3, 0, 1, "low", 8, 57, "X"),
    (3, 0, 2, "high", 12, 92, "X"),
    (3, 0, 2, "middle", 10, 77, "X"),
    (3, 0, 2, "low", 8, 62, "X"),
    (3, 0, 3, "high", 12, 100, "X"),  # 12/12
    (3, 0, 3, "middle", 9, 75, "X"),  # 9/12
    (3, 0, 3, "low", 7, 58, "X"),  # 7/12 = 58.3
    # 2 | 2 | 0 | 2 OK | V V V
    (2, 2, 0, "high", 10, 86, "V"),
    (2, 2, 0, "middle", 8, 71, "V"),
    (2, 2, 0, "low", 6, 57, "V"),
    # 2 | 1 | 0 | 1 OK, 1 KO | V D X
    (2, 1, 0, "high", 11, 86, "V"),
    (2, 1, 0, "middle", 9, 71, "D"),
    (2, 1, 0, "low", 7, 57, "X"),
    # 2 | 1 | 1 | 1 OK, 1 neutralised | V V D
    (2, 1, 1, "high", 11, 92, "V"),
    (2, 1, 1, "middle", 9, 77, "V"),
    (2, 1, 1, "low", 7, 62, "D"),
    # 2 | 0 | 0..2 | no OK | X X X
    (2, 0, 0, "high", 12, 86, "X"),
    (2, 0, 0, "middle", 10, 71, "X"),
    (2, 0, 0, "low", 8, 57, "X"),
    (2, 0, 1, "high", 12, 92, "X"),
    (2, 0, 1, "middle", 10, 77, "X"),
    (2, 0, 1, "low", 8, 62, "X"),
    (2, 0, 2, "high", 12, 100, "X"),
    (2, 0, 2, "middle", 9, 75, "X"),
    (2, 0, 2, "low", 7, 58, "X"),
    # 1 | 1 | 0 | 1 OK | V V D
    (1, 1, 0, "high", 11, 92, "V"),
    (1, 1, 0, "middle", 9, 77, "V"),
    (1, 1, 0, "low", 7, 62, "D"),
    # 1 | 0 | 0..1 | no OK | X X X
    (1, 0, 0, "high", 12, 92, "X"),
    (1, 0, 0, "middle", 10, 77, "X"),
    (1, 0, 0, "low", 8, 62, "X"),
    (1, 0, 1, "high", 12, 100, "X"),
    (1, 0, 1, "middle", 9, 75, "X"),
    (1, 0, 1, "low", 7, 58, "X"),
]


def _check(version: str, n: int, c: int, z: int, band: str, f: int, rate: int, cell: str) -> None:
    result = _certification(n, c, z, f).score(version)
    target = result.explanation.competences["1.1"]
    assert result.reproducibility_rate == rate and result.explanation.rate.band == band
    assert (target.N, target.C, target.Z) == (n, c, z)
    assert target.row is not None and target.row.cell == cell and target.outcome == OUTCOME[cell]
    assert (result.competences["1.1"].level, result.competences["1.1"].pix) == MARK[cell]


@pytest.mark.parametrize("n, c, z, band, f, rate, cell", NEUTRALISATION_ERA)
def test_the_neutralisation_era_table(n: int, c: int, z: int, band: str, f: int, rate: int, cell: str) -> None:
    _check("pix-v2-2024-05", n, c, z, band, f, rate, cell)


@pytest.mark.parametrize("n, c, z, band, f, rate, cell", NEUTRALISATION_ERA[:9])
def test_the_table_is_the_same_since_april_2021(n: int, c: int, z: int, band: str, f: int, rate: int, cell: str) -> None:
    _check("pix-v2-2021-04", n, c, z, band, f, rate, cell)


# Before April 2021 (§3.4, last paragraph): no neutralisation, so Z = 0 throughout.
PRE_APRIL_2021 = [
    (3, 3, 0, "high", 9, 80, "V"), (3, 3, 0, "middle", 8, 73, "V"), (3, 3, 0, "low", 6, 60, "V"),  # 3 OK: V
    (3, 2, 0, "high", 10, 80, "V"), (3, 2, 0, "middle", 9, 73, "D"), (3, 2, 0, "low", 7, 60, "D"),  # 2 OK: V if >= 80 else D
    (3, 1, 0, "high", 11, 80, "X"), (3, 1, 0, "middle", 10, 73, "X"), (3, 1, 0, "low", 8, 60, "X"),  # at most 1 OK: X
    (3, 0, 0, "high", 12, 80, "X"), (3, 0, 0, "middle", 11, 73, "X"), (3, 0, 0, "low", 9, 60, "X"),
    (2, 2, 0, "high", 10, 86, "V"), (2, 2, 0, "middle", 8, 71, "V"), (2, 2, 0, "low", 6, 57, "V"),  # 2 OK: V
    (2, 1, 0, "high", 11, 86, "V"), (2, 1, 0, "middle", 9, 71, "D"), (2, 1, 0, "low", 7, 57, "X"),  # 1 OK: V / D / X
    (2, 0, 0, "high", 12, 86, "X"), (2, 0, 0, "middle", 10, 71, "X"), (2, 0, 0, "low", 8, 57, "X"),  # 0 OK: X (implied)
]


@pytest.mark.parametrize("version", ["pix-v2-2017-12", "pix-v2-2021-01"])
@pytest.mark.parametrize("n, c, z, band, f, rate, cell", PRE_APRIL_2021)
def test_the_pre_april_2021_table(version: str, n: int, c: int, z: int, band: str, f: int, rate: int, cell: str) -> None:
    _check(version, n, c, z, band, f, rate, cell)


@pytest.mark.parametrize("n, c, z", [(3, 2, 1), (2, 1, 1), (1, 1, 0)])
def test_the_pre_april_2021_table_has_no_rule_for_a_neutralisation_or_a_single_question(n: int, c: int, z: int) -> None:
    result = _certification(n, c, z, 12).score("pix-v2-2021-01")
    assert (result.status, result.reasons) == ("error", ("NO_LEVEL_RULE",))
    assert f"no certified-level rule for N/C/Z = {n}/{c}/{z}" in (result.error or "")
    assert result.competences == {} and result.pix_score is None  # no score for what cannot be scored


def test_the_row_that_fired_can_be_found_in_the_document() -> None:
    result = _certification(3, 1, 1, 9).score("pix-v2-2024-05")
    row = result.explanation.competences["1.1"].row
    assert row is not None
    assert (row.path, row.defined_in, row.meaning) == ("level_table[4]", "pix-v2-2021-04", "1 OK, 1 KO, 1 neutralised")
    assert (row.N, row.C, row.Z, row.band, row.cell) == ("3", "1", "1", "middle", "D")


def test_a_row_with_a_range_is_shown_as_written() -> None:
    row = _certification(3, 0, 2, 12).score("pix-v2-2024-05").explanation.competences["1.1"].row
    assert row is not None and (row.path, row.Z) == ("level_table[6]", "0..3")


@pytest.mark.parametrize("f, rate, band, cell", [
    # N3 C1 Z1 (V D X) with 6 filler competences (18 questions): rate = (1 + f) / 20.
    (13, 70, "middle", "D"),  # 14/20 = 70: the middle band starts at 70
    (15, 80, "high", "V"),  # 16/20 = 80: the high band starts at 80
])
def test_band_boundaries_at_70_and_80(f: int, rate: int, band: str, cell: str) -> None:
    fillers = ("2.1", "2.2", "3.1", "3.2", "4.1", "4.2")
    cert = Certification().start({"1.1": 35, **{code: 24 for code in fillers}})
    cert.question("1.1", "ok"), cert.question("1.1", "ko")
    neutralised = cert.question("1.1", "ko")
    cert.fillers(ok=f, competences=fillers)
    cert.complete().finalise()
    cert.neutralise(neutralised)
    result = cert.score("pix-v2-2024-05")
    assert (result.reproducibility_rate, result.explanation.rate.band) == (rate, band)
    assert result.explanation.competences["1.1"].row.cell == cell  # type: ignore[union-attr]


@pytest.mark.parametrize("f, rate, band, cell", [
    # N3 C1 Z1 with 9 filler competences (27 questions): rate = (1 + f) / 29.
    (19, 69, "low", "X"),  # 20/29 = 68.97 -> 69
    (22, 79, "middle", "D"),  # 23/29 = 79.31 -> 79
])
def test_band_boundaries_just_below_70_and_80(f: int, rate: int, band: str, cell: str) -> None:
    fillers = ("2.1", "2.2", "3.1", "3.2", "4.1", "4.2", "4.3", "5.1", "5.2")
    cert = Certification().start({"1.1": 35, **{code: 24 for code in fillers}})
    cert.question("1.1", "ok"), cert.question("1.1", "ko")
    neutralised = cert.question("1.1", "ko")
    cert.fillers(ok=f, competences=fillers)
    cert.complete().finalise()
    cert.neutralise(neutralised)
    result = cert.score("pix-v2-2024-05")
    assert (result.reproducibility_rate, result.explanation.rate.band) == (rate, band)
    assert result.explanation.competences["1.1"].row.cell == cell  # type: ignore[union-attr]
