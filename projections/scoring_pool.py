"""Scoring the certifications a page of the log rescored, as one batch: in this process,
or, for big batches, in worker processes (a rebuild scores ~10,000 certifications per
650,000 events, and scoring is most of its CPU time).

    outcomes = score_batch([(facts_json, "pix-v2-2024-05"), ...], {"pix-v2-2024-05": rules})
    with ScoringPool() as pool:  # the same, split across processes when the batch is big
        outcomes = pool(tasks, rules)

Each task is the certification's facts as JSON (`CertificationFacts`' compact form, as
the fold keeps them) and the name of the rule version to score it under; each answer is
(outcome without explanation, the whole Result as JSON, None) or (None, None, the
problem). `ledger.scoring.scored_json` does the scoring in every case: the reference
`score()`'s own computation, dumped without validating the Result model (tested equal).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.rules import RuleSet
from ledger.scoring import CertificationFacts, scored_json
from projections.workers import (
    end_input,
    read_frame,
    reap,
    receive_frame,
    run_worker,
    send_frame,
    start_worker,
    write_frame,
)

Task = tuple[bytes, str]
Scored = tuple[dict[str, Any] | None, str | None, str | None]

# Below this many scorings a batch stays in this process: the hand-over (pickles both
# ways, two pipe round trips) would cost about what the worker's half saves. Starting a
# worker costs ~0.3 s, once per pool (results.py makes one per far-behind catch-up).
MIN_PARALLEL = 64
WHO = "a scoring worker"  # in the error raised when one stopped


def score_batch(tasks: Sequence[Task], rules: Mapping[str, RuleSet]) -> list[Scored]:
    out: list[Scored] = []
    for facts_json, version in tasks:
        try:
            outcome, text = scored_json(CertificationFacts.model_validate_json(facts_json), rules[version])
            out.append((outcome, text, None))
        except Exception as problem:
            out.append((None, None, str(problem) or type(problem).__name__))
    return out


MAX_WORKERS = 4  # beyond, the one process that folds and writes is the bottleneck anyway


def usable_cores() -> int:
    """The cores this process may run on (its affinity, not the host's count), capped."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


class ScoringPool:
    """`score_batch`, shared between this process and `workers - 1` worker processes for
    batches of `min_parallel` or more. The workers start at the first big batch and stop
    at `close()`.

    Each worker is `python -m projections.scoring_pool`, fed length-prefixed pickles on
    its stdin, answering on its stdout. Not `multiprocessing`: its spawned children
    re-import the caller's main module (a script without a `__main__` guard would run
    again), its forked ones copy a threaded process, and its executor hands work over
    through background threads that wait for the GIL while this process scores its own
    share: about as long as a page's batch takes."""

    def __init__(self, workers: int | None = None, min_parallel: int = MIN_PARALLEL) -> None:
        self.workers = workers if workers is not None else usable_cores()
        self.min_parallel = min_parallel
        self._procs: list[subprocess.Popen] = []
        self._sent: list[set[str]] = []  # rule versions each worker holds

    def __call__(self, tasks: Sequence[Task], rules: Mapping[str, RuleSet]) -> list[Scored]:
        if self.workers < 2 or len(tasks) < self.min_parallel:
            return score_batch(tasks, rules)
        if not self._procs:
            self._start()
        size = -(-len(tasks) // self.workers)
        chunks = [list(tasks[i:i + size]) for i in range(0, len(tasks), size)]
        try:
            for k, chunk in enumerate(chunks[1:]):
                versions = {version for _, version in chunk}
                new = {v: rules[v] for v in versions - self._sent[k]}
                send_frame(self._procs[k], pickle.dumps((chunk, new), protocol=pickle.HIGHEST_PROTOCOL), WHO)
                self._sent[k] |= versions
            out = score_batch(chunks[0], rules)  # this process takes a share meanwhile
            for proc in self._procs[:len(chunks) - 1]:
                out.extend(pickle.loads(receive_frame(proc, WHO)))
        except BaseException:
            self.close(abort=True)  # answers may be left in the pipes: never reuse these workers
            raise
        return out

    def _start(self) -> None:
        for _ in range(self.workers - 1):
            self._procs.append(start_worker("projections.scoring_pool"))
            self._sent.append(set())

    def close(self, *, abort: bool = False) -> None:
        """Stop the workers: at the end of their input, or at once (`abort`: a batch may
        be half sent or half answered)."""
        procs, self._procs, self._sent = self._procs, [], []
        for proc in procs:
            end_input(proc, abort=abort)
        for proc in procs:
            reap(proc, timeout=10)

    def __enter__(self) -> ScoringPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.close(abort=kind is not None)


def _serve() -> None:
    """A worker: batches in, answers out, until its input ends."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    held: dict[str, RuleSet] = {}
    while (frame := read_frame(inp)) is not None:
        tasks, new_rules = pickle.loads(frame)
        held.update(new_rules)
        write_frame(out, pickle.dumps(score_batch(tasks, held), protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    run_worker(_serve)
