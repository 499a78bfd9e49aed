"""Verifying a ledger: its log is whole, and its read models are what the log derives.

`verify(store)` reads the ledger in one snapshot and checks:

* **events**: every stored event decodes, is a valid fact of its type under its topic,
  lies in the stream its content names, and each stream's versions run 1, 2, 3… with
  no gap (the tables refuse UPDATE and DELETE, but not whoever can drop a trigger);
* **event ids**: the index the ledger judges duplicates by names each `event_id` and
  each ruling id at the fact that carries it, with that fact's digest, and nothing else;
* **session membership**: the table a finalisation is checked against lists each
  started certification in its session, and nothing else;
* **commit times**: the commit rows an as-of answer goes by (`certledger_commits`)
  never step back, and cover the log. Events after the last row (written by a release
  that kept no commit times) are noted: no as-of answer holds them until a later
  commit covers them. So are recorded times that step back in log order among the
  events from before the commit rows, which as-of answers still go by: within such a
  step one holds a later event without an earlier one. (Later steps back, of batches
  judged in one order and committed in another, are counted, harmless.);
* **hash chain**: each commit row's link (`storage.chain`, migration 014) is the digest
  of the events it covers chained to the link before it, recomputed from the events as
  they are stored: an event changed, removed or inserted after its commit breaks its
  link (and a superuser who rewrote the links too is caught by a link an auditor kept:
  `expect_chain`). The head (the last link) is reported for the auditor to keep;
* **results**: each certification's current result (explanation included), its
  history of results and its scoring input, and each session's row, equal what a
  replay of its streams derives up to the projection's position: what `audit` and the
  API serve is what the log says. (A read model can be written by whoever can write
  the database; the log cannot be changed without the triggers being dropped.)

Nothing is written: the projection is verified at its own position, however far behind
the log it is.

`verify_since(store, kept)` checks the hash chain alone after a link kept from an
earlier verify, reading only the events after it: the check an auditor repeats daily,
at the cost of what was appended since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import ValidationError

from ledger.events import (
    EVENT_TYPES,
    CertificationStarted,
    RuleVersionChanged,
    SessionOpened,
    line_problems,
    parse_event,
)
from ledger.decisions import judge_rule_version
from ledger.errors import DomainError
from ledger.rule_stream import GENESIS_REASON, RulesState
from ledger.recorded import RULING_KEY_PREFIX, UNINDEXED_DIGEST, digest_of, ruling_digest, ruling_key_of
from ledger.streams import RULES_STREAM, certification_stream, session_stream, stream_of
from projections.asof import by_recorded_ranges, known_at
from projections.fold import ResultsFold, started_result, utc_iso
from projections.results import ResultsReader
from projections.views import ResultsViews, as_text, read_snapshot
from storage.chain import CHAIN_TABLE, kept_form, step
from storage.store import COMMITS_TABLE, EventStore

MAX_LISTED = 20  # problems listed by each check; the others are counted
PAGE = 5000
Progress = Callable[[str, int, int | None], None]  # (phase, done, total or None)


@dataclass
class Check:
    name: str
    checked: int = 0
    count: int = 0  # problems in all
    problems: list[str] = field(default_factory=list)  # the first MAX_LISTED
    notes: list[str] = field(default_factory=list)  # not defects: what an auditor should know
    summary: str = ""

    def problem(self, text: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(text)

    @property
    def ok(self) -> bool:
        return self.count == 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "checked": self.checked, "summary": self.summary,
                "problems": self.count, "listed": self.problems, "notes": self.notes}


@dataclass
class VerifyReport:
    position: int  # the log's last position in the snapshot
    projection_position: int
    checks: list[Check]
    events_behind: int = 0  # events past the projection's position (positions overstate it: unused ids)
    chain_head: tuple[int, str] | None = None  # the last link: (its position, its digest in hex)
    since: int | None = None  # `verify_since`: the kept link's position, the chain only checked after it

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        # Only a head of a log that passes is one to keep: a script reading the JSON must
        # not take the head of a failing log for one (the text offers it on the same terms).
        head = None if self.chain_head is None or not self.ok else {"position": self.chain_head[0],
                                                                     "digest": self.chain_head[1]}
        return {"ok": self.ok, "position": self.position, "projection_position": self.projection_position,
                "events_behind": self.events_behind, "chain_head": head, "since": self.since,
                "checks": [c.to_json() for c in self.checks]}


@dataclass
class _Log:
    """What the log pass learns for the results pass: each session's certifications,
    with the position of each start."""
    sessions: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def verify(store: EventStore, *, results: bool = True, progress: Progress | None = None,
           expect_chain: tuple[int, str] | None = None) -> VerifyReport:
    """`expect_chain`: (position, hex digest) of a link kept from an earlier verify: the
    chain must still have it there."""
    views = ResultsViews(store)
    tick = progress or (lambda phase, done, total: None)
    with read_snapshot(store):
        position = _max_position(views)
        projected = views.position()
        checks = [Check("events"), Check("event ids"), Check("session membership"), Check("commit times")]
        chain = _ChainWalk(views, position, Check("hash chain"))
        log = _check_log(views, position, *checks, tick, chain=chain)
        chain.finish(expect_chain)
        checks.append(chain.check)
        if results:
            checks.append(_check_results(views, log, projected, tick))
        return _report(views, position, projected, checks, chain.head)


class _ChainWalk:
    """Recomputes the log's hash chain (`storage.chain`) as the log pass reads the events,
    comparing each link as its last event is read. The links are read by pages beside
    the events (a national ledger has millions of commits); what is compared as sets,
    commit rows against links, is asked of the database.

    Two digests are carried: `local`, the chain from the stored link before, and
    `trusted`, the chain from the last link found consistent. A link that agrees with
    neither is held as pending: if a later link agrees with `trusted`, the events between
    are intact and each pending link was changed itself; if a later link agrees with
    its own predecessor only, the events of the first pending commit were changed. A
    pending link that no later one tells about (the head) is named as either."""

    def __init__(self, views: ResultsViews, up_to: int, check: Check, since: tuple[int, str] | None = None):
        """`since`: a link kept from an earlier verify, (position, hex digest): the walk
        starts at that link and reads no event before it (see `_start_at`)."""
        self.views, self.check, self.up_to, self.since = views, check, up_to, since
        first, last = views.query(f"SELECT MIN(last_position), MAX(last_position) FROM {CHAIN_TABLE}", [])[0]
        self.anchor = None if first is None else int(first)
        self.first_link = self.anchor  # (`since` moves `anchor` to the kept link)
        self.last = None if last is None else int(last)  # past the log's end too: links of events removed there
        self._page: list[tuple[int, bytes]] = []
        self._read_after = -1
        self.previous = self.upcoming = None  # (position, digest): the link compared last, the next one
        self.local = self.trusted = b""
        self.pending: list[tuple[int, int]] = []  # (first, last position) of links agreeing with neither
        self.unlinked = 0  # events read after the last link
        self.head: tuple[int, str] | None = None  # the last link, once `finish` has judged the chain
        self.kept_base: bytes | None = None  # `since`'s digest when the stored one differs, until a link tells
        self._differs = (0, "")  # (index, opening) of that finding, told more once a link tells which held
        if since is not None and self.anchor is not None:
            self._start_at(*since)
            return
        if self.anchor is not None:
            self.previous = self._take()
            self.upcoming = self._take()
            # `trusted` from the empty digest migration 014's anchor holds, `local` from what the first
            # link holds: a changed anchor leaves the links after it agreeing with the first, a deleted
            # one (the first link then taken for it) with the second (judged in `finish`).
            self.local = self.previous[1]
        self.anchor_digest = self.local

    def _start_at(self, position: int, digest_hex: str) -> None:
        """Walk from a kept link, as from an anchor: what the chain holds there must be
        what was kept, end a commit, and lie within the log; the links after it are
        judged from the one stored there."""
        stored = self.views.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE last_position = %s", [position])
        self.anchor, self.anchor_digest, self._read_after = position, b"", position
        if not stored:
            self.check.problem(f"the link kept at position {position} is not in the hash chain: the log up to there "
                               "was rewritten, or the link was kept of another ledger")
            self.anchor = None  # nothing to walk from
            return
        kept, found = bytes.fromhex(digest_hex), bytes(stored[0][0])
        if found != kept:
            self._differs = (len(self.check.problems),
                             f"the link at position {position} is {found.hex() or '(empty)'}, not {digest_hex} as kept")
            self.check.problem(f"{self._differs[1]}: the link was changed, or the log up to there rewritten with its "
                               "links (or the link was kept of another ledger)")
            # Which the next link follows tells: the one kept (that link alone was changed) or
            # the one stored (rewritten with the log before it). The walk goes on from the
            # stored one, as a full verify's would; the kept one is carried until a link agrees
            # with one or the other.
            self.kept_base = kept
        self.previous = (position, found)
        self.upcoming = self._take()
        self.local = self.trusted = found
        if position > self.up_to:
            self.check.problem(f"the link kept at position {position} is past the log's last event ({self.up_to}): "
                               "events were removed from the log's end")
        if not self.views.query(f"SELECT 1 FROM {COMMITS_TABLE} WHERE last_position = %s", [position]):
            self.check.problem(
                f"the link kept at position {position} is migration 014's anchor, which no verify offers as a head: "
                "keep a head verify printed" if self.first_link == position else
                f"the link kept at position {position} ends no commit: links written past the ledger are not a "
                "start to check from")

    def _take(self) -> tuple[int, bytes] | None:
        if not self._page:
            rows = self.views.query(f"SELECT last_position, digest FROM {CHAIN_TABLE} WHERE last_position > %s "
                                    f"ORDER BY last_position LIMIT {PAGE}", [self._read_after])
            self._page = [(int(p), bytes(d)) for p, d in reversed(rows)]
            if not self._page:
                return None
            self._read_after = self._page[0][0]
        return self._page.pop()

    def _head(self) -> tuple[int, str] | None:
        """The last link, once a commit is linked past the anchor (an anchor alone vouches
        for nothing to keep)."""
        if self.last is None or self.last == self.anchor:
            return None
        digest = self.views.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE last_position = %s", [self.last])[0][0]
        return self.last, bytes(digest).hex()

    def feed(self, position: int, stream: str, version: int, topic: str | None, state) -> None:
        if self.anchor is None or position <= self.anchor:
            return
        self._close(before=position)
        if self.kept_base is not None:
            self.kept_base = step(self.kept_base, position, stream, version, topic, state)
        after = step(self.local, position, stream, version, topic, state)
        # (The two are one while every link agrees: one step, not two, on a whole chain.)
        self.trusted = after if self.trusted == self.local else step(self.trusted, position, stream, version,
                                                                     topic, state)
        self.local = after
        if self.upcoming is not None and self.upcoming[0] == position:
            self._compare()
        elif self.upcoming is None:
            self.unlinked += 1

    def _close(self, before: int) -> None:
        """Links whose last position no event holds any more (an event removed there)."""
        while self.upcoming is not None and self.upcoming[0] < before:
            self._compare()

    def _compare(self) -> None:
        position, stored = self.upcoming
        first = self.previous[0] + 1
        self.check.checked += 1
        if self.kept_base is not None:
            # Carried until a link agrees with the chain from the one kept or from the one stored.
            index, differs = self._differs
            if self.kept_base == stored:  # the chain from the kept link holds: the links since were changed
                self.trusted = self.local = stored
                self.check.problems[index] = (
                    f"{differs}, and the next link follows the one kept: that link alone was changed"
                    if not self.pending else
                    f"{differs}, and a later link follows the one kept: it was changed, as were the links named below")
                self.kept_base = None
            elif self.trusted == stored:
                if not self.pending:  # (the first link: with links between, which base held is not told)
                    self.check.problems[index] = (f"{differs}, and the links after follow the one stored: the log "
                                                  "up to there was rewritten with its links (or the link was kept of "
                                                  "another ledger)")
                self.kept_base = None
        if self.trusted == stored:
            for _, changed in self.pending:  # the events agree with this link: those links were changed
                self.check.problem(f"the hash chain's link at position {changed} is not the one its commit wrote "
                                   "(changed or added): the events agree with the links around it")
            self.pending = []
        elif self.local == stored:
            self._events_changed()
            self.trusted = stored  # a base again: later links are judged from it
        else:
            self.pending.append((first, position))
        self.local = stored
        self.previous, self.upcoming = self.upcoming, self._take()

    def _events_changed(self) -> None:
        if self.pending:
            first, last = self.pending[0]
            self.check.problem(f"the hash chain breaks at the commit of positions {first} to {last}: its link does not "
                               "follow from the link before it and the events stored there, which were changed, "
                               "removed or inserted after they were committed (or, if the links before were rewritten "
                               "to match, events before them were)")
            for _, changed in self.pending[1:]:
                self.check.problem(f"the hash chain's link at position {changed} does not follow from the one before "
                                   "it either (its events or itself changed)")
            self.pending = []

    def _positions(self, sql: str, params: list) -> tuple[int, list[int]]:
        """(how many, the first MAX_LISTED) of a query's positions."""
        count = int(self.views.query(f"SELECT COUNT(*) FROM ({sql}) q", params)[0][0])
        listed = [int(r[0]) for r in self.views.query(f"{sql} ORDER BY 1 LIMIT {MAX_LISTED}", params)] if count else []
        return count, listed

    def finish(self, expect: tuple[int, str] | None) -> None:
        check = self.check
        if self.anchor is None:
            if self.since is None or self.last is None:
                check.problem(f"no hash chain: {CHAIN_TABLE} holds no link, not even migration 014's anchor")
            else:
                check.summary = "nothing checked: the kept link is not in the chain to start from"
            return  # (else the kept link is not there: named, and nothing to walk from)
        self._close(before=self.last + 1)  # (those past the log's end: their events are gone)
        if self.pending:
            first, last = self.pending.pop()
            self._events_changed()  # those before it: the links after them never came back to agree
            check.problem(f"the hash chain's last link checked, at position {last} (positions {first} to {last}), "
                          "agrees neither with its events nor with the links before it: its events or the link "
                          "itself changed (no later link tells which)")
        if self.anchor_digest:
            check.problem(f"the hash chain's first link, at position {self.anchor}, holds a digest where migration "
                          "014's anchor holds an empty one: the anchor was changed, or deleted (then the events up "
                          "to that link are not checked)")
        # Commit rows without a link, within the log (a commit row past its end is the commit times' finding,
        # or `since`'s below), and links without a commit row, wherever they lie.
        end = min(self.last, self.up_to)
        count, listed = self._positions(
            f"SELECT c.last_position FROM {COMMITS_TABLE} c WHERE c.last_position > %s AND c.last_position <= %s "
            f"AND NOT EXISTS (SELECT 1 FROM {CHAIN_TABLE} l WHERE l.last_position = c.last_position)", [self.anchor, end])
        for position in listed:
            check.problem(f"the commit ending at position {position} has no link in the hash chain")
        check.count += count - len(listed)
        count, listed = self._positions(  # (past the log's end too: a link there is a start a later check trusts)
            f"SELECT l.last_position FROM {CHAIN_TABLE} l WHERE l.last_position > %s "
            f"AND NOT EXISTS (SELECT 1 FROM {COMMITS_TABLE} c WHERE c.last_position = l.last_position)",
            [self.anchor])
        for position in listed:
            check.problem(f"the hash chain links position {position}, where no commit ends")
        check.count += count - len(listed)
        if self.since is not None:  # (a full verify's commit times check says it)
            covered = self.views.query(f"SELECT MAX(last_position) FROM {COMMITS_TABLE}", [])[0][0]
            if covered is not None and int(covered) > self.up_to:
                check.problem(_commit_row_past_end(int(covered), self.up_to))
        later = self.views.query(f"SELECT MIN(last_position) FROM {COMMITS_TABLE} WHERE last_position > %s "
                                 "AND last_position <= %s", [self.last, self.up_to])[0][0]
        if later is not None:
            check.problem(f"the commits after position {self.last} (from {int(later)}) have no link in the hash chain")
        elif self.unlinked:
            # In no commit row either (the commit times' note): a release before 009 writes so; nothing in
            # the log can tell such events from ones added past the triggers.
            check.notes.append(f"{self.unlinked:,} event(s) after the last link (position {self.last}) are "
                               "in no link of the chain: nothing shows they were written by the ledger")
        if expect is not None:
            kept = self.views.query(f"SELECT digest FROM {CHAIN_TABLE} WHERE last_position = %s", [expect[0]])
            if not kept:
                check.problem(f"the link kept at position {expect[0]} is not in the hash chain")
            elif bytes(kept[0][0]).hex() != expect[1].lower():
                check.problem(f"the link at position {expect[0]} is {bytes(kept[0][0]).hex() or '(empty)'}, not "
                              f"{expect[1].lower()} as kept: the log up to there is not the one that link was taken of")
        if self.since is not None:
            start = (f"the kept link at position {self.anchor:,} (the events up to it not read again: a full "
                     "verify checks them)")
        elif self.anchor == 0:
            start = "the log's start"
        else:
            start = f"position {self.anchor:,} (migration 014's anchor; the events up to it are not chained)"
        check.summary = f"{check.checked:,} commit(s) linked from {start}"
        head = self.head = self._head()
        if head is None and self.since is not None:
            head = self.head = (self.anchor, self.previous[1].hex())
            check.summary += "; no commit since it" + ("; the head is the link kept" if check.ok else "")
        elif head is None:
            check.summary += "; no commit linked yet: no head to keep"
        elif check.ok:
            check.summary += f"; head {kept_form(*head)}"
            if expect is not None:
                check.summary += f"; the kept link {kept_form(expect[0], expect[1].lower())} holds"


