"""The projection's dict fold keeps exactly the facts the scoring package's fold does."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import datetime, timezone

import orjson
import pytest

from commands.simulation import simulate_events
from ledger.events import SessionFinalised
from ledger.rule_stream import genesis_events
from ledger.scoring import CertificationFacts
from ledger.streams import certification_of_stream, certification_stream, stream_of
from projections.fold import CertState, ResultsFold, SessionInfo
from tests.builders import Scenario, events
from tests.integration.results_support import population_events

RECORDED = "2024-06-12T08:00:00+00:00"


def _entries(evs):
    return [(i, "", {"event": e.to_line(), "recorded_at": RECORDED, "recorded_by": "t"})
            for i, e in enumerate(evs, start=1)]


def _reference(evs) -> dict[str, CertificationFacts]:
    """Each certification's facts by ledger.scoring's own fold over its events."""
    mine: dict[str, list] = defaultdict(list)
    sessions: dict[str, list[str]] = defaultdict(list)
    for e in evs:
        if isinstance(e, SessionFinalised):
            for cert in sessions[e.session_id]:
                mine[cert].append(e)
        elif getattr(e, "certification_id", None):
            if e.type == "CertificationStarted":
                sessions[e.session_id].append(e.certification_id)
            mine[e.certification_id].append(e)
    return {c: CertificationFacts.from_events(es, c) for c, es in mine.items()}


def _folded(evs) -> dict[str, CertificationFacts]:
    fold = ResultsFold().apply_all(_entries([*genesis_events(), *evs]))
    return {c: CertificationFacts.model_validate(s.facts) for c, s in fold.certs.items()}


def test_the_dict_fold_equals_the_scoring_fold_over_a_simulated_population():
    evs = list(simulate_events(120, 7, datetime(2024, 1, 8, 8, tzinfo=timezone.utc)))
    folded, reference = _folded(evs), _reference(evs)
    assert folded.keys() == reference.keys()
    for cert, facts in reference.items():
        assert folded[cert] == facts, cert


def test_the_dict_fold_keeps_anomalies_and_every_jury_fact():
    s = Scenario("s1")
    lines = [s.open(), *s.full_test("c1")[:-1]]
    lines += [s.incident("c1", "r1", "E4", 2), s.line("FraudReported", certification_id="c1", report_id="f1",
                                                      reported_by="centre", description="phone")]
    lines += [s.complete("c1"), s.finalise()]
    lines += [s.line("QuestionNeutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-1", reason="bug"),
              s.line("QuestionDeneutralised", certification_id="c1", question_id="c1-1.1-0", by="pix-2"),
              s.ruling("reject_for_fraud", certification_id="c1", comment="proven"),
              s.ruling("unreject", certification_id="c1"),
              s.ruling("cancel", certification_id="c1"),
              s.ruling("resolve_incident", certification_id="c1", report_id="r1", resolution="no effect"),
              s.ruling("comment", certification_id="c1", comment="seen")]
    evs = events(lines)
    assert _folded(evs) == _reference(evs)
    # The de-neutralisation keeps what it withdraws, for the explanation; one level only.
    last = _folded(evs)["c1"].jury_decisions["c1-1.1-0"]
    assert (last.neutralised, last.by, last.overrides.neutralised, last.overrides.by) == (False, "pix-2", True, "pix-1")
    assert last.overrides.overrides is None


class _CountingLoader:
    """A loader over an empty view that counts what it is asked."""

    def __init__(self) -> None:
        self.asked: list[set[str]] = []

    def load_certs(self, ids):
        self.asked.append(set(ids))
        return []

    def load_sessions(self, ids):
        self.asked.append(set(ids))
        return []

    def rule_candidates(self, since):
        return []


def _rows(evs):
    """The log as the projection reads it: undecoded, with each event's stream."""
    return [(position, stream_of(e), orjson.dumps(state))
            for (position, _, state), e in zip(_entries(evs), evs, strict=True)]


