"""The vectorised what-if read from a ledger's projection (`fast_what_if`: compact inputs
from `certledger_scoring_inputs`, current results from `certledger_results`) gives the
report `what_if` gives, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

from commands.bootstrap import open_ledger
from commands.simulate import append_simulation
from projections.results import catch_up
from projections.vector_whatif import fast_what_if, load_current, load_inputs
from projections.whatif import what_if

UTC = timezone.utc
# Straddles pix-v2-2021-08 (2021-08-30): two versions in force, and the proposal a third.
START = datetime(2021, 8, 23, 8, tzinfo=UTC)  # to about 2021-09-08
PROPOSAL = {
    "version": "proposal-cap4-trust90", "extends": "pix-v2-2021-08", "effective_from": "2021-09-02T00:00:00Z",
    "max_reachable_level": 4, "trust_rule": {"min_answered_ratio": 0.9},
    "reproducibility_rate": {"high_band_from": 88},
}


def test_fast_what_if_gives_the_report_of_what_if(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        store = ledger.store
        append_simulation(ledger, candidates=300, seed=8, start=START)
        catch_up(store)
        period = {"start": datetime(2021, 8, 28, tzinfo=UTC), "end": datetime(2021, 9, 4, tzinfo=UTC)}
        questions = [(PROPOSAL, {}), (PROPOSAL, period), ("pix-v2-2017-12", {}),
                     ("pix-v2-2024-05", {"against": "pix-v2-2021-04"})]
        for proposal, options in questions:
            want = what_if(store, proposal, **options)
            got = fast_what_if(store, proposal, details=None, **options)
            assert got == want, (proposal if isinstance(proposal, str) else proposal["version"], options)
            assert want.changed > 0
            # Those of them whose result is published (the simulation publishes its sessions).
            assert 0 < want.published_changed == sum(c.published for c in want.changes)
            # What lies under the changes is said too, identically (the counts read from
            # each side's explanation; the incidents no version resolved automatically in 2017).
            assert all(c.counts_before and c.counts_after for c in want.changes)
            if proposal == "pix-v2-2017-12":
                assert any(c.incidents for c in want.changes)
            if proposal is PROPOSAL and not options:
                assert len(want.scored_under) == 3, want.scored_under  # 2021-04, 2021-08, the proposal
        # The population loaded once, asked twice.
        inputs = load_inputs(store)
        current = load_current(store, inputs)
        assert inputs.n == 300 and not inputs.anomaly.any() and not current.odd.any()
        shown = fast_what_if(store, PROPOSAL, inputs=inputs, current=current, details=3)
        want = what_if(store, PROPOSAL)
        assert shown.changed == want.changed and shown.changes == want.changes[:3]