def verify_since(store: EventStore, kept: tuple[int, str], *, progress: Progress | None = None) -> VerifyReport:
    """The hash chain after a link kept from an earlier verify: that link is still there,
    and every commit after it follows from it and from its events (from the link stored
    there, should it differ from the one kept: that is a finding, and the walk tells
    which held). Reads only the events after it, so a daily check costs what the day
    appended; what it cannot see (an event before the link changed, the read models) a
    full `verify` does."""
    views = ResultsViews(store)
    tick = progress or (lambda phase, done, total: None)
    with read_snapshot(store):
        position = _max_position(views)
        chain = _ChainWalk(views, position, Check("hash chain"), since=kept)
        if chain.anchor is not None:
            for rows in _pages(views, position, after=kept[0]):
                for row in rows:
                    chain.feed(*row)
                tick("log", rows[-1][0] - kept[0], position - kept[0])
        chain.finish(None)
        return _report(views, position, views.position(), [chain.check], chain.head, since=kept[0])


def _report(views: ResultsViews, position: int, projected: int, checks: list[Check], head,
            since: int | None = None) -> VerifyReport:
    """The report, with the events the projection has yet to take in (read in the same
    snapshot as the checks)."""
    behind = views.events_after(projected) if projected < position else 0
    return VerifyReport(position, projected, checks, behind, head, since=since)


