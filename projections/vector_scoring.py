"""Scoring a whole population at once with numpy (issue 6, target 2), for the what-if
comparison on top of it (`projections.vector_whatif`): results identical to the reference
`ledger.scoring.score()` applied certification by certification, which stays the reference
every fast path is tested against (tests/unit/test_vector_scoring.py).

    inputs = CompactInputs.build(rows)                      # or load_inputs(store), once
    scored = score_columns(inputs, timeline)                # or a RuleSet
    report = fast_compare(inputs, current, timeline, facts_for=..., current_for=...)

(`load_inputs` and `fast_compare` are `projections.vector_whatif`'s.)

How (the reference's §3 steps, pix_v2.py, in array form):

* Per rule set, a lookup table gives each question's contribution from its packed
  rule-independent state (`CompactInputs.q_key`: format, competence size, abort reason,
  jury decision, answer): the abort's skip or neutralisation, the jury's word, the
  QROCM-dep weight and the `partially` credit, as bit fields (rate denominator,
  numerator, N, Z, C) of one int64. Incident reports are judged per rule set on their
  own small arrays (condition, answer as it stood at finalisation, neutralise or
  re-mark) and the questions they touch get another key.
* Contributions are summed per competence (`np.add.reduceat`) and per certification
  (cumulative sums): rate (integer half-up, half-even or down), band, trust rule.
* The level table becomes a cube indexed by (N, C, Z, band): V / D / X or no row;
  marks, capping, totals, then the status conditions as a 6-bit mask whose status and
  reasons are looked up.
* What makes a certification unscorable under a rule set (too few certifiable
  competences, no level-table row) is computed too, and its error text written as the
  reference writes it. What the compact inputs cannot express (`CompactInputs.anomaly`)
  is left to the reference.

Certifications under different rule versions: the version of each is found with
`np.searchsorted` over the timeline's effective dates; each run of certifications under
one version (inputs ordered by start: a handful of runs) is scored with that version's
tables, in blocks that stay in the CPU caches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ledger.rules import BANDS, RuleSet, RuleTimeline
from ledger.rules.incident_policy import CONDITION_FEATURES
from ledger.scoring import CertificationFacts, Result, score
from projections.compact import (
    COMPETENCE_CODES,
    FEATURES,
    KEY_PER_FORMAT,
    NO_ANSWER,
    STATUSES,
    CompactInputs,
    _ranges,
    from_us,
    to_us,
)

STATUS_NAMES = ("validated", "rejected", "cancelled", "error", "started")  # whatif.STATUS_ORDER
VALIDATED, REJECTED, CANCELLED, ERROR, STARTED = range(5)
_STATUS_CODE = {s: i for i, s in enumerate(STATUS_NAMES)}
OK, PARTIALLY, SKIPPED = STATUSES.index("ok"), STATUSES.index("partially"), STATUSES.index("skipped")
BLOCK = 32_768  # certifications per block
MAX_RUNS = 256  # runs of one version scored in place; beyond, each version is gathered apart

# The status conditions (status.py), in precedence order: bit i of a certification's mask.
CONDITIONS = (
    ("cancelled", "CANCELLED_BY_JURY"),
    ("rejected", "FRAUD"),
    ("cancelled", "TOO_MANY_NEUTRALISATIONS"),
    ("cancelled", "LACK_OF_ANSWERS_FOR_TECHNICAL_REASON"),
    ("rejected", "INSUFFICIENT_CORRECT_ANSWERS"),
    ("rejected", "NO_PIX_CERTIFIED"),
)


class Interner:
    """Values (reason tuples, error texts, version names) as small integers, shared by
    every column set of the process so that ids compare across sides.

    Shared by threads too: the server runs what-ifs in its thread pool. Unlocked, two
    requests interning new values at once could give two values one id (a change hidden
    in a comparison, or a wrong text shown) or one value two ids (a change invented)."""

    def __init__(self, first: Any) -> None:
        self.values: list[Any] = [first]
        self.ids: dict[Any, int] = {first: 0}
        self.lock = threading.Lock()

    def id(self, value: Any) -> int:
        found = self.ids.get(value)  # (a value once interned keeps its id: read unlocked)
        if found is None:
            with self.lock:
                found = self.ids.get(value)
                if found is None:
                    # The value before its id: a reader unlocked finds an id only once
                    # `values` holds what it names.
                    self.values.append(value)
                    found = self.ids[value] = len(self.values) - 1
        return found


REASONS = Interner(())
ERRORS = Interner(None)
VERSIONS = Interner(None)

_MASK_STATUS = np.zeros(64, dtype=np.int8)
_MASK_REASONS = np.zeros(64, dtype=np.int32)
for _mask in range(64):
    _held = [CONDITIONS[b] for b in range(6) if _mask >> b & 1]
    _MASK_STATUS[_mask] = _STATUS_CODE[_held[0][0]] if _held else VALIDATED
    _MASK_REASONS[_mask] = REASONS.id(tuple(code for _, code in _held))


# --------------------------------------------------------------------------- columns
@dataclass
class ResultColumns:
    """One side of a comparison, per certification of a CompactInputs (and per group for
    the competence marks). `odd`: not representable here (an anomaly, or a stored result
    whose marks do not match the certifiable competences): the reference handles it, and
    `objects` may hold its Result or result dict."""

    status: np.ndarray  # int8, STATUS_NAMES
    reasons: np.ndarray  # int32, REASONS
    error: np.ndarray  # int32, ERRORS
    rate: np.ndarray  # int16, -1: none
    pix: np.ndarray  # int32, -1: none
    version: np.ndarray  # int32, VERSIONS
    marks: np.ndarray  # bool: has competence marks (no error)
    level: np.ndarray  # int16 per group
    gpix: np.ndarray  # int32 per group
    odd: np.ndarray  # bool
    objects: dict[int, Any] = field(default_factory=dict)
    # The current result is published (current results only: a scored side has none).
    published: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, groups: int) -> ResultColumns:
        return cls(
            status=np.full(n, STARTED, dtype=np.int8), reasons=np.zeros(n, dtype=np.int32),
            error=np.zeros(n, dtype=np.int32), rate=np.full(n, -1, dtype=np.int16),
            pix=np.full(n, -1, dtype=np.int32), version=np.zeros(n, dtype=np.int32),
            marks=np.zeros(n, dtype=np.bool_), level=np.zeros(groups, dtype=np.int16),
            gpix=np.zeros(groups, dtype=np.int32), odd=np.zeros(n, dtype=np.bool_),
        )

    def copy(self) -> ResultColumns:
        names = ("status", "reasons", "error", "rate", "pix", "version", "marks", "level", "gpix", "odd")
        return ResultColumns(**{k: getattr(self, k).copy() for k in names}, objects=dict(self.objects),
                             published=None if self.published is None else self.published.copy())

    def take_from(self, other: ResultColumns, certs: np.ndarray, inputs: CompactInputs) -> None:
        """Copy `other`'s values for the certifications `certs` (boolean mask)."""
        for name in ("status", "reasons", "error", "rate", "pix", "version", "marks", "odd"):
            getattr(self, name)[certs] = getattr(other, name)[certs]
        groups = certs[inputs.g_cert]
        self.level[groups] = other.level[groups]
        self.gpix[groups] = other.gpix[groups]
        for i in np.flatnonzero(certs).tolist():
            if i in other.objects:
                self.objects[i] = other.objects[i]
            else:
                self.objects.pop(i, None)

    def side(self, i: int, inputs: CompactInputs) -> dict[str, Any]:
        """Certification i as a public-result-like dict (status, reasons, error, rate,
        pix_score, rule_version, competences)."""
        if i in self.objects:
            found = self.objects[i]
            return found.model_dump(mode="json") if isinstance(found, Result) else found
        status = STATUS_NAMES[self.status[i]]
        if status == "started":
            return {"status": "started"}
        marks = {}
        if self.marks[i]:
            for g in range(inputs.g_off[i], inputs.g_off[i + 1]):
                marks[COMPETENCE_CODES[inputs.g_comp[g]]] = {"level": int(self.level[g]), "pix": int(self.gpix[g])}
        return {"status": status, "reasons": list(REASONS.values[self.reasons[i]]),
                "error": ERRORS.values[self.error[i]], "reproducibility_rate": int(self.rate[i]),
                "pix_score": int(self.pix[i]) if self.marks[i] else None, "rule_version": VERSIONS.values[self.version[i]], "competences": marks}

    @classmethod
    def from_results(cls, inputs: CompactInputs, results: Mapping[str, Any] | Callable[[int], Any]) -> ResultColumns:
        """From results (public result dicts, as the projection serves them, or Result
        objects; missing or None: `started`) by certification id, or a function of the
        certification's index."""
        get = results if callable(results) else (lambda i: results.get(inputs.cert_ids[i]))  # type: ignore[union-attr]
        out = cls.empty(inputs.n, len(inputs.g_comp))
        out.published = np.zeros(inputs.n, dtype=np.bool_)
        g_off, g_comp = inputs.g_off, inputs.g_comp
        for i in range(inputs.n):
            result = get(i)
            if result is None:
                continue
            if isinstance(result, Result):
                status, reasons, error = result.status, result.reasons, result.error
                rate, pix, version = result.reproducibility_rate, result.pix_score, result.rule_version
                marks = {code: (m.level, m.pix) for code, m in result.competences.items()}
            else:
                out.published[i] = bool(result.get("published"))  # (a Result is a scoring: it has none)
                status = result.get("status") or "started"
                if status == "started":
                    continue
                reasons, error = tuple(result.get("reasons") or ()), result.get("error")
                rate, pix, version = result.get("reproducibility_rate"), result.get("pix_score"), result.get("rule_version")
                marks = {code: (m.get("level"), m.get("pix")) for code, m in (result.get("competences") or {}).items()}
            code = _STATUS_CODE.get(status)
            if pix is None and not marks:
                pix = 0  # unscorable, so no score: its column holds 0, which `side` gives back as None
            odd = bool(inputs.anomaly[i]) or code is None or code == STARTED or rate is None or pix is None
            if not odd:
                out.status[i], out.rate[i], out.pix[i] = code, rate, pix
                out.reasons[i], out.error[i], out.version[i] = REASONS.id(tuple(reasons)), ERRORS.id(error), VERSIONS.id(version)
                if marks:
                    groups = range(g_off[i], g_off[i + 1])
                    if len(marks) != len(groups):
                        odd = True
                    else:
                        out.marks[i] = True
                        for g in groups:
                            mark = marks.get(COMPETENCE_CODES[g_comp[g]])
                            if mark is None or mark[0] is None or mark[1] is None:
                                odd = True
                                break
                            out.level[g], out.gpix[g] = mark
            if odd:
                out.odd[i] = True
                out.status[i] = code if code is not None else ERROR
                out.objects[i] = result
        return out