def test_a_fold_that_holds_every_state_loads_nothing_until_it_forgets():
    rows = _rows([*genesis_events(), *simulate_events(40, 7, datetime(2024, 1, 8, 8, tzinfo=timezone.utc))])
    half = len(rows) // 2
    loader = _CountingLoader()
    fold = ResultsFold(loader=loader, complete=True)
    fold.prepare(rows[:half])
    fold.apply_encoded(rows[:half])
    assert loader.asked == []
    held = set(fold.certs) | set(fold.sessions)
    fold.forget()
    assert fold.complete and fold.certs == {}
    fold.prepare(rows[half:])
    assert loader.asked == []  # still nothing to look for: what it dropped, it names
    fold.apply_encoded(rows[half:])
    asked = set().union(*loader.asked)
    assert asked and asked <= held  # only what it forgot, when a handler meets it


def test_a_released_fold_holds_no_state_and_frees_them_one_at_a_time(monkeypatch):
    """`release` (a dropped warm fold) and `forget` empty their states entry by entry: a
    `clear()` freed 10,000 certifications' states inside one bytecode, and a server's
    other threads waited for the GIL that long (`benchmarks/catch_up_pauses.py`)."""
    from projections import fold as fold_module

    rows = _rows([*genesis_events(), *simulate_events(40, 7, datetime(2024, 1, 8, 8, tzinfo=timezone.utc))])
    fold = ResultsFold(loader=_CountingLoader(), complete=True, keep_history=True)
    fold.apply_encoded(rows)
    assert fold.certs and fold.sessions and fold.histories and fold.history_results
    drained = []
    real_drain = fold_module.drain
    monkeypatch.setattr(fold_module, "drain", lambda states: (drained.append(len(states)), real_drain(states)))
    held = set(fold.certs)
    fold.forget()
    assert fold.forgotten_certs == held and drained == [len(held), len(fold.forgotten_sessions)]
    fold.release()
    assert not (fold.certs or fold.sessions or fold.forgotten_certs or fold.forgotten_sessions
                or fold.histories or fold.history_results or fold.pending)
    states = {"a": [1], "b": [2]}
    real_drain(states)
    assert states == {}


class _ViewLoader:
    """A loader over what a fold had persisted: copies of its states after each page."""

    def __init__(self) -> None:
        self.certs: dict[str, CertState] = {}
        self.sessions: dict[str, SessionInfo] = {}
        self.asked_certs: set[str] = set()

    def persist(self, fold: ResultsFold) -> None:
        self.certs.update({c: copy.deepcopy(s) for c, s in fold.certs.items()})
        self.sessions.update({i: copy.deepcopy(s) for i, s in fold.sessions.items()})

    def load_certs(self, ids):
        self.asked_certs |= set(ids)
        return [copy.deepcopy(self.certs[c]) for c in ids if c in self.certs]

    def load_sessions(self, ids):
        return [copy.deepcopy(self.sessions[s]) for s in ids if s in self.sessions]

    def rule_candidates(self, since):
        return [(c.certification_id, c.started_at, c.rule_version) for c in self.certs.values()
                if c.seq and c.started_at >= since]


@pytest.mark.parametrize("complete", [False, True], ids=["prepared", "complete"])
def test_a_fold_that_forgets_after_every_page_loads_what_it_needs(complete):
    """A fold that forgets everything after each page ends with the same states and
    history as one that holds them all. Not complete, `prepare` finds the states a page
    touches from the rows' streams (decoding only other streams' rows and new
    certifications' starts); complete (started from an empty view), it skips `prepare`
    and its handlers load back the forgotten states they meet."""
    # With jury decisions after finalisation, publications and a retroactive rule change.
    rows = _rows([*genesis_events(), *population_events(60, seed=3)])
    whole = ResultsFold(keep_history=True).apply_encoded(rows)
    assert any(h.cause.startswith("rule version jury") for h in whole.new_history)
    loader = _ViewLoader()
    paged = ResultsFold(loader=loader, keep_history=True, complete=complete)
    prepared = []
    for start in range(0, len(rows), 97):
        before = set(loader.asked_certs)
        paged.prepare(rows[start:start + 97])
        prepared.append(loader.asked_certs - before)
        paged.apply_encoded(rows[start:start + 97])
        loader.persist(paged)
        paged.forget()
        assert paged.complete == complete
    assert any(prepared) != complete  # a complete fold's prepare asks nothing
    loader.persist(paged)
    assert {c: s.facts for c, s in loader.certs.items()} == {c: s.facts for c, s in whole.certs.items()}
    assert {c: s.result_json for c, s in loader.certs.items()} == {c: s.result_json for c, s in whole.certs.items()}
    assert {i: (s.centre_id, s.finalised, s.published, s.certifications) for i, s in loader.sessions.items()} == \
        {i: (s.centre_id, s.finalised, s.published, s.certifications) for i, s in whole.sessions.items()}
    assert [(h.certification_id, h.seq, h.cause, h.result) for h in paged.new_history] == \
        [(h.certification_id, h.seq, h.cause, h.result) for h in whole.new_history]
    assert loader.asked_certs  # it did load states, page after page