def _max_position(views: ResultsViews) -> int:
    """The log's end in the snapshot (`EventStore.max_position` reads outside it)."""
    return int(views.query(f"SELECT COALESCE(MAX({views.log_key}), 0) FROM {views.log_table}")[0][0])


def _pages(views: ResultsViews, up_to: int, after: int = 0) -> Iterator[list[tuple]]:
    """(position, stream, version, topic, state) of every event after `after`, in log
    order, by pages."""
    key = views.log_key
    text = (f"SELECT {key}, originator_id, originator_version, topic, state FROM {views.log_table} "
            f"WHERE {key} > %s AND {key} <= %s ORDER BY {key} LIMIT %s")
    while rows := views.query(text, [after, up_to, PAGE]):
        yield rows
        after = rows[-1][0]


def _check_log(views: ResultsViews, up_to: int, events: Check, ids: Check, members: Check, times: Check,
               tick: Progress, *, chain: _ChainWalk) -> _Log:
    log = _Log()
    refused: list[tuple[int, str]] = []  # (position, first problem) of facts an import refuses now
    rules = RulesState()
    versions: dict[str, int] = {}
    rulings: set[str] = set()  # ruling keys met so far
    matched_ids, matched_members = [0], [0]  # stored rows that a fact calls for (counted in place)
    previous: tuple[datetime, int] | None = None
    steps_back, largest = 0, (0.0, 0)
    by_recorded = _known_by_recorded_at(views)
    legacy_steps = 0
    for rows in _pages(views, up_to):
        page_ids: dict[str, tuple[str, str, int, int]] = {}  # key -> (digest, stream, version, position)
        page_starts: dict[str, tuple[str, int]] = {}  # certification -> (session, position)
        for position, stream, version, topic, raw in rows:
            events.checked += 1
            chain.feed(position, stream, version, topic, raw)
            where = f"position {position} ({stream} v{version})"
            try:
                state = orjson.loads(raw)
                line = state["event"]
                try:
                    event = parse_event(line)  # as an import judges a line now: strictly, as written
                except ValidationError as e:
                    event = EVENT_TYPES[line["type"]].model_validate(line)  # as it was accepted then
                    refused.append((position, _first_error(line["type"], e)))
                recorded_at = datetime.fromisoformat(state["recorded_at"])
                if not isinstance(state.get("recorded_by"), str):
                    raise ValueError("no recorded_by")
            except Exception as e:  # noqa: BLE001 - any unreadable event is a finding, not a crash
                events.problem(f"{where}: not a readable fact: {type(e).__name__}: {str(e)[:200]}")
                continue
            if isinstance(event, RuleVersionChanged):
                # Judged as recording judges it against the versions before it (its jury, its
                # name, its document); not the built-in ones, which `init` records itself
                # and an import of an export finds already there.
                if event.reason != GENESIS_REASON:
                    try:
                        judge_rule_version(event, rules)
                    except DomainError as e:
                        refused.append((position, f"{e.field or '(the fact)'}: {e.message}"))
                try:
                    rules.apply(event)
                except Exception as e:  # noqa: BLE001 - a finding, not a crash
                    events.problem(f"{where}: rule version {event.version} no longer resolves against the ones "
                                   f"before it ({type(e).__name__}: {str(e)[:200]}): every replay past it fails")
            if topic != f"certledger:{line['type']}@1":
                events.problem(f"{where}: stored under topic {topic} but is a {line['type']}")
            if stream_of(event) != stream:
                events.problem(f"{where}: a {line['type']} of stream {stream_of(event)} stored in {stream}")
            if version != versions.get(stream, 0) + 1:
                events.problem(f"{where}: follows version {versions.get(stream, 0)} of its stream")
            versions[stream] = version
            if previous is not None and recorded_at < previous[0]:
                steps_back += 1
                legacy_steps += by_recorded(position)
                step = (previous[0] - recorded_at).total_seconds()
                if step > largest[0]:
                    largest = (step, position)
            previous = (recorded_at, position)
            if "event_id" in line:
                page_ids[line["event_id"]] = (digest_of(line), stream, version, position)
            key = ruling_key_of(event)
            if key is not None and key not in rulings:  # a reused id (before 006) keeps its first ruling
                rulings.add(key)
                page_ids[key] = (ruling_digest(line), stream, version, position)
            if isinstance(event, CertificationStarted):
                page_starts[event.certification_id] = (event.session_id, position)
                log.sessions.setdefault(event.session_id, []).append((event.certification_id, position))
            elif isinstance(event, SessionOpened):
                log.sessions.setdefault(event.session_id, [])
        _check_page_ids(views, page_ids, ids, matched_ids)
        _check_page_members(views, page_starts, members, matched_members)
        tick("log", events.checked, up_to)
    events.summary = f"{events.checked:,} event(s) in {len(versions):,} stream(s)"
    _check_extra_rows(views, ids, "certledger_event_ids", matched_ids[0], "index row(s)")
    ids.summary = f"{ids.checked:,} id(s) indexed at their fact"
    _check_extra_rows(views, members, "certledger_session_certifications", matched_members[0], "membership row(s)")
    members.summary = f"{members.checked:,} certification(s) listed in their session"
    _check_commits(views, up_to, times)
    if refused:
        position, problem = refused[0]
        events.notes.append(
            f"{len(refused):,} fact(s) recorded before a rule that refuses them now (the first at position "
            f"{position}, {problem}): read and scored as recorded, but an export of them is refused at import into "
            "another ledger (judged: each line's fields, and each rule version's jury, name and document; not the "
            "other checks an import makes against the ledger's state)")
    if legacy_steps:
        times.notes.append(
            f"{legacy_steps:,} recorded time(s) step back in log order among the events as-of answers know by "
            f"them, the log migration 009 found or an older release's writes (the largest step "
            f"{largest[0]:.3f} s, at position {largest[1]}): an as-of answer within such a step holds a later "
            "event without an earlier one")
    if steps_back - legacy_steps:
        times.summary += (f"; {steps_back - legacy_steps:,} recorded time(s) step back in log order (batches judged "
                          "in one order, committed in another: as-of answers go by the commits)")
    return log


