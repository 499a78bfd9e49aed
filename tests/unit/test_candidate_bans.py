"""A candidate's bans as the ledger folds them (§5: "a ban from the certification for a set
period"), and their lifting by the jury (`unban`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ledger.aggregates import CandidateState
from ledger.events import JuryRuling

T = datetime(2024, 6, 1, tzinfo=timezone.utc)
JURY = [{"member_id": m, "external": m.startswith("ext")} for m in ("pix-1", "pix-2", "ext-1", "ext-2")]


def folded(rulings: list[JuryRuling]) -> CandidateState:
    state = CandidateState()
    for r in rulings:
        state.apply(r)
    return state


def ruling(decision: str, ruling_id: str, at: datetime, **fields) -> JuryRuling:
    return JuryRuling(ruling_id=ruling_id, decision=decision, candidate_id="cand", jury=JURY, at=at, **fields)


def test_a_lifting_ends_the_bans_in_force_at_its_moment_and_leaves_a_later_one_whole():
    state = folded([
        ruling("ban_candidate", "b1", T, until=T + timedelta(days=365)),
        ruling("ban_candidate", "b2", T + timedelta(days=10), until=T + timedelta(days=20)),
        ruling("ban_candidate", "later", T + timedelta(days=100), until=T + timedelta(days=200)),
        ruling("unban", "u1", T + timedelta(days=15)),
    ])
    lifted = T + timedelta(days=15)
    assert [(b.ruling_id, b.end, b.lifted) for b in state.bans] == [
        ("b1", lifted, ("u1", lifted)), ("b2", lifted, ("u1", lifted)), ("later", T + timedelta(days=200), None)]
    assert [b.until for b in state.bans][:2] == [T + timedelta(days=365), T + timedelta(days=20)]  # as decided
    assert state.banned_at(lifted - timedelta(microseconds=1)) == lifted
    assert state.banned_at(lifted) is None  # free from the lifting's instant
    assert state.banned_at(T + timedelta(days=150)) == T + timedelta(days=200)


def test_a_second_lifting_dated_earlier_within_the_ban_moves_its_end_back():
    state = folded([
        ruling("ban_candidate", "b1", T, until=T + timedelta(days=365)),
        ruling("unban", "u1", T + timedelta(days=30)),
        ruling("unban", "u2", T + timedelta(days=3)),
        ruling("unban", "u3", T + timedelta(days=40)),  # (refused by recording: no ban then; a no-op here)
    ])
    (ban,) = state.bans
    assert ban.lifted == ("u2", T + timedelta(days=3)) and ban.end == T + timedelta(days=3)
    assert state.version == 4
