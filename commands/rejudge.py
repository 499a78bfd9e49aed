"""Intent: judge a ledger's facts again under this release's rules (`verify --rejudge`).

A fact is judged once, when it is recorded, by the rules of the release that records it.
Rules added since (a publication dated before the one it follows, say) were never
applied to the facts already in a ledger, and `verify` checks the log's integrity, not
its facts' lawfulness: an auditor could not learn whether a ledger holds facts this
release would refuse. This reads the whole log in order and judges each fact exactly as
recording judges it (`ledger.decisions.check`, on the same context), against the ledger
as it stood just before it and at the time it was recorded. A fact this release would
refuse is listed; it is in the ledger all the same, so it is then taken as recorded and
the facts after it are judged against the ledger as it is.

What is not judged again: the built-in rule versions (written by the ledger itself), an
event id or ruling id repeated (the `event ids` check of `verify` holds the index to the
log), and a writer's own limits (an API token's centre), which are not rules of the
ledger. A rule version that no longer resolves against those before it is noted, and the
facts after it are judged without it.

Memory stays bounded: the states of the streams judged most recently are held
(`STATES_HELD`), and one forgotten is folded again from the store, from its events the
log has given so far. (Every state was held until the end: 181 MB for the 642,000 events
of the 10,000-certification benchmark population, so tens of gigabytes for the 10^8 events
of a national ledger's year.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile

from commands.recording import StateCache, _UnitOfWork, refuse_reserved_id
from ledger.decisions import check
from ledger.errors import DomainError, RuleDocumentRefused
from ledger.events import CertificationStarted, LedgerEvent
from ledger.rule_stream import GENESIS_RECORDER
from ledger.rules import RuleDocumentInvalid
from ledger.streams import RULES_STREAM, stream_of
from storage.store import EventStore

RECORDER = "verify:rejudge"


@dataclass(frozen=True)
class Refusable:
    """A fact in the ledger that this release would refuse, and why."""

    position: int
    event_id: str | None
    type: str
    recorded_at: datetime
    code: str
    field: str | None
    message: str

    def words(self) -> str:
        named = f"event {self.event_id}" if self.event_id else "an event without an id"
        field = f", field {self.field}" if self.field else ""
        return (f"position {self.position:,} ({named}, {self.type}, recorded {self.recorded_at.isoformat()}): "
                f"this release refuses it ({self.code}{field}): {self.message}")


def _refusable(recorded, code: str, field: str | None, message: str) -> Refusable:
    event = recorded.event
    return Refusable(recorded.position or 0, event.event_id, event.type, recorded.recorded_at, code, field, message)


# Stream states held at once: about what the recording's own cache holds (a state is a
# few kilobytes); a session's certifications are judged together, in log order, so a
# state forgotten is rarely needed again.
STATES_HELD = 20_000


class _SoFar:
    """What the unit of work reads from the store: each stream as far as the log has
    been read, in log order, so that a state forgotten and folded again is the ledger as
    it stood before the fact being judged, never with a later one of its stream.

    Counted as the states count (`after`: the events a state has applied), not by the
    stream's versions: in a log whose versions skip or step back (an event deleted, rows
    rewritten: the events check names it), a state caught up from its versions applied
    some events twice, or ones the log had not given yet."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.given: dict[str, tuple[int, int]] = {}  # stream -> (its events the log has given, the last's position)

    def gave(self, stream: str, position: int) -> None:
        self.given[stream] = (self.given.get(stream, (0, 0))[0] + 1, position)

    def read_stream(self, stream: str, after: int = 0) -> list:
        count, last = self.given.get(stream, (0, 0))
        if after >= count:  # (the state held is up to date: no query)
            return []
        return [r for r in self.store.read_streams_in_log_order([stream]) if (r.position or 0) <= last][after:]

    def certifications_of_session(self, session_id: str) -> list[str]:
        return []  # the unit of work adds the certifications started so far (`new_certs`)


def rejudge(store: EventStore, up_to: int, *,
            progress: Callable[[int, int], None] | None = None) -> tuple[int, list[Refusable]]:
    """(facts judged, those this release would refuse), in log order, of the log up to
    position `up_to` (the end a verify read in its snapshot; what was appended since is
    not read)."""
    log = takewhile(lambda recorded: (recorded.position or 0) <= up_to, store.iter_log())
    return judge_again(log, store, progress=progress, total=up_to)


def judge_again(log: Iterator, store: EventStore, *, progress: Callable[[int, int], None] | None = None,
                total: int = 0) -> tuple[int, list[Refusable]]:
    """`log`: the ledger's `Recorded` facts in log order (each with its position and
    version), read from `store`."""
    so_far = _SoFar(store)
    uow = _UnitOfWork(so_far, StateCache(max_size=STATES_HELD), datetime.min, RECORDER)
    judged, found = 0, []
    for recorded in log:
        event: LedgerEvent = recorded.event
        stream = stream_of(event)
        if recorded.recorded_by != GENESIS_RECORDER:
            uow.now = recorded.recorded_at  # "dated ahead" is judged by the clock of its recording
            judged += 1
            try:
                refuse_reserved_id(event)
                check(event, uow.context(event, stream))
            except DomainError as refused:
                found.append(_refusable(recorded, refused.code, refused.field, refused.message))
        try:
            uow.state(stream).apply(event)  # recorded all the same: the facts after it are judged on it
            so_far.gave(stream, recorded.position or 0)
        except RuleDocumentInvalid as unresolved:  # (the events check names it as a problem too)
            # Not counted as given: the rules' state, folded again, would meet it again. (It
            # is never forgotten anyway: every fact is judged against it.)
            found.append(_refusable(recorded, RuleDocumentRefused.code, "rules",
                                    f"{unresolved}; the facts after it are judged without this version"))
        if len(uow.loaded) > STATES_HELD:  # the unit's overlay: the cache keeps the latest
            rules = uow.loaded.get(RULES_STREAM)
            uow.loaded.clear()
            if rules is not None:
                uow.loaded[RULES_STREAM] = rules
        if isinstance(event, CertificationStarted):
            uow.new_certs.setdefault(event.session_id, []).append(event.certification_id)
        if progress is not None and recorded.position:
            progress(recorded.position, total)
    return judged, found