def _first_error(kind: str, error: ValidationError) -> str:
    field, message = line_problems(kind, error)[0]  # as an import names it
    return f"{field or '(the fact)'}: {message}"


def _known_by_recorded_at(views: ResultsViews) -> Callable[[int], bool]:
    """Whether as-of answers know a position by its recorded_at (see projections.asof;
    the same at any as-of time)."""
    return known_at(views.store, datetime.now(timezone.utc)).known_by_recorded_at


def _check_commits(views: ResultsViews, up_to: int, check: Check) -> None:
    rows = views.query(f"SELECT last_position, committed_at FROM {COMMITS_TABLE} ORDER BY last_position")
    previous = None
    for last_position, committed_at in rows:
        check.checked += 1
        if previous is not None and committed_at < previous[1]:
            check.problem(f"the commit up to position {last_position} is stamped {as_text(committed_at)}, before "
                          f"the one up to {previous[0]} ({as_text(previous[1])})")
        previous = (last_position, committed_at)
    for first, last in by_recorded_ranges(views):
        # A commit seals the positions below its own events that no commit row covers: an
        # older release's writes, or ids a rolled-back write took and left unused (a
        # refused import, on PostgreSQL), which hold no event and are no one's writes.
        if first > 1 and views.query(f"SELECT 1 FROM {views.log_table} WHERE {views.log_key} BETWEEN %s AND %s "
                                     "LIMIT 1", [first, last]):
            check.notes.append(f"the events at positions {first} to {last} were written by a release that kept no "
                               "commit times (one before migration 009, left running): as-of answers know them by "
                               "their recorded times")
    covered = max((r[0] for r in rows), default=0)
    if covered > up_to:
        check.problem(_commit_row_past_end(covered, up_to))
    check.summary = f"{check.checked:,} commit(s), each stamped at or after the one before it"
    if covered < up_to:
        check.notes.append(f"the events after position {covered} (to {up_to}) are in no commit row (written by a "
                           "release that kept no commit times, one before migration 009, left running): as-of "
                           "answers know them by their recorded times")


