"""A whole population's scoring inputs as a few numpy arrays: what the vectorised scorer
(`projections.vector_scoring`) reads, built once from the facts the results projection
keeps (`certledger_scoring_inputs`), and cached as an .npz file.

Everything here is rule-independent: which rule version applies, and what it makes of
each question, is decided per rule set by the scorer.

Layout (n certifications, G competence groups, Q questions, I incident reports):

* per certification: `cert_ids`, `started_us` (µs since the epoch, UTC), `anomaly`
  (scored by the reference `score()`, never by the vector path: see below), `abort`
  (0 none, 1 candidate, 2 technical), `cancelled` / `fraud` (standing jury rulings),
  `n_certifiable` (profile competences with an estimated level >= 1), `n_served`
  (questions of those competences), `g_off` (its groups are g_off[i]:g_off[i+1]);
* per group, one per certifiable competence in code order (the reference's order):
  `g_comp` (index in COMPETENCE_CODES), `g_level` / `g_pix` (the profile entry, uncapped),
  `g_cert`, `q_off` (its questions are q_off[g]:q_off[g+1]);
* per question of a certifiable competence, grouped by competence (questions of other
  competences are ignored everywhere by the reference, so they are dropped; incident
  report numbers are resolved before): `q_key`, the question's rule-independent state
  packed as ((((format * 8 + group size) * 3 + abort) * 3 + jury) * 2 + 0) * 7 + answer,
  where jury is 0 none, 1 neutralised, 2 de-neutralised (its last decision), answer an
  index in STATUSES or 6 for none, and the 0 is the slot the scorer uses for "neutralised
  by an incident report";
* per incident report that some rule version could resolve automatically (the session is
  finalised, the report names an existing question of a certifiable competence), in
  ledger order: `i_cert`, `i_q` (global question index), `i_code` (index in
  `incident_codes`), `i_feat` (the question's feature bits, FEATURES), `i_status`.

Anomalies: facts the vector path does not express are scored by the reference. Not
started; a question served twice or answered twice, an answer to a question never
served, a duplicate question id (the ledger refuses these: only a bad import has them);
a question of a certifiable competence with no answer and no abort reason (the
reference's QUESTION_WITHOUT_ANSWER error: an unfinished certification); a certifiable
competence without questions; no certifiable competence; an unknown competence, answer
status or abort reason; more than 15 questions in a competence or 255 in all; absurd
profile numbers. All are errors or impossible in a sound ledger, so they are rare.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ledger.vocabulary import COMPETENCES

STATUSES = ("ok", "ko", "partially", "skipped", "timedout", "focusedOut")
NO_ANSWER = 6
ABORTS = {None: 0, "candidate": 1, "technical": 2}
ABORT_NAMES = (None, "candidate", "technical")
FEATURES = ("has_image", "has_embed", "has_attachment", "timed", "focused")  # bit i = 1 << i
COMPETENCE_CODES = tuple(sorted(COMPETENCES))
MAX_GROUP = 15  # questions per competence the vector path handles
MAX_SERVED = 255  # questions per certification
GROUP_SIZES = 8  # group sizes are clamped at 7 in the key (questions_per_competence <= 6)
KEY_PER_FORMAT = GROUP_SIZES * 3 * 3 * 2 * 7

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

_STATUS_CODE = {s: i for i, s in enumerate(STATUSES)}
_COMPETENCE_INDEX = {c: i for i, c in enumerate(COMPETENCE_CODES)}


def to_us(moment: datetime | str) -> int:
    """An aware instant as integer µs since the epoch (exact: no float)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return (moment - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def question_key(fmt: int, group_size: int, abort: int, jury: int, status: int, incident_neutralised: int = 0) -> int:
    return ((((fmt * GROUP_SIZES + min(group_size, GROUP_SIZES - 1)) * 3 + abort) * 3 + jury) * 2
            + incident_neutralised) * 7 + status


def facts_json(facts: Any) -> dict[str, Any]:
    """The JSON form the projection keeps, from a CertificationFacts or such a dict."""
    if isinstance(facts, Mapping):
        return facts  # type: ignore[return-value]
    return facts.model_dump(mode="json", exclude_defaults=True)


@dataclass
class CompactInputs:
    cert_ids: list[str]
    started_us: np.ndarray
    anomaly: np.ndarray
    abort: np.ndarray
    cancelled: np.ndarray
    fraud: np.ndarray
    n_certifiable: np.ndarray
    n_served: np.ndarray
    g_off: np.ndarray
    g_comp: np.ndarray
    g_level: np.ndarray
    g_pix: np.ndarray
    g_cert: np.ndarray
    q_off: np.ndarray
    q_key: np.ndarray
    i_cert: np.ndarray
    i_q: np.ndarray
    i_code: np.ndarray
    i_feat: np.ndarray
    i_status: np.ndarray
    formats: list[str]
    incident_codes: list[str]

    ARRAYS = ("started_us", "anomaly", "abort", "cancelled", "fraud", "n_certifiable", "n_served", "g_off",
              "g_comp", "g_level", "g_pix", "g_cert", "q_off", "q_key", "i_cert", "i_q", "i_code", "i_feat",
              "i_status")

    @property
    def n(self) -> int:
        return len(self.cert_ids)

    def started_at(self, i: int) -> datetime:
        return from_us(self.started_us[i])

    # ---------------------------------------------------------------- building
    @classmethod
    def build(cls, rows: Iterable[tuple[str, datetime | str | None, Any]]) -> CompactInputs:
        """From (certification id, started at, facts) rows, `facts` a CertificationFacts or
        its JSON form (as kept by the projection). The order is kept."""
        b = CompactBuilder()
        for cert_id, started_at, facts in rows:
            b.add(cert_id, started_at, facts_json(facts))
        return b.finish()

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> None:
        arrays = {name: getattr(self, name) for name in self.ARRAYS}
        meta = orjson.dumps({"formats": self.formats, "incident_codes": self.incident_codes})
        np.savez(path, cert_ids=np.array(self.cert_ids, dtype=str), meta=np.frombuffer(meta, dtype=np.uint8),
                 **arrays)

    @classmethod
    def load(cls, path: str | Path) -> CompactInputs:
        with np.load(path, allow_pickle=False) as data:
            meta = orjson.loads(data["meta"].tobytes())
            arrays = {name: data[name] for name in cls.ARRAYS}
            cert_ids = data["cert_ids"].tolist()
        return cls(cert_ids=cert_ids, formats=meta["formats"], incident_codes=meta["incident_codes"], **arrays)

    @classmethod
    def concatenate(cls, parts: list[CompactInputs]) -> CompactInputs:
        """Parts one after the other (vocabularies merged, keys re-encoded)."""
        formats: list[str] = []
        codes: list[str] = []
        for p in parts:
            formats += [f for f in p.formats if f not in formats]
            codes += [c for c in p.incident_codes if c not in codes]
        out: dict[str, list[np.ndarray]] = {name: [] for name in cls.ARRAYS}
        cert_ids: list[str] = []
        n = g = q = 0
        for k, p in enumerate(parts):
            last = k == len(parts) - 1
            fmt_map = np.array([formats.index(f) for f in p.formats] or [0], dtype=np.int64)
            code_map = np.array([codes.index(c) for c in p.incident_codes] or [0], dtype=np.int16)
            key = p.q_key.astype(np.int64)
            key = fmt_map[key // KEY_PER_FORMAT] * KEY_PER_FORMAT + key % KEY_PER_FORMAT
            pieces = {
                "started_us": p.started_us, "anomaly": p.anomaly, "abort": p.abort, "cancelled": p.cancelled,
                "fraud": p.fraud, "n_certifiable": p.n_certifiable, "n_served": p.n_served,
                "g_off": (p.g_off if last else p.g_off[:-1]) + g,
                "g_comp": p.g_comp, "g_level": p.g_level, "g_pix": p.g_pix, "g_cert": p.g_cert + n,
                "q_off": (p.q_off if last else p.q_off[:-1]) + q,
                "q_key": key, "i_cert": p.i_cert + n, "i_q": p.i_q + q,
                "i_code": code_map[p.i_code], "i_feat": p.i_feat, "i_status": p.i_status,
            }
            for name, value in pieces.items():
                out[name].append(value)
            cert_ids += p.cert_ids
            n, g, q = n + p.n, g + len(p.g_comp), q + len(p.q_key)
        arrays = {name: np.concatenate(values).astype(getattr(parts[0], name).dtype) for name, values in out.items()}
        return cls(cert_ids=cert_ids, formats=formats, incident_codes=codes, **arrays)

    def take(self, certs: np.ndarray) -> CompactInputs:
        """The certifications `certs` (indices, in that order) as a population of their own."""
        certs = np.asarray(certs, dtype=np.int64)
        g_count = np.diff(self.g_off)[certs]
        g_off = np.zeros(len(certs) + 1, dtype=np.int64)
        np.cumsum(g_count, out=g_off[1:])
        groups = _ranges(self.g_off[certs], g_count)
        q_count = np.diff(self.q_off)[groups]
        q_off = np.zeros(len(groups) + 1, dtype=np.int64)
        np.cumsum(q_count, out=q_off[1:])
        questions = _ranges(self.q_off[groups], q_count)
        new_cert = np.full(self.n, -1, dtype=np.int64)
        new_cert[certs] = np.arange(len(certs))
        new_q = np.full(len(self.q_key), -1, dtype=np.int64)
        new_q[questions] = np.arange(len(questions))
        # Incidents in the new certification order, each certification's in ledger order.
        kept = np.flatnonzero(new_cert[self.i_cert] >= 0)
        kept = kept[np.argsort(new_cert[self.i_cert[kept]], kind="stable")]
        return CompactInputs(
            cert_ids=[self.cert_ids[i] for i in certs.tolist()],
            started_us=self.started_us[certs], anomaly=self.anomaly[certs], abort=self.abort[certs],
            cancelled=self.cancelled[certs], fraud=self.fraud[certs], n_certifiable=self.n_certifiable[certs],
            n_served=self.n_served[certs], g_off=g_off.astype(self.g_off.dtype),
            g_comp=self.g_comp[groups], g_level=self.g_level[groups], g_pix=self.g_pix[groups],
            g_cert=np.repeat(np.arange(len(certs)), g_count).astype(self.g_cert.dtype),
            q_off=q_off.astype(self.q_off.dtype), q_key=self.q_key[questions],
            i_cert=new_cert[self.i_cert[kept]].astype(self.i_cert.dtype),
            i_q=new_q[self.i_q[kept]].astype(self.i_q.dtype), i_code=self.i_code[kept],
            i_feat=self.i_feat[kept], i_status=self.i_status[kept],
            formats=list(self.formats), incident_codes=list(self.incident_codes),
        )


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges [starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(starts.astype(np.int64) - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + offsets


class CompactBuilder:
    """Appends certifications one by one (`add(id, started_at, facts JSON)`); `finish()`."""

    def __init__(self) -> None:
        self.cert_ids: list[str] = []
        self.started = array("q")
        self.anomaly = array("b")
        self.abort = array("b")
        self.cancelled = array("b")
        self.fraud = array("b")
        self.n_certifiable = array("h")
        self.n_served = array("h")
        self.g_off = array("q", [0])
        self.g_comp = array("b")
        self.g_level = array("i")
        self.g_pix = array("i")
        self.g_cert = array("i")
        self.q_off = array("q", [0])
        self.q_key = array("i")
        self.i_cert = array("i")
        self.i_q = array("q")
        self.i_code = array("h")
        self.i_feat = array("b")
        self.i_status = array("b")
        self.formats: dict[str, int] = {}
        self.codes: dict[str, int] = {}

    def _anomalous(self, cert_id: str, started_us: int) -> None:
        self.cert_ids.append(cert_id)
        self.started.append(started_us)
        self.anomaly.append(1)
        for a in (self.abort, self.cancelled, self.fraud, self.n_certifiable, self.n_served):
            a.append(0)
        self.g_off.append(len(self.g_comp))

    def add(self, cert_id: str, started_at: datetime | str | None, f: Mapping[str, Any]) -> None:
        started_at = started_at if started_at is not None else f.get("started_at")
        started_us = to_us(started_at) if started_at is not None else 0
        if f.get("started_at") is None or f.get("served_twice") or f.get("answered_twice"):
            return self._anomalous(cert_id, started_us)
        abort = ABORTS.get(f.get("abort_reason"), -1)
        if abort < 0:
            return self._anomalous(cert_id, started_us)
        certifiable: dict[str, tuple[int, int]] = {}
        for code, entry in (f.get("profile") or {}).items():
            pix = entry["pix"]
            level = entry.get("level")
            if level is None:
                level = pix // 8
            if level >= 1:
                if code not in _COMPETENCE_INDEX or level > 10_000 or pix > 1_000_000:
                    return self._anomalous(cert_id, started_us)
                certifiable[code] = (level, pix)
        if not certifiable:
            return self._anomalous(cert_id, started_us)
        answers = f.get("answers") or {}
        decisions = f.get("jury_decisions") or {}
        questions = f.get("questions") or ()
        groups: dict[str, list[int]] = {code: [] for code in certifiable}
        seen: set[str] = set()
        for number, q in enumerate(questions):
            qid = q["question_id"]
            if qid in seen:
                return self._anomalous(cert_id, started_us)
            seen.add(qid)
            group = groups.get(q["competence"])
            if group is not None:
                group.append(number)
        if len(seen) < len(answers) or any(qid not in seen for qid in answers):
            return self._anomalous(cert_id, started_us)
        served = sum(len(g) for g in groups.values())
        if served > MAX_SERVED or any(not g or len(g) > MAX_GROUP for g in groups.values()):
            return self._anomalous(cert_id, started_us)
        # Per question: its key; its global index, for the incident reports.
        keys: list[int] = []
        where: dict[int, tuple[int, int]] = {}  # number -> (global index, answer)
        base_q = len(self.q_key)
        for code in sorted(groups):
            size = len(groups[code])
            for number in groups[code]:
                q = questions[number]
                status = answers.get(q["question_id"])
                answer = NO_ANSWER if status is None else _STATUS_CODE.get(status, -1)
                if answer < 0 or (answer == NO_ANSWER and abort == 0):
                    return self._anomalous(cert_id, started_us)
                decision = decisions.get(q["question_id"])
                jury = 0 if decision is None else (1 if decision["neutralised"] else 2)
                fmt = self.formats.setdefault(q["format"], len(self.formats))
                where[number] = (base_q + len(keys), answer)
                keys.append(question_key(fmt, size, abort, jury, answer))
        # Incident reports that a rule version could resolve (else: no effect, always).
        incidents = []
        if f.get("session_finalised"):
            for report in f.get("incidents") or ():
                number = report.get("question_number")
                if number is None or not 1 <= number <= len(questions) or (number - 1) not in where:
                    continue
                q = questions[number - 1]
                feat = sum(1 << i for i, name in enumerate(FEATURES) if q.get(name))
                qi, answer = where[number - 1]
                incidents.append((qi, self.codes.setdefault(report["code"], len(self.codes)), feat, answer))
        # All checks passed: append.
        cert = len(self.cert_ids)
        self.cert_ids.append(cert_id)
        self.started.append(started_us)
        self.anomaly.append(0)
        self.abort.append(abort)
        self.cancelled.append(1 if f.get("cancelled") else 0)
        self.fraud.append(1 if f.get("rejected_for_fraud") else 0)
        self.n_certifiable.append(len(certifiable))
        self.n_served.append(served)
        for code in sorted(groups):
            level, pix = certifiable[code]
            self.g_comp.append(_COMPETENCE_INDEX[code])
            self.g_level.append(level)
            self.g_pix.append(pix)
            self.g_cert.append(cert)
            self.q_off.append(self.q_off[-1] + len(groups[code]))
        self.g_off.append(len(self.g_comp))
        self.q_key.extend(keys)
        for qi, code, feat, answer in incidents:
            self.i_cert.append(cert)
            self.i_q.append(qi)
            self.i_code.append(code)
            self.i_feat.append(feat)
            self.i_status.append(answer)

    def finish(self) -> CompactInputs:
        def arr(a: array, dtype: Any) -> np.ndarray:
            return np.frombuffer(a, dtype=a.typecode).astype(dtype) if len(a) else np.zeros(0, dtype=dtype)

        return CompactInputs(
            cert_ids=self.cert_ids,
            started_us=arr(self.started, np.int64), anomaly=arr(self.anomaly, np.bool_),
            abort=arr(self.abort, np.int8), cancelled=arr(self.cancelled, np.bool_),
            fraud=arr(self.fraud, np.bool_), n_certifiable=arr(self.n_certifiable, np.int16),
            n_served=arr(self.n_served, np.int16), g_off=arr(self.g_off, np.int64),
            g_comp=arr(self.g_comp, np.int8), g_level=arr(self.g_level, np.int32), g_pix=arr(self.g_pix, np.int32),
            g_cert=arr(self.g_cert, np.int32), q_off=arr(self.q_off, np.int64), q_key=arr(self.q_key, np.int32),
            i_cert=arr(self.i_cert, np.int32), i_q=arr(self.i_q, np.int64), i_code=arr(self.i_code, np.int16),
            i_feat=arr(self.i_feat, np.int8), i_status=arr(self.i_status, np.int8),
            formats=list(self.formats), incident_codes=list(self.codes),
        )