# --------------------------------------------------------------------------- rule tables
class _Tables:
    """What one rule set makes of every possible question state, level-table triple,
    incident report and status mask, for one population's vocabularies."""

    def __init__(self, rules: RuleSet, formats: Sequence[str], codes: Sequence[str]) -> None:
        self.rules = rules
        self.version_id = VERSIONS.id(rules.version)
        qpc, qrocm = rules.questions_per_competence, rules.qrocm_dep
        self.qpc = qpc
        # Questions: key -> packed contribution.
        k = np.arange(max(len(formats), 1) * KEY_PER_FORMAT, dtype=np.int64)
        status, incident, jury = k % 7, (k // 7) % 2, (k // 14) % 3
        abort, size, fmt = (k // 42) % 3, (k // 126) % 8, k // KEY_PER_FORMAT
        is_qrocm = np.array([f == qrocm.format for f in formats] or [False])[fmt]
        weighted = (size < qpc) & is_qrocm
        weight = np.where(weighted, qrocm.weight, 1)
        skips = np.array([False, rules.unanswered_on_abort.candidate == "skipped",
                          rules.unanswered_on_abort.technical == "skipped"])
        self.abort_skips = skips
        unanswered, aborted = status == NO_ANSWER, abort > 0
        counted_as = np.where(unanswered & aborted & skips[abort], SKIPPED, status)
        neutralised = (unanswered & aborted & ~skips[abort]) | (incident == 1)
        neutralised = np.where(jury == 1, True, np.where(jury == 2, False, neutralised))
        counts = ~neutralised & (counted_as != NO_ANSWER)
        ok = counts & (counted_as == OK)
        c = np.where(ok, weight, 0) + np.where(~neutralised & (counted_as == PARTIALLY) & weighted, qrocm.partially_credit, 0)
        z = np.where(neutralised, weight, 0)
        self.lut = (counts.astype(np.int64) | (ok.astype(np.int64) << 8) | (weight.astype(np.int64) << 24)
                    | (z.astype(np.int64) << 32) | (c.astype(np.int64) << 40))
        # Level table: (N, C, Z, band) -> 0 no row, 1 V, 2 D, 3 X.
        cube = np.zeros((64, 8, 64, 3), dtype=np.int8)
        cells = {"V": 1, "D": 2, "X": 3}
        for (n, cc, zz), index in rules.__pydantic_private__["_level_index"].items():  # type: ignore[index]
            if n < 64 and cc < 8 and zz < 64:
                row = rules.level_table[index]
                cube[n, cc, zz] = [cells[row.cell(b)] for b in BANDS]
        self.cube = cube.reshape(-1)
        # Rate, band, trust.
        policy = rules.reproducibility_rate
        self.rounding, self.fail_below = policy.rounding, policy.fail_below
        self.middle, self.high = policy.middle_band_from, policy.high_band_from
        self.required = (np.array([rules.trust_rule.required(s) for s in range(256)], dtype=np.int32)
                         if rules.trust_rule is not None else None)
        self.top, self.ppl = rules.max_reachable_level, rules.pix_per_level
        self.min_certifiable = rules.min_certifiable_competences
        # Incident reports, by code: has a rule; condition bits; per counted-as answer,
        # neutralised, or the answer it is re-marked to (-1: not eligible).
        n_codes = max(len(codes), 1)
        self.inc_rule = np.zeros(n_codes, dtype=np.bool_)
        self.inc_cond = np.zeros(n_codes, dtype=np.int8)
        self.inc_neut = np.zeros((n_codes, 6), dtype=np.bool_)
        self.inc_remark = np.full((n_codes, 6), -1, dtype=np.int8)
        for i, code in enumerate(codes):
            rule = rules.automatic_resolution.get(code)
            if rule is None:
                continue
            self.inc_rule[i] = True
            self.inc_cond[i] = sum(1 << FEATURES.index(f) for f in CONDITION_FEATURES[rule.when])
            for s, name in enumerate(STATUSES):
                if name in rule.neutralise_answers:
                    self.inc_neut[i, s] = True
                elif name in rule.remark_answers:
                    self.inc_remark[i, s] = STATUSES.index(rule.remark_answers[name])  # type: ignore[index]
        self.any_incident_rule = bool(self.inc_rule.any())

    def percent(self, correct: np.ndarray, answered: np.ndarray) -> np.ndarray:
        a = np.maximum(answered, 1)
        if self.rounding == "half_up":
            rate = (200 * correct + a) // (2 * a)
        elif self.rounding == "half_even":
            q, r = np.divmod(100 * correct, a)
            rate = q + ((2 * r > a) | ((2 * r == a) & (q % 2 == 1)))
        else:
            rate = 100 * correct // a
        return np.where(answered == 0, 0, rate)


_TABLES: dict[tuple, _Tables] = {}


def _tables(rules: RuleSet, inputs: CompactInputs) -> _Tables:
    key = (id(rules), rules.version, tuple(inputs.formats), tuple(inputs.incident_codes))
    found = _TABLES.get(key)
    if found is None or found.rules is not rules:
        if len(_TABLES) > 256:
            _TABLES.clear()
        found = _TABLES[key] = _Tables(rules, inputs.formats, inputs.incident_codes)
    return found


# --------------------------------------------------------------------------- rules per certification
RulesSpec = RuleSet | RuleTimeline | Callable[[datetime], RuleSet | None]


def version_index(inputs: CompactInputs, rules_for: RulesSpec) -> tuple[np.ndarray, list[RuleSet]]:
    """(index in the returned rule sets per certification, -1: none applies)."""
    if isinstance(rules_for, RuleSet):
        return np.zeros(inputs.n, dtype=np.int32), [rules_for]
    timeline = rules_for if isinstance(rules_for, RuleTimeline) else None
    if timeline is None and getattr(rules_for, "__func__", None) is RuleTimeline.in_force:
        timeline = rules_for.__self__  # type: ignore[union-attr]
    if timeline is not None:
        # in_force: the greatest effective_from not after the start; on a tie, the later
        # added, which versions() puts last: searchsorted(side="right") - 1.
        versions = timeline.versions()
        starts = np.array([to_us(v.effective_from) for v in versions], dtype=np.int64)
        return (np.searchsorted(starts, inputs.started_us, side="right") - 1).astype(np.int32), versions
    # Any other function of the start: asked once per distinct start (slow for many).
    distinct, inverse = np.unique(inputs.started_us, return_inverse=True)
    found: dict[int, int] = {}
    rulesets: list[RuleSet] = []
    per_start = np.empty(len(distinct), dtype=np.int32)
    for j, us in enumerate(distinct.tolist()):
        rules = rules_for(from_us(us))  # type: ignore[operator]
        if rules is None:
            per_start[j] = -1
            continue
        if id(rules) not in found:
            found[id(rules)] = len(rulesets)
            rulesets.append(rules)
        per_start[j] = found[id(rules)]
    return per_start[inverse.reshape(-1)], rulesets


def rules_callable(rules_for: RulesSpec) -> Callable[[datetime], RuleSet | None]:
    if isinstance(rules_for, RuleSet):
        return lambda _at: rules_for
    if isinstance(rules_for, RuleTimeline):
        return rules_for.in_force
    return rules_for


# --------------------------------------------------------------------------- scoring
def score_columns(inputs: CompactInputs, rules_for: RulesSpec, *,
                  facts_for: Callable[[Sequence[str]], Mapping[str, Any]] | None = None,
                  block: int = BLOCK) -> ResultColumns:
    """Every certification scored under `rules_for` (a RuleSet, a RuleTimeline, or a
    function of the start). Certifications no rule set applies to stay `started`.
    Anomalies are `odd`; with `facts_for`, the reference scores them (`objects`)."""
    out = ResultColumns.empty(inputs.n, len(inputs.g_comp))
    vidx, rulesets = version_index(inputs, rules_for)
    bounds = np.flatnonzero(np.diff(vidx)) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, inputs.n]
    if len(starts) <= MAX_RUNS:
        for a, b in zip(starts.tolist(), ends.tolist()):
            if b > a and vidx[a] >= 0:
                tables = _tables(rulesets[vidx[a]], inputs)
                for lo in range(a, b, block):
                    _score_block(inputs, lo, min(lo + block, b), tables, out)
    else:
        for v, rules in enumerate(rulesets):
            certs = np.flatnonzero(vidx == v)
            if len(certs):
                part = score_columns(inputs.take(certs), rules, block=block)
                _scatter(out, part, certs, inputs)
    out.odd[:] = inputs.anomaly & (vidx >= 0)
    if facts_for is not None:
        wanted = np.flatnonzero(out.odd).tolist()
        if wanted:
            facts = facts_for([inputs.cert_ids[i] for i in wanted])
            for i in wanted:
                one = facts[inputs.cert_ids[i]]
                if not isinstance(one, CertificationFacts):
                    one = CertificationFacts.model_validate(one)
                out.objects[i] = score(one, rulesets[vidx[i]])
    return out


def _scatter(out: ResultColumns, part: ResultColumns, certs: np.ndarray, inputs: CompactInputs) -> None:
    for name in ("status", "reasons", "error", "rate", "pix", "version", "marks", "odd"):
        getattr(out, name)[certs] = getattr(part, name)
    groups = _ranges(inputs.g_off[certs], np.diff(inputs.g_off)[certs])
    out.level[groups] = part.level
    out.gpix[groups] = part.gpix


def segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sums of values[offsets[i]:offsets[i+1]] (empty segments give 0)."""
    c = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=c[1:])
    return c[offsets[1:]] - c[offsets[:-1]]


def _score_block(inp: CompactInputs, a: int, b: int, t: _Tables, out: ResultColumns) -> None:
    ga, gb = int(inp.g_off[a]), int(inp.g_off[b])
    if gb == ga:
        return  # only anomalies
    qa, qb = int(inp.q_off[ga]), int(inp.q_off[gb])
    contrib = t.lut[inp.q_key[qa:qb]]
    if t.any_incident_rule and len(inp.i_cert):
        ia, ib = np.searchsorted(inp.i_cert, [a, b])
        if ib > ia:
            _incidents(inp, int(ia), int(ib), t, contrib, qa)
    gsum = np.add.reduceat(contrib, inp.q_off[ga:gb] - qa)
    g_local = inp.g_off[a:b + 1] - ga
    low = segment_sums(gsum & 0xFFFF, g_local)
    answered, correct = low & 0xFF, low >> 8
    rate = t.percent(correct, answered)
    band = np.where(rate >= t.high, 0, np.where(rate >= t.middle, 1, 2))
    failed = rate < t.fail_below
    # Per competence.
    gc = inp.g_cert[ga:gb] - a
    n = (gsum >> 24) & 0xFF
    z = (gsum >> 32) & 0xFF
    c = np.minimum((gsum >> 40) & 0xFF, t.qpc)
    cell = t.cube[((n * 8 + c) * 64 + z) * 3 + band[gc]]
    no_row = cell == 0
    cell = np.where(failed[gc], 3, cell)
    level, pix = inp.g_level[ga:gb], inp.g_pix[ga:gb]
    valid, down = cell == 1, cell == 2
    lv = np.where(valid, level, np.where(down, level - 1, -1))
    px = np.where(valid, pix, np.where(down, np.maximum(pix - t.ppl, 0), 0))
    np.minimum(lv, t.top, out=lv)
    np.minimum(px, t.top * t.ppl, out=px)
    total = segment_sums(px, g_local)
    no_rows = segment_sums(no_row, g_local)
    # Status.
    cancelled, fraud = inp.cancelled[a:b], inp.fraud[a:b]
    mask = cancelled.astype(np.int32) | (fraud.astype(np.int32) << 1)
    if t.required is not None:
        mask |= (answered < t.required[inp.n_served[a:b]]).astype(np.int32) << 2
    mask |= ((inp.abort[a:b] == 2) & failed).astype(np.int32) << 3
    mask |= failed.astype(np.int32) << 4
    mask |= (~failed & (total <= 0)).astype(np.int32) << 5
    errors = (no_rows > 0) | (inp.n_certifiable[a:b] < t.min_certifiable)
    out.status[a:b] = _MASK_STATUS[mask]
    out.reasons[a:b] = _MASK_REASONS[mask]
    out.error[a:b] = 0
    out.rate[a:b] = rate
    out.pix[a:b] = total
    out.version[a:b] = t.version_id
    out.marks[a:b] = ~errors
    out.level[ga:gb] = lv
    out.gpix[ga:gb] = px
    for i in np.flatnonzero(errors & ~inp.anomaly[a:b]).tolist():
        _error_result(inp, a + i, t, n, c, z, no_row, ga, out)


def _error_result(inp: CompactInputs, i: int, t: _Tables, n: np.ndarray, c: np.ndarray, z: np.ndarray,
                  no_row: np.ndarray, ga: int, out: ResultColumns) -> None:
    """An unscorable certification, as unscorable.py and pix_v2._competences say it."""
    problems = []
    k = int(inp.n_certifiable[i])
    if k < t.min_certifiable:
        problems.append(("TOO_FEW_CERTIFIABLE_COMPETENCES", f"{k} certifiable competences, at least {t.min_certifiable} needed"))
    for g in range(int(inp.g_off[i]), int(inp.g_off[i + 1])):
        j = g - ga
        if no_row[j]:
            problems.append(("NO_LEVEL_RULE", f"competence {COMPETENCE_CODES[inp.g_comp[g]]}: no certified-level rule "
                             f"for N/C/Z = {n[j]}/{c[j]}/{z[j]} in version {t.rules.version}"))
    reasons = (("CANCELLED_BY_JURY",) if inp.cancelled[i] else ()) + tuple(p for p, _ in problems) \
        + (("FRAUD",) if inp.fraud[i] else ())
    out.status[i] = CANCELLED if inp.cancelled[i] else ERROR
    out.reasons[i] = REASONS.id(reasons)
    out.error[i] = ERRORS.id("; ".join(m for _, m in problems))
    out.pix[i] = 0
    out.marks[i] = False


def _incidents(inp: CompactInputs, ia: int, ib: int, t: _Tables, contrib: np.ndarray, qa: int) -> None:
    """incidents.py: each report judged on the answer as it stood at finalisation (after
    the abort), then the effects, neutralisation winning, the last re-marking kept."""
    code, status, feat = inp.i_code[ia:ib], inp.i_status[ia:ib], inp.i_feat[ia:ib]
    abort = inp.abort[inp.i_cert[ia:ib]]
    judged = np.where(status != NO_ANSWER, status, np.where(t.abort_skips[abort], SKIPPED, NO_ANSWER))
    cond = t.inc_cond[code]
    met = t.inc_rule[code] & ((cond == 0) | ((feat & cond) != 0)) & (judged != NO_ANSWER)
    s = np.minimum(judged, 5)
    neutralise = met & t.inc_neut[code, s]
    remark = met & ~neutralise & (t.inc_remark[code, s] >= 0)
    effective = np.flatnonzero(neutralise | remark)
    if not len(effective):
        return
    state: dict[int, list[int]] = {}
    questions = inp.i_q[ia:ib]
    for k in effective.tolist():
        q = int(questions[k])
        now = state.get(q)
        if now is None:
            now = state[q] = [0, int(judged[k])]
        if neutralise[k]:
            now[0] = 1
        else:
            now[1] = int(t.inc_remark[code[k], s[k]])
    index = np.fromiter(state.keys(), dtype=np.int64, count=len(state))
    flags = np.array(list(state.values()), dtype=np.int64)
    keys = (inp.q_key[index].astype(np.int64) // 14) * 14 + flags[:, 0] * 7 + flags[:, 1]
    contrib[index - qa] = t.lut[keys]
