"""benchmarks/whatif_scale.py folds its simulated populations with a fold of its own (the
projection's would score every certification on the way, hours at 1,000,000), checked
against the reference `CertificationFacts.from_events` on a sample only when a population
is generated. Populations are cached across runs, so when the facts gained the jury of a
ruling and what a neutralisation overrides, nothing ran that check until a new machine
generated its population again, and the benchmark failed there. This checks the
benchmark's fold against the reference on every certification of a small population,
in the suite, where a change to the facts is made."""

from __future__ import annotations

import sys
from pathlib import Path

from ledger.events import CertificationStarted
from ledger.scoring import CertificationFacts

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_what_if_benchmark_folds_the_facts_the_reference_folds(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(BENCHMARKS), *sys.path])
    import whatif_scale

    events = list(whatif_scale.simulate_events(1000, 7, whatif_scale.START, days=whatif_scale.DAYS))
    folded = {cid: facts for cid, _, facts in whatif_scale.fold_facts(iter(events))}
    by_session: dict[str, list] = {}
    for event in events:
        key = getattr(event, "session_id", None) or getattr(event, "certification_id", None)
        if key:
            by_session.setdefault(key.split("-c")[0], []).append(event)

    started = [e for e in events if type(e) is CertificationStarted]
    assert len(folded) == len({e.certification_id for e in started}) > 900
    for event in started:
        reference = CertificationFacts.from_events(by_session[event.session_id], event.certification_id)
        assert CertificationFacts.model_validate(folded[event.certification_id]) == reference, event.certification_id

    # The population holds the facts this check exists for, or it would prove nothing.
    rulings = [f[k] for f in folded.values() for k in ("cancelled", "rejected_for_fraud") if k in f]
    assert any(ruling.get("jury") for ruling in rulings)
    assert any("overrides" in d for f in folded.values() for d in f.get("jury_decisions", {}).values())