def _commit_row_past_end(covered: int, up_to: int) -> str:
    """A commit row beyond the log's last event: either the events it sealed were taken
    from the log's end, or the row was written without them. The log cannot tell which."""
    return (f"a commit row names position {covered}, past the log's last ({up_to}): "
            "events were removed from the log's end, or the row was added without them")


def _check_page_ids(views: ResultsViews, expected: dict[str, tuple[str, str, int, int]], check: Check,
                    matched: list[int]) -> None:
    if not expected:
        return
    where, params = views.in_list("event_id", list(expected))
    found = {r[0]: (r[1], r[2], int(r[3])) for r in views.query(
        f"SELECT event_id, digest, originator_id, originator_version FROM certledger_event_ids WHERE {where}", params)}
    for key, (digest, stream, version, position) in expected.items():
        check.checked += 1
        row = found.get(key)
        matched[0] += row is not None
        if row is None:
            check.problem(f"{key} (position {position}) is not in the index: the ledger would record it again")
        elif row[1:] != (stream, version):
            check.problem(f"{key} (position {position}) is indexed at {row[1]} v{row[2]}")
        elif row[0] != digest and not (row[0] == UNINDEXED_DIGEST and key.startswith(RULING_KEY_PREFIX)):
            check.problem(f"{key} (position {position}) is indexed with another content's digest")


