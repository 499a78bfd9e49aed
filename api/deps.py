"""The routes' dependencies, declared once as `Annotated` aliases, and the runtime they
come from (built when the app starts, never at import).

Dependencies that only look something up are `async` (no thread hop); those that may
touch the database run in the thread pool."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.auth import Authenticator, require
from api.problems import ResultsCatchingUp, ResultsCatchUpFailed
from api.routes.params import refuse_to_reader
from api.scope import Scope
from api.settings import Settings
from api.tokens import Principal, Role
from commands.bootstrap import Ledger
from commands.group_commit import GroupCommitter
from ledger.rule_stream import RulesState, rule_decision
from ledger.rules import RuleTimeline
from ledger.streams import RULES_STREAM
from projections.asof import commit_times
from projections.results import ResultsReader, catch_up, projection_of
from projections.views import ResultsViews
from storage.errors import UNAVAILABLE, first_line, permission_denied

log = logging.getLogger(__name__)


CATCH_UP_RETRY_SECONDS = 30.0  # after a failed background catch-up, before the next
# What one rescoring weighs against `max_inline_catch_up`, in events: a retroactive rule
# version is one event that may rescore most of the ledger. Measured on a 20,000-
# certification population: 13,579 rescorings took 6.6 s inline (486 µs each), where a
# catch-up folds an event in 7–8 µs (its 120,000–150,000 events/s).
RESCORING_WEIGHT = 64


class _Stopped(Exception):
    """The server stops: so does its background catch-up."""


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A token issued by `certledger tokens add --role R [--centre C | --member M]`; its role decides what it may do.",
)


@dataclass
class Runtime:
    """What the app holds while it serves."""

    settings: Settings
    ledger: Ledger
    auth: Authenticator
    scope: Scope
    # Without a group committer, the process records one batch at a time.
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    committer: GroupCommitter | None = None
    caught_up_at: float = float("-inf")
    rules: RulesState = field(default_factory=RulesState)
    rules_lock: threading.Lock = field(default_factory=threading.Lock)
    # Each version's decision as the ledger recorded it: who decided, why and when.
    rule_decisions: dict[str, dict[str, Any]] = field(default_factory=dict)

    background: threading.Thread | None = None  # the catch-up of a projection far behind
    background_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    # What stopped the last background catch-up, and when (monotonic): reads then say so
    # (`ResultsCatchUpFailed`) and the next attempt waits `CATCH_UP_RETRY_SECONDS`,
    # rather than answering "catching up" forever, each read starting the same failure again.
    background_error: str | None = None
    background_failed_at: float = float("-inf")

    def catch_up(self) -> None:
        """Bring the results projection up to the log's last position (two one-row
        queries when it is there already); `ResultsCatchingUp` when it is too far behind
        for a request to wait, a catch-up then running in the background."""
        store = self.ledger.store
        # The view's own position, not one this process remembers reaching: another
        # process may have emptied the view since (`certledger rebuild`, perhaps stopped
        # half-way), and the log's end would not have moved.
        reader = ResultsReader(store)
        position = reader.position()
        behind = store.max_position() - position
        if behind <= 0:
            self.caught_up_at = time.monotonic()
            self.background_error = None  # caught up, however
            return
        running = self.catching_up()
        if self.far_behind(reader, behind, running, position=position):
            if not self.catch_up_in_background() and self.background_error is not None:
                raise ResultsCatchUpFailed(behind, retry_after=CATCH_UP_RETRY_SECONDS)
            raise ResultsCatchingUp(behind)
        if running:
            # Within reach, but a long catch-up holds the projection (here, or in another
            # worker) until it reaches the log's end, which an import by another process
            # keeps moving: a read waiting for it held a thread for as long, and in another
            # worker it derived the same events again.
            raise ResultsCatchingUp(behind)
        catch_up(store)
        self.caught_up_at = time.monotonic()
        self.background_error = None

    def far_behind(self, reader: ResultsReader, behind: int, running: bool, *, position: int | None = None) -> bool:
        """Beyond `max_inline_catch_up` events, a rescoring weighing `RESCORING_WEIGHT`.
        Positions overstate the lag: ids handed out to writes rolled back are never used
        (on PostgreSQL a refused import of a million lines leaves a million-id gap), and
        one event past such a gap made every read a 503. Far behind by positions, the
        events themselves are counted (a bounded index scan), unless a catch-up already
        runs (each read would count again meanwhile). Within reach by events, the rule
        versions among them are weighed by what they may rescore: one retroactive change
        held every read (and the jury's POST) for the seconds of its rescorings.
        `position`: the projection's, as the caller read it (else read here)."""
        limit = self.settings.max_inline_catch_up
        if behind > limit:
            if running:
                return True
            behind = reader.lag(at_most=limit + 1)  # the events there are, past any gap in positions
            if behind > limit:
                return True
        room = (limit - behind) // RESCORING_WEIGHT
        position = reader.position() if position is None else position
        return reader.views.pending_rescorings(position, at_most=room + 1) > room

    def catch_up_in_background(self) -> bool:
        """Start the background catch-up unless one runs (here, or in another worker), the
        server stops, or the last one failed less than `CATCH_UP_RETRY_SECONDS` ago;
        whether one runs now."""
        with self.background_lock:
            if self.catching_up():
                return True
            if self.stopping.is_set() or time.monotonic() - self.background_failed_at < CATCH_UP_RETRY_SECONDS:
                return False
            self.background = threading.Thread(target=self._catch_up, name="certledger-catch-up", daemon=True)
            self.background.start()
            return True

    def _catch_up(self) -> None:
        def stop_when_asked(done: int, pending: int) -> None:
            if self.stopping.is_set():
                raise _Stopped  # after a committed page: the next start resumes from it

        store = self.ledger.store
        done = 0
        try:
            with ResultsViews(store).catch_up_turn() as mine:
                if not mine:
                    return  # another worker took the turn meanwhile
                # Said in the server's log: an operator timed an upgrade's derivation by
                # polling /health, the log saying nothing of it.
                began = time.monotonic()
                log.info("deriving the results in the background: %s event(s) behind; reads answer 503 "
                         "results-catching-up meanwhile", store.max_position() - ResultsViews(store).position())
                try:
                    done = catch_up(store, progress=stop_when_asked)
                    log.info("the results are caught up: %s event(s) in %.1f s", done, time.monotonic() - began)
                finally:
                    # Its warm fold holds the states of the last 10,000 certifications
                    # folded (about 0.4 GB): kept, they stayed for the process's life.
                    # Reads go on from the view, as in a process just started.
                    projection_of(store).drop_fold()
            # After the turn: reads of a view caught up go on meanwhile (about a second at
            # millions of events).
            store.refresh_statistics(done)
            self.background_error = None
        except _Stopped:
            pass
        except Exception as problem:  # reads say so; one later finding it far behind tries again
            log_failure(log, "the results projection's background catch-up", problem)
            self.background_error = f"{type(problem).__name__}: {problem}"
            self.background_failed_at = time.monotonic()

    def catching_up(self) -> bool:
        """A long catch-up runs: this process's background one, or another worker's (its
        turn, as the database's lock table says now)."""
        if self.background is not None and self.background.is_alive():
            return True
        return ResultsViews(self.ledger.store).catch_up_running()

    def stop(self) -> None:
        """Stop a background catch-up at its next page (before the ledger closes)."""
        with self.background_lock:  # no read starts one after this
            self.stopping.set()
            background = self.background
        if background is not None:
            background.join(timeout=60)
            if background.is_alive():
                log.warning("the results projection's background catch-up did not stop within 60 s; "
                            "the ledger closes under it (what it committed stays, the next start resumes)")

    def start(self) -> None:
        """At start-up: a projection far behind (an upgrade that derives the results again)
        is caught up in the background at once, not at the first read (a server that saw
        only health probes never began); one within reach (a restart after a crash left it
        a few pages behind) is caught up before the first request, for the same reason:
        `/health`, polled alone, reported its lag until some read came."""
        reader = ResultsReader(self.ledger.store)
        position = reader.position()
        behind = self.ledger.store.max_position() - position
        if behind <= 0:
            return
        if self.far_behind(reader, behind, self.catching_up(), position=position):
            self.catch_up_in_background()
            return
        try:
            self.catch_up()
        except (ResultsCatchingUp, ResultsCatchUpFailed):
            pass  # another worker's catch-up holds it: reads say so meanwhile
        except Exception as problem:  # the server starts all the same: the next read tries again
            log_failure(log, "catching the results up at start-up", problem)

    def fresh_results(self) -> ResultsReader:
        """The results reader over a projection holding every fact recorded before this
        call, unless it was checked less than `projection_staleness_seconds` ago."""
        if time.monotonic() - self.caught_up_at >= self.settings.projection_staleness_seconds:
            self.catch_up()
        return ResultsReader(self.ledger.store)

    def rule_timeline(self) -> RuleTimeline:
        """The ledger's rule timeline, folded on from where it was last read."""
        with self.rules_lock:
            for rec in self.ledger.store.read_stream(RULES_STREAM, after=self.rules.version):
                self.rules.apply(rec.event)
                self.rule_decisions[rec.event.version] = rule_decision(rec)
            return self.rules.timeline


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_ledger(runtime: RuntimeDep) -> Ledger:
    return runtime.ledger


async def get_scope(runtime: RuntimeDep) -> Scope:
    return runtime.scope


async def get_principal(
    runtime: RuntimeDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    token = credentials.credentials if credentials else None
    known = runtime.auth.cached(token)
    return known if known is not None else await run_in_threadpool(runtime.auth.principal, token)


def get_results(runtime: RuntimeDep) -> ResultsReader:
    return runtime.fresh_results()


STALE_STATE = "certledger_results_stale"  # the request's state key: the mark `StaleMarks` sends


class StaleResults(ResultsReader):
    """The results as they stand while they are being derived (`?stale=true`): a view of
    the log up to its position at least (its pages commit with their position, so it
    holds the log's first events exactly as a catch-up derived them), `behind` positions
    short of the log's end when the read began."""

    def __init__(self, store, behind: int):
        super().__init__(store)
        self.behind = behind

    def missing(self) -> ResultsCatchingUp:
        """What a lookup the view cannot answer yet is: not a 404 (the certification may be
        past the view's position), the 503 that a read without `stale` gets."""
        return ResultsCatchingUp(self.behind)


StaleQuery = Annotated[bool, Query(description=(
    "While the results are being derived in the background (a read answers 503 "
    "`results-catching-up`), answer from the results as they stand instead: the answer then "
    "carries `Certledger-Results-Position` (the log position the results hold at least), "
    "`Certledger-Results-Behind` (how far the log's end lay past it, in positions) and, when known, "
    "`Certledger-Results-Committed-At`. Without those headers the answer is current. A lookup "
    "of what the results do not hold yet is still a 503. Not for `reader`: 403."))]


def get_results_or_stale(runtime: RuntimeDep, request: Request, principal: PrincipalDep,
                         stale: StaleQuery = False) -> ResultsReader:
    """`get_results`, or with `stale` the results as they stand while a long catch-up runs:
    a retroactive rule version that rescores most of the ledger held every read for its
    minutes (about 35 s at 100,000 certifications), where a jury or a centre may rather
    read what was derived before it, said to be so."""
    if not stale:
        return runtime.fresh_results()
    # As `as_of`: a stale view would still show a reader a result unpublished (withdrawn)
    # since its position.
    refuse_to_reader(principal, "stale")
    try:
        return runtime.fresh_results()
    except (ResultsCatchingUp, ResultsCatchUpFailed) as waiting:
        store = runtime.ledger.store
        position = ResultsReader(store).position()  # read before the rows: they hold at least it
        results = StaleResults(store, int((waiting.extra or {}).get("lag", 0)))
        if "as_of" not in request.query_params:  # an as-of answer comes from the log, exact
            committed = commit_times(store, [position]).get(position) if position else None
            setattr(request.state, STALE_STATE, {
                "Certledger-Results-Position": str(position),
                "Certledger-Results-Behind": str(results.behind),
                **({"Certledger-Results-Committed-At": committed} if committed else {}),
            })
        return results


SettingsDep = Annotated[Settings, Depends(get_settings)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ResultsDep = Annotated[ResultsReader, Depends(get_results)]
ResultsOrStaleDep = Annotated[ResultsReader, Depends(get_results_or_stale)]


def allow(*roles: Role):
    """A dependency admitting only `roles` (403 for the others)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        return require(principal, *roles)

    dependency.__name__ = "allow_" + "_".join(roles)
    return Depends(dependency)


Reader = Annotated[Principal, allow("centre", "jury", "auditor", "reader")]
NotReader = Annotated[Principal, allow("centre", "jury", "auditor")]
JuryOrAuditor = Annotated[Principal, allow("jury", "auditor")]
Writer = Annotated[Principal, allow("centre", "jury")]


def deployment_problem(problem: Exception) -> str:
    """What an operator is told, in one line, of a failure that is the deployment's (a
    traceback said certledger had a bug): empty for any other."""
    refused = permission_denied(problem)
    if refused is not None:
        return f"the database role may not do what it needs ({first_line(refused)})"
    if isinstance(problem, UNAVAILABLE):
        return f"the database failed ({first_line(problem)})"
    return ""


def log_failure(logger: logging.Logger, what: str, problem: Exception) -> None:
    """`what failed` in the server's log (called where `problem` is handled): in one line
    with the driver's words when it is the deployment's (the role's grants, the database
    gone), which is the operator's to mend, not a bug; with its traceback else."""
    said = deployment_problem(problem)
    if said:
        logger.error("%s failed: %s", what, said)
    else:
        logger.exception("%s failed", what)
