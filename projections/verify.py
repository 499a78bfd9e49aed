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
  never step back, none precedes the recorded times of the events it holds (which the
  hash chain covers, unlike the stamps), and they cover the log. Events after the last row (written by a release
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

Where each part lives: the report types in `verify_report`, the hash chain's walk in
`verify_chain`, the log's checks in `verify_log`, the results comparison in
`verify_results`; this module reads the snapshot and runs them in order.
"""

from __future__ import annotations

from projections.verify_chain import ChainWalk
from projections.verify_log import check_log, log_pages
from projections.verify_report import Check, Progress, VerifyReport
from projections.verify_results import check_results
from projections.views import ResultsViews, read_snapshot
from storage.store import EventStore

__all__ = ["Check", "Progress", "VerifyReport", "verify", "verify_since"]


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
        chain = ChainWalk(views, position, Check("hash chain"))
        log = check_log(views, position, *checks, tick, chain=chain)
        chain.finish(expect_chain)
        checks.append(chain.check)
        if results:
            checks.append(check_results(views, log, projected, tick))
        return _report(views, position, projected, checks, chain.head)


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
        chain = ChainWalk(views, position, Check("hash chain"), since=kept)
        if chain.anchor is not None:
            for rows in log_pages(views, position, after=kept[0]):
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