def _check_page_members(views: ResultsViews, expected: dict[str, tuple[str, int]], check: Check,
                        matched: list[int]) -> None:
    if not expected:
        return
    where, params = views.in_list("certification_id", list(expected))
    found: dict[str, list[str]] = {}
    for cert, session in views.query(
            f"SELECT certification_id, session_id FROM certledger_session_certifications WHERE {where}", params):
        found.setdefault(cert, []).append(session)
    for cert, (session, position) in expected.items():
        check.checked += 1
        matched[0] += session in found.get(cert, [])
        if found.get(cert) != [session]:
            listed = ", ".join(found.get(cert, [])) or "no session"
            check.problem(f"{cert} (started at position {position} in {session}) is listed in {listed}")


def _check_extra_rows(views: ResultsViews, check: Check, table: str, matched: int, what: str) -> None:
    """Rows no fact of the log calls for: all but those the pages matched (each key once)."""
    stored = int(views.query(f"SELECT COUNT(*) FROM {table}")[0][0])
    if stored > matched:
        check.problem(f"{stored - matched:,} {what} that no fact of the log calls for")


def _check_results(views: ResultsViews, log: _Log, projected: int, tick: Progress) -> Check:
    """Each session replayed from its streams (its own, its certifications', the rules')
    up to the projection's position, compared with what the read models hold."""
    check = Check("results")
    reader = ResultsReader(views.store)
    rules = [e for e in views.stream_entries([RULES_STREAM]) if e[0] <= projected]
    replayed: set[str] = set()
    replayed_sessions: set[str] = set()
    sessions = sorted(log.sessions)
    for done, session_id in enumerate(sessions, start=1):
        certs = sorted(c for c, started in log.sessions[session_id] if started <= projected)
        streams = [session_stream(session_id), *map(certification_stream, certs)]
        try:
            own = [e for e in views.stream_entries(streams) if e[0] <= projected]
            if not own:
                continue  # opened after the projection's position
            fold = ResultsFold(keep_history=True).apply_all(sorted(own + rules))
        except Exception as e:  # noqa: BLE001 - an unreadable event (see "events") stops this session only
            check.problem(f"session {session_id}: its streams cannot be replayed: {type(e).__name__}: {str(e)[:200]}")
            replayed.update(certs)  # (not results without a start: unverified, as said)
            replayed_sessions.add(session_id)
            continue
        replayed_sessions.add(session_id)
        _compare_session(views, fold, session_id, check)
        stored = {r["certification_id"]: r for r in reader.current(session_id=session_id)}
        feed = {r[0]: r[1:] for r in views.query(
            "SELECT certification_id, position, changed, was_published, public_changed, status, pix_score, "
            "rule_version, started_at, seq, updated_at FROM certledger_results WHERE session_id = %s", [session_id])}
        histories = _stored_histories(views, certs)
        facts = _stored_facts(views, certs)
        for cert in certs:
            check.checked += 1
            replayed.add(cert)
            _compare_certification(fold, cert, stored.get(cert), histories.get(cert, []), facts.get(cert), check)
            if cert in fold.certs and cert in feed:
                _compare_feed(fold, cert, feed[cert][:4], check)
                _compare_columns(fold, cert, feed[cert][4:], check)
        tick("results", done, len(sessions))
    # Rows no fact of the log calls for, in each table the API and what-if read.
    for table, key, what in (("certledger_results", "certification_id", "a result"),
                             ("certledger_result_history", "certification_id", "a history"),
                             ("certledger_scoring_inputs", "certification_id", "a scoring input"),
                             ("certledger_result_sessions", "session_id", "a session row")):
        known = replayed_sessions if key == "session_id" else replayed
        for (extra,) in views.query(f"SELECT DISTINCT {key} FROM {table} ORDER BY {key}"):
            if extra not in known:
                check.problem(f"{extra}: {what} for a {'session' if key == 'session_id' else 'certification'} "
                              f"the log did not {'open' if key == 'session_id' else 'start'} by position {projected}")
    check.summary = (f"{check.checked:,} certification(s) in {len(sessions):,} session(s) replayed "
                     f"up to the projection's position {projected}")
    return check


