"""The vectorised what-if: two sides of `vector_scoring`'s columns compared into the report
`projections.whatif.compare` writes (`fast_compare`), and the loading of a ledger's
population and current results from the projection's tables (`load_inputs`,
`load_current`, `store_readers`, `fast_what_if`).

Apart from the scorer because they answer another question: the scorer turns facts into
results under a rule set; this module asks what changes between two sets of results,
hands the few certifications the columns cannot express to the reference, and reads the
store, which the scorer never does.

    inputs = load_inputs(store)                             # once
    report = fast_compare(inputs, current, timeline, facts_for=..., current_for=...)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ledger.scoring import CertificationFacts
from projections.compact import COMPETENCE_CODES, CompactBuilder, CompactInputs
from projections.vector_scoring import (
    ERRORS,
    STARTED,
    STATUS_NAMES,
    VERSIONS,
    ResultColumns,
    RulesSpec,
    segment_sums,
    rules_callable,
    score_columns,
    version_index,
)


# --------------------------------------------------------------------------- comparison
FactsFor = Callable[[Sequence[str]], Mapping[str, Any]]
CurrentFor = Callable[[Sequence[str]], Mapping[str, Any]]


@dataclass
class Comparison:
    """The counts of a what-if, before the report is written."""

    compared: int = 0
    transitions: Counter = field(default_factory=Counter)  # (before, after) status names
    differences: Counter = field(default_factory=Counter)
    up: Counter = field(default_factory=Counter)
    down: Counter = field(default_factory=Counter)
    scored_under: Counter = field(default_factory=Counter)
    changed: np.ndarray | None = None  # bool per certification
    rescored_unchanged: int = 0  # another version, the same outcome (whatif.WhatIfReport's)
    reference_changes: dict[int, Any] = field(default_factory=dict)  # index -> CertificationChange


def compare_columns(inputs: CompactInputs, before: ResultColumns, after: ResultColumns, lane: np.ndarray) -> Comparison:
    """whatif._Tally over the certifications in `lane`, from columns."""
    out = Comparison(compared=int(lane.sum()))
    bs, as_ = before.status.astype(np.int64), after.status.astype(np.int64)
    pairs = np.bincount((bs * 5 + as_)[lane], minlength=25)
    for p in np.flatnonzero(pairs).tolist():
        out.transitions[(STATUS_NAMES[p // 5], STATUS_NAMES[p % 5])] += int(pairs[p])
    scored = lane & (as_ != STARTED)
    under = np.bincount(after.version[scored], minlength=len(VERSIONS.values))
    for v in np.flatnonzero(under).tolist():
        if VERSIONS.values[v] is not None:
            out.scored_under[VERSIONS.values[v]] += int(under[v])
    both = scored & (bs != STARTED) & before.marks & after.marks  # a score on each side (an error has none)
    diffs, counts = np.unique((after.pix.astype(np.int64) - before.pix)[both], return_counts=True)
    out.differences.update(dict(zip(diffs.tolist(), counts.tolist())))
    # Competence marks: compared where both sides have them.
    marked = lane & before.marks & after.marks
    gm = marked[inputs.g_cert]
    up = gm & (after.level > before.level)
    down = gm & (after.level < before.level)
    comp = inputs.g_comp.astype(np.int64)
    for name, flags in (("up", up), ("down", down)):
        counts_c = np.bincount(comp[flags], minlength=len(COMPETENCE_CODES))
        counter = getattr(out, name)
        for j in np.flatnonzero(counts_c).tolist():
            counter[COMPETENCE_CODES[j]] += int(counts_c[j])
    mark_diff = segment_sums((gm & ((after.level != before.level) | (after.gpix != before.gpix))).astype(np.int64),
                              inputs.g_off) > 0
    one_sided = (before.marks != after.marks) & (np.diff(inputs.g_off) > 0)
    outcome = ((before.status != after.status) | (before.reasons != after.reasons) | _errors_differ(before, after)
               | (before.pix != after.pix) | (before.rate != after.rate))
    out.changed = lane & (outcome | mark_diff | one_sided)
    out.rescored_unchanged = int((scored & (before.version != after.version) & ~out.changed).sum())
    return out


def _errors_differ(before: ResultColumns, after: ResultColumns) -> np.ndarray:
    """Where the two sides' errors differ but for the version they name (whatif's
    `error_apart_from_version`); errors are few, so their texts are compared one by one."""
    from projections.whatif import error_apart_from_version

    differ = before.error != after.error
    for i in np.flatnonzero(differ & (before.error != 0) & (after.error != 0)).tolist():
        b = error_apart_from_version(ERRORS.values[before.error[i]], VERSIONS.values[before.version[i]])
        a = error_apart_from_version(ERRORS.values[after.error[i]], VERSIONS.values[after.version[i]])
        differ[i] = a != b
    return differ


def _reference_compare(inputs: CompactInputs, certs: list[int], current_for: CurrentFor, facts_for: FactsFor,
                       rules_for: RulesSpec, baseline_for: RulesSpec | None) -> Any:
    from projections.whatif import compare

    ids = [inputs.cert_ids[i] for i in certs]
    facts = facts_for(ids)
    current = current_for(ids)

    def rows():
        for i, cid in zip(certs, ids):
            one = facts[cid]
            if not isinstance(one, CertificationFacts):
                one = CertificationFacts.model_validate(one)
            yield cid, inputs.started_at(i), one

    return compare(rows(), current, rules_callable(rules_for),
                   baseline_for=None if baseline_for is None else rules_callable(baseline_for))


def fast_compare(inputs: CompactInputs, current: ResultColumns | Mapping[str, Any], rules_for: RulesSpec, *,
                 baseline_for: RulesSpec | None = None, facts_for: FactsFor | None = None,
                 current_for: CurrentFor | None = None, details: int | None = 20) -> Any:
    """`projections.whatif.compare`, vectorised: the same WhatIfReport (compared,
    scored_under, status_transitions, score_differences, competence_changes; `changed`
    is the number of certifications that changed), except that `changes` holds only the
    first `details` of them in input order (None: all), each built by the reference.

    `current`: the current results as ResultColumns (with `current_for` to fetch the few
    result dicts the reference needs), or a mapping certification id -> result like
    `compare`'s. `facts_for(ids)` gives those certifications' facts (CertificationFacts or
    their JSON form): needed for anomalies, odd current results and the detailed changes.
    `rules_for` / `baseline_for`: a RuleSet (forced), a RuleTimeline (in force at each
    start), or a function of the start (asked once per distinct start)."""
    from projections.whatif import (
        STATUS_ORDER,
        CompetenceLevelChanges,
        ScoreDifference,
        StatusTransition,
        WhatIfReport,
    )

    if not isinstance(current, ResultColumns):
        mapping = current
        current = ResultColumns.from_results(inputs, mapping)
        current_for = current_for or (lambda ids: {i: mapping.get(i) for i in ids})
    has_result = current.status != STARTED
    after = score_columns(inputs, rules_for)
    after.take_from(current, ~has_result | (version_index(inputs, rules_for)[0] < 0), inputs)
    before = current
    if baseline_for is not None:
        before = score_columns(inputs, baseline_for)
        before.take_from(current, ~has_result | (version_index(inputs, baseline_for)[0] < 0), inputs)
    slow = has_result & (inputs.anomaly | current.odd)
    result = compare_columns(inputs, before, after, ~slow)
    slow_certs = np.flatnonzero(slow).tolist()
    if slow_certs:
        if facts_for is None or current_for is None:
            raise ValueError(f"{len(slow_certs)} certifications need the reference: give facts_for and current_for")
        report = _reference_compare(inputs, slow_certs, current_for, facts_for, rules_for, baseline_for)
        result.compared += report.compared
        for t in report.status_transitions:
            result.transitions[(t.before, t.after)] += t.count
        for d in report.score_differences:
            result.differences[d.difference] += d.count
        for cl in report.competence_changes:
            result.up[cl.code] += cl.up
            result.down[cl.code] += cl.down
        result.scored_under.update(report.scored_under)
        result.rescored_unchanged += report.rescored_unchanged
        where = {inputs.cert_ids[i]: i for i in slow_certs}
        for change in report.changes:
            result.reference_changes[where[change.certification_id]] = change
            result.changed[where[change.certification_id]] = True  # type: ignore[index]
    changed = np.flatnonzero(result.changed).tolist()  # type: ignore[arg-type]
    published_changed = 0 if current.published is None else int(current.published[changed].sum())
    shown = changed if details is None else changed[:details]
    explain = [i for i in shown if i not in result.reference_changes]
    if explain:
        if facts_for is None or current_for is None:
            raise ValueError("detailed changes need facts_for and current_for (or details=0)")
        report = _reference_compare(inputs, explain, current_for, facts_for, rules_for, baseline_for)
        found = {c.certification_id: c for c in report.changes}
        for i in explain:
            change = found.get(inputs.cert_ids[i])
            if change is None:
                raise AssertionError(f"vectorised and reference what-if disagree on {inputs.cert_ids[i]}")
            result.reference_changes[i] = change
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    transitions = sorted(result.transitions.items(),
                         key=lambda kv: (rank.get(kv[0][0], 99), rank.get(kv[0][1], 99), kv[0]))
    return WhatIfReport(
        compared=result.compared,
        changed=len(changed),
        scored_under=dict(sorted(result.scored_under.items())),
        rescored_unchanged=result.rescored_unchanged,
        published_changed=published_changed,
        status_transitions=tuple(StatusTransition(before=b, after=a, count=n) for (b, a), n in transitions),
        score_differences=tuple(ScoreDifference(difference=d, count=n) for d, n in sorted(result.differences.items()) if n),
        competence_changes=tuple(
            CompetenceLevelChanges(code=c, up=result.up[c], down=result.down[c])
            for c in sorted(code for code in set(result.up) | set(result.down) if result.up[code] or result.down[code])
        ),
        changes=tuple(result.reference_changes[i] for i in shown),
    )


# --------------------------------------------------------------------------- the store
PAGE = 20_000


def load_inputs(store: Any, started_from: datetime | None = None, started_to: datetime | None = None) -> CompactInputs:
    """The compact inputs of the certifications started in [started_from, started_to]
    (inclusive), from the results projection's `certledger_scoring_inputs`, ordered as
    `projections.inputs.scoring_inputs` yields them (start, then id). The one-time load:
    keep the result and pass it to `fast_what_if(..., inputs=)` for later questions."""
    from projections.inputs import raw_scoring_inputs

    builder = CompactBuilder()
    for cert_id, started_at, facts in raw_scoring_inputs(store, started_from, started_to):
        builder.add(cert_id, started_at, facts)
    return builder.finish()


def load_current(store: Any, inputs: CompactInputs) -> ResultColumns:
    """The current results (`certledger_results`) of `inputs`' certifications, as columns."""
    import orjson

    from projections.views import ResultsViews

    views = ResultsViews(store)
    found: dict[str, dict[str, Any]] = {}
    ids = inputs.cert_ids
    for lo in range(0, len(ids), PAGE):
        chunk = ids[lo:lo + PAGE]
        where, params = views.in_list("certification_id", chunk)
        if views.pg:  # the explanation stays on the server
            text = ("SELECT certification_id, status, j->>'reasons', j->>'error', j->>'reproducibility_rate', "
                    "pix_score, rule_version, j->>'competences', published FROM certledger_results r, "
                    f"LATERAL (SELECT r.result::json AS j OFFSET 0) parsed WHERE {where}")
            for cid, status, reasons, error, rate, pix, version, competences, published in views.query(text, params):
                found[cid] = {"status": status, "reasons": orjson.loads(reasons) if reasons else [],
                              "error": error, "reproducibility_rate": None if rate is None else int(rate),
                              "pix_score": pix, "rule_version": version,
                              "competences": orjson.loads(competences) if competences else {},
                              "published": bool(published)}
        else:
            query = f"SELECT certification_id, result, published FROM certledger_results WHERE {where}"
            for cid, result, published in views.query(query, params):
                found[cid] = {**orjson.loads(result), "published": bool(published)}
    return ResultColumns.from_results(inputs, found)


