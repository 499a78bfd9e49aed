"""Worker processes of a catch-up (the scoring workers of `projections.scoring_pool`, the
page writer of `projections.page_writer`): how they start and stop, and the frames they
exchange with the process that feeds them on their stdin and reads their stdout.

    proc = start_worker("projections.page_writer")
    send_frame(proc, pickle.dumps(work), "the page writer")
    answer = pickle.loads(receive_frame(proc, "the page writer"))
    end_input(proc)        # it exits at the end of its input (abort=True: killed first)
    reap(proc, timeout=60)

A worker reads frames with `read_frame(sys.stdin.buffer)` and answers with
`write_frame(sys.stdout.buffer, …)`; its `__main__` runs its loop through `run_worker`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from collections.abc import Callable
from typing import BinaryIO


def start_worker(module: str) -> subprocess.Popen:
    """`python -m module`, fed on its stdin, answering on its stdout. Its own session: a
    Ctrl-C meant for this process does not stop it halfway; this process stops it
    (`end_input`, `reap`) whatever ends its work."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    # Run from the project's root: `-m` puts the working directory first on sys.path,
    # before PYTHONPATH, so a caller standing in another checkout (or any directory with
    # a `projections` package) would otherwise start that code as the worker. The
    # workers take no relative paths (the page writer serves PostgreSQL only).
    return subprocess.Popen([sys.executable, "-m", module], env=env, cwd=root, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, start_new_session=True)


def run_worker(serve: Callable[[], None]) -> None:
    """A worker's main: `serve` until its input ends. If the process feeding it died while
    it worked (kill -9, the OOM killer), its answer meets a closed pipe and nothing waits
    for it: it exits without a word. Its BrokenPipeError's traceback used to appear on the
    terminal, or in the server's log, that the dead process shared with it, after the
    shell had said the process was killed: a second fault to an operator, where there
    was none."""
    try:
        serve()
    except BrokenPipeError:
        # The interpreter's flush of stdout at exit would meet the same pipe, and say so.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def end_input(proc: subprocess.Popen, *, abort: bool = False) -> None:
    """Close its input (it exits at the end of it); with `abort`, kill it first."""
    if abort:
        proc.kill()
    try:
        proc.stdin.close()  # type: ignore[union-attr]
    except OSError:
        pass


def reap(proc: subprocess.Popen, timeout: float) -> None:
    """Wait for it to exit (killed past `timeout` seconds), and close its output."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stdout.close()  # type: ignore[union-attr]


# Frames between a process and its workers: 8 bytes of length (little-endian), then the
# pickle. `who` names the worker in the error raised when it stopped.
def send_frame(proc: subprocess.Popen, data: bytes, who: str) -> None:
    try:
        write_frame(proc.stdin, data)  # type: ignore[arg-type]
    except BrokenPipeError:
        raise RuntimeError(f"{who} stopped (exit code {proc.wait()})") from None


def receive_frame(proc: subprocess.Popen, who: str) -> bytes:
    data = read_frame(proc.stdout)  # type: ignore[arg-type]
    if data is None:
        raise RuntimeError(f"{who} stopped (exit code {proc.wait()})")
    return data


def write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame; None at the end of the stream."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    size = int.from_bytes(header, "little")
    body = stream.read(size)
    return body if len(body) == size else None  # cut short: the sender stopped