def _compare_feed(fold: ResultsFold, cert: str, stored: tuple, check: Check) -> None:
    """The change feed's columns as one page holding the whole replay writes them (the
    projection's upsert, then its publication flips: views._UPSERT_RESULTS and
    _FLIP_PUBLISHED); a rebuild derives the same at any page size (tested)."""
    state = fold.certs[cert]
    session = fold.sessions.get(state.session_id)
    published = bool(session and session.published)
    changed, was, public = state.position, published, state.position if published else 0
    flip = fold.published_changed.get(state.session_id)
    if flip is not None:
        at, seen = flip
        was, changed, public = was or seen, max(changed, at), max(public, at)
    derived = (state.position, changed, was, public)
    position, s_changed, s_was, s_public = stored
    if (position, s_changed, bool(s_was), s_public) != derived:
        check.problem(f"{cert}: its change-feed position (position, changed, was_published, public_changed) is "
                      f"stored {(position, s_changed, bool(s_was), s_public)}, derived {derived}")


def _compare_columns(fold: ResultsFold, cert: str, stored: tuple, check: Check) -> None:
    """The columns a result row repeats from its result, for the filters (`--status`,
    `status=`, the start-time bounds) and what-if to read without decoding it: a row
    edited in them alone listed a validated result under `--status rejected`, and made
    what-if fail on PostgreSQL, while its body, and so `verify`, said nothing wrong."""
    state = fold.certs[cert]
    outcome = state.outcome if state.outcome is not None else started_result(cert)
    derived = {"status": outcome["status"], "pix_score": outcome["pix_score"],
               "rule_version": outcome["rule_version"], "started_at": utc_iso(state.started_at), "seq": state.seq,
               "updated_at": utc_iso(state.updated_at) if state.updated_at else ""}
    status, pix_score, rule_version, started_at, seq, updated_at = stored
    held = {"status": status, "pix_score": pix_score, "rule_version": rule_version,
            "started_at": _instant_text(started_at), "seq": seq,
            "updated_at": _instant_text(updated_at) if updated_at else ""}
    differ = [k for k in derived if held[k] != derived[k]]
    if differ:
        check.problem(f"{cert}: its row's {', '.join(differ)} "
                      f"({', '.join(f'stored {held[k]!r}, derived {derived[k]!r}' for k in differ)}) "
                      "differ from the replay's")