def test_a_certification_stream_names_its_certification_and_no_other_stream_does():
    evs = [*genesis_events(), *simulate_events(20, 5, datetime(2024, 1, 8, 8, tzinfo=timezone.utc))]
    named = 0
    for e in evs:
        stream = stream_of(e)
        if stream == certification_stream(getattr(e, "certification_id", None) or ""):
            assert certification_of_stream(stream) == e.certification_id
            named += 1
        else:
            assert certification_of_stream(stream) is None, stream
    assert named > len(evs) // 2
    assert certification_of_stream("session:certification:x") is None


def test_prepare_finds_a_new_certifications_session_even_behind_an_earlier_row_of_its_stream():
    """A certification's first row is its start (the ledger refuses any other), but a log
    that holds one before it still gets the session loaded: the start is looked for."""
    s = Scenario("s1")
    evs = events([s.open(), *s.full_test("c1")])
    rows = _rows([*genesis_events(), *evs])
    start = next(i for i, (_, _, raw) in enumerate(rows) if b'"CertificationStarted"' in raw)
    opened_at = next(i for i, (_, _, raw) in enumerate(rows) if b'"SessionOpened"' in raw)
    loader = _ViewLoader()
    before = ResultsFold(loader=loader)
    before.prepare(rows[:start])
    before.apply_encoded(rows[:start])
    loader.persist(before)  # the session is in the view, the certification not yet
    assert opened_at < start and "c1" not in loader.certs
    page = rows[start:]
    page = [page[1], page[0], *page[2:]]  # a served question ahead of the start
    fold = ResultsFold(loader=loader)
    fold.forget()
    fold.prepare(page)
    assert "s1" in fold.sessions and fold.sessions["s1"].centre_id == loader.sessions["s1"].centre_id
    assert fold.sessions["s1"].centre_id is not None


def test_a_complete_fold_ignores_a_second_start_of_a_certification_it_forgot():
    s = Scenario("s1")
    rows = _rows([*genesis_events(), *events([s.open(), *s.full_test("c1")])])
    loader = _ViewLoader()
    fold = ResultsFold(loader=loader, complete=True)
    fold.apply_encoded(rows)
    loader.persist(fold)
    fold.forget()
    again = next(r for r in rows if b'"CertificationStarted"' in r[2])
    fold.apply_encoded([(rows[-1][0] + 1, again[1], again[2])])
    assert "c1" not in fold.certs and loader.asked_certs == set()  # neither made anew nor loaded


def test_a_report_made_after_the_result_rescores_it_so_its_explanation_shows_the_report():
    """The example's E1 report on cert-0001 comes after its completion, before the
    finalisation: the current result's explanation used to leave it out until then."""
    from pathlib import Path

    from ledger.events import parse_event

    fixture = Path(__file__).parents[1] / "fixtures" / "session.jsonl"
    lines = [orjson.loads(line) for line in fixture.read_text().splitlines() if line.strip()]
    cut = next(i for i, line in enumerate(lines) if line["type"] == "SessionFinalised")
    done = next(i for i, line in enumerate(lines) if line["type"] == "CertificationCompleted"
                and line["certification_id"] == "cert-0001")
    report = next(i for i, line in enumerate(lines) if line["type"] == "IncidentReported"
                  and line["certification_id"] == "cert-0001")
    assert done < report < cut
    fold = ResultsFold(keep_history=True).apply_all(_entries([*genesis_events(), *map(parse_event, lines[:cut])]))
    history = fold.histories["cert-0001"]
    assert [h.cause for h in history] == ["first scoring", "incident report"]
    assert history[-1].detail == "report cert-0001-r0 (E1, question 15)"
    assert history[-1].result == history[0].result  # the report waits for the finalisation: no score moves
    reports = fold.certs["cert-0001"].public_result()["explanation"]["incidents"]
    assert [(r["report_id"], r["outcome"]) for r in reports] == [("cert-0001-r0", "awaiting_finalisation")]