def store_readers(store: Any) -> tuple[FactsFor, CurrentFor]:
    """(facts_for, current_for) reading the projection's tables, for the few
    certifications the reference must see."""
    import orjson

    from projections.results import PUBLIC_COLUMNS, public_from_row
    from projections.views import ResultsViews

    views = ResultsViews(store)

    def facts_for(ids: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for lo in range(0, len(ids), 1000):
            where, params = views.in_list("certification_id", ids[lo:lo + 1000])
            for cid, facts in views.query(f"SELECT certification_id, facts FROM certledger_scoring_inputs WHERE {where}", params):
                out[cid] = orjson.loads(facts)
        return out

    def current_for(ids: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for lo in range(0, len(ids), 1000):
            where, params = views.in_list("certification_id", ids[lo:lo + 1000])
            text = f"SELECT {PUBLIC_COLUMNS} FROM certledger_results WHERE {where}"
            for row in views.query(text, params):
                out[row[0]] = public_from_row(row)
        return out

    return facts_for, current_for


def fast_what_if(store: Any, proposal: Mapping[str, Any] | str, *, against: str | None = None,
                 start: datetime | None = None, end: datetime | None = None, details: int | None = 20,
                 inputs: CompactInputs | None = None, current: ResultColumns | None = None) -> Any:
    """`projections.whatif.what_if`, vectorised: the same report, with `changes` holding
    the first `details` changed certifications (None: all; `changed` counts them all).

    `inputs` / `current`: the population already loaded (`load_inputs`, `load_current`)
    for [start, end], to skip the one-time load; reads only, like `what_if`."""
    from projections.results import load_timeline
    from projections.whatif import finished, plan

    timeline = load_timeline(store)
    _, _, header = plan(timeline, proposal, against)  # validates and inserts a proposal
    chosen = timeline.get(header["proposal"])
    assert chosen is not None
    after: RulesSpec = chosen if (isinstance(proposal, str) or against is not None) else timeline
    before: RulesSpec | None = timeline.get(header["baseline"]) if against is not None else None
    from projections.views import read_snapshot

    with read_snapshot(store):  # the inputs and the current results of one moment (a catch-up may run meanwhile)
        if inputs is None:
            inputs = load_inputs(store, start, end)
        if current is None:
            current = load_current(store, inputs)
        facts_for, current_for = store_readers(store)
        report = fast_compare(inputs, current, after, baseline_for=before, facts_for=facts_for,
                              current_for=current_for, details=details)
    return finished(report, header, timeline, start, end)