def _instant_text(value: Any) -> str:
    """A stored instant as UTC text, or as stored when it is no instant (a damaged row:
    it then differs from the replay's, and is named, where it stopped the check)."""
    try:
        return utc_iso(as_text(value))
    except (TypeError, ValueError):
        return repr(value)


def _stored_histories(views: ResultsViews, certs: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if not certs:
        return out
    where, params = views.in_list("certification_id", certs)
    for cert, seq, cause, detail, at, position, result in views.query(
            "SELECT certification_id, seq, cause, detail, recorded_at, position, result "
            f"FROM certledger_result_history WHERE {where} ORDER BY certification_id, seq", params):
        out.setdefault(cert, []).append({"seq": seq, "cause": cause, "detail": detail,
                                         "recorded_at": _instant_text(at), "position": position,
                                         "result": orjson.loads(result)})
    return out


def _stored_facts(views: ResultsViews, certs: list[str]) -> dict[str, Any]:
    """Each scoring input, with its start (what-if selects a period's inputs by it)."""
    if not certs:
        return {}
    where, params = views.in_list("certification_id", certs)
    return {cert: (orjson.loads(facts), _instant_text(started_at)) for cert, started_at, facts in views.query(
        f"SELECT certification_id, started_at, facts FROM certledger_scoring_inputs WHERE {where}", params)}


def _compare_session(views: ResultsViews, fold: ResultsFold, session_id: str, check: Check) -> None:
    info = fold.sessions.get(session_id)
    rows = views.query("SELECT centre_id, finalised, published FROM certledger_result_sessions "
                       "WHERE session_id = %s", [session_id])
    if info is None:
        return
    if not rows:
        check.problem(f"session {session_id}: no row in the read model")
        return
    centre, finalised, published = rows[0]
    stored = (centre, bool(finalised), bool(published))
    derived = (info.centre_id, info.finalised, info.published)
    if stored != derived:
        check.problem(f"session {session_id}: (centre, finalised, published) stored {stored}, derived {derived}")


def _compare_certification(fold: ResultsFold, cert: str, stored: dict[str, Any] | None,
                           history: list[dict[str, Any]], facts: Any, check: Check) -> None:
    state = fold.certs.get(cert)
    if state is None:
        return  # (its start lies past the projection's position)
    if stored is None:
        check.problem(f"{cert}: no result in the read model")
        return
    derived = fold.public_result(state)
    if stored != derived:
        fields = sorted(k for k in derived.keys() | stored.keys() if derived.get(k) != stored.get(k))
        check.problem(f"{cert}: its current result differs from the replay's in {', '.join(fields)}")
    replay = [{**h.public(), "recorded_at": utc_iso(h.recorded_at)} for h in fold.histories.get(cert, [])]
    if history != replay:
        first = next((i for i, (a, b) in enumerate(zip(history, replay)) if a != b), min(len(history), len(replay)))
        check.problem(f"{cert}: its history differs from the replay's from result #{first + 1} "
                      f"({len(history)} stored, {len(replay)} derived)")
    if facts is None or facts[0] != state.facts:
        check.problem(f"{cert}: its scoring input (what what-if scores) differs from the replay's")
    elif facts[1] != utc_iso(state.started_at):
        check.problem(f"{cert}: its scoring input's start ({facts[1]}) differs from the replay's "
                      f"({utc_iso(state.started_at)}): what-if selects a period's certifications by it")
