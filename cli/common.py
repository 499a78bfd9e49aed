"""What every `certledger` sub-command shares: the consoles, the --db option, and
opening the ledger with storage problems turned into one readable line."""

from __future__ import annotations

import errno
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import orjson
import typer
from rich.console import Console, ConsoleDimensions

from api.settings import DATABASE_URL_VAR
from cli.display import shown
from commands.bootstrap import open_ledger
from ledger.events import INSTANT_TEXT, in_utc_range, offset_problem
from storage import migrate as migrations
from storage.errors import (LedgerNotPrepared, StorageError, StoredEventUnreadable, first_line, permission_denied,
                            root_cause, sqlite_busy, sqlite_corrupt, sqlite_storage_failed)
from storage.urls import BUSY_TIMEOUT_VAR, ENV_VAR, DatabaseUrl, resolve_url, sqlite_busy_timeout


# A reader that stops early (`certledger verify | head -1`): the command ends with what a
# shell reports of any tool ended by SIGPIPE (`cli.main.main`). Rich and typer answered
# it with exit 1, which `verify` uses for "problems found": a script with pipefail took
# a sound ledger for a tampered one. (Not SIGPIPE itself: a worker's pipe broken must
# stay an error that names the worker.)
STDOUT_CLOSED = 141  # 128 + SIGPIPE
PIPE_WIDTH = 200  # columns of the output into a pipe or a file


class _Console(Console):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._width_set = kwargs.get("width")

    @property
    def size(self) -> ConsoleDimensions:
        """Into a pipe or a file, wide enough not to fold: rich took 80 columns there (or
        the terminal's beside it, or $COLUMNS as it was when the console was made), and
        split ids, commands to paste and table cells across lines (`rules list > f`,
        the demo's "next" box)."""
        size = Console.size.fget(self)
        if not self.is_terminal and self._width_set is None:
            return ConsoleDimensions(max(size.width, PIPE_WIDTH), size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width_set = new_size[0]
        Console.size.fset(self, new_size)

    @property
    def width(self) -> int:
        return self.size.width

    @width.setter
    def width(self, width: int) -> None:
        self._width_set = width  # a width set on purpose (a test's 80-column terminal) is kept
        Console.width.fset(self, width)

    def on_broken_pipe(self) -> None:
        """Not rich's own exit 1: the broken pipe goes on to typer, which answers every
        one the same way (the binary writes' too), and `main` maps that answer."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the output's reader is gone")


# Messages are never wrapped by the console: an error line stays one line in a log or a
# pipe (`FILE:line N, field F: reason`, as the README shows it), where rich wrapped at 80.
err = _Console(stderr=True, soft_wrap=True)
out = _Console()


def dump_json(data: Any) -> None:
    """`data` as indented JSON on stdout, whole or not at all. A buffered write into a
    pipe whose reader left returns the bytes it got out and says nothing of the rest
    (`results --json | head -1` exited 0, its output cut short): the next write raises
    the broken pipe, which `main` answers with 141."""
    rest = memoryview(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    while rest:
        rest = rest[sys.stdout.buffer.write(rest):]
    sys.stdout.buffer.flush()


def show(renderable: Any) -> None:
    """On a terminal, at its width; into a pipe or a file, wide enough not to fold."""
    out.print(renderable, highlight=False)


DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Database URL: sqlite:///PATH or postgresql://… (default: $CERTLEDGER_DATABASE_URL or sqlite:///certledger.db)"),
]


def _numbers(names: tuple[str, ...]) -> str:
    numbers = [name.partition("_")[0] for name in names]
    return ", ".join(numbers[:-1]) + " and " + numbers[-1]


# The migrations named from their list: the note once named five of six, leaving out 020,
# the one that had just dropped the results.
REDERIVING_NOTE = ("note: the results read model was dropped to be derived again from the log (this version "
                   f"derives differently; see migrations {_numbers(migrations.REDERIVING_MIGRATIONS)}): the next "
                   "reading command does it; `certledger rebuild "
                   "--resume` does it now, with progress; change-feed followers are told (409 results-derived-again) to read the "
                   "feed again from the start")


@contextmanager
def ledger_at(db: str | None, *, create: bool = False, say_new: bool = True):
    """Open the ledger, turning storage problems into one readable line and exit 2.

    Only the commands that write facts (`init`, `migrate`, `import`, `simulate`) may
    create the embedded ledger (`create=True`): any other, given a SQLite path that
    names no file, says so, where it used to create an empty ledger there and answer
    from it ("no results"), hiding a mistyped path."""
    done = _sqlite_file_migrations(db)  # read once, for both checks below
    # First: a reader given no default file was told to `init` one there, the stray
    # ledger this warns of, with no word of the API's.
    api_elsewhere(db)
    if not create:
        missing_ledger(db, done)
    else:
        missing_folder(db)
    new_file = create and say_new and _new_sqlite_file(db)  # (`demo` says it in its own words)
    # Any command upgrades an existing embedded ledger on opening it: what `migrate` would
    # say of it is said here.
    upgrading = bool(done) and migrations.RULING_INDEX_MIGRATION not in done
    # Which ones it applies is said too: an operator who ran no `migrate` would not think
    # of stopping the older release's processes (refused on the file from now on, or,
    # before 009, writing beside this one).
    to_apply = [name for name, _ in migrations.available("sqlite") if name not in done] if done else []
    rederiving = migrations.drops_results(to_apply)
    try:
        ledger = open_ledger(db)
    except (LedgerNotPrepared, StorageError) as e:
        err.print(f"[red]error:[/red] {shown(e)}")
        raise typer.Exit(2) from None
    except Exception as e:  # an unreachable server, a bad URL, another writer holding SQLite
        err.print(f"[red]error:[/red] cannot open the ledger at {shown(resolve_url(db).redacted())}: {shown(e)}{_busy_hint(e)}")
        raise typer.Exit(2) from None
    if new_file:  # (a mistyped path, or the default where another ledger was meant: said, not silent)
        err.print(f"note: created a new ledger at {shown(resolve_url(db).redacted())}")
    if to_apply:
        err.print(f"note: upgraded the ledger at {shown(resolve_url(db).redacted())} on opening it (applied: "
                  f"{', '.join(to_apply)}): stop any process of an older release still using it (README, "
                  "\"PostgreSQL\", on upgrades)", soft_wrap=True)
    if upgrading:  # the embedded ledger was upgraded on opening: say what `migrate` would
        warn_reused_ruling_ids(migrations.reused_ruling_ids(ledger.url))
    if rederiving:
        err.print(REDERIVING_NOTE, soft_wrap=True)
    try:
        yield ledger
    except StoredEventUnreadable as e:  # (a traceback, to an auditor replaying a changed log)
        err.print(f"[red]error:[/red] {shown(e)}")
        raise typer.Exit(2) from None
    except Exception as e:
        if sqlite_corrupt(e):  # a traceback, and `export` left a file cut short that looked whole
            err.print(f"[red]error:[/red] the ledger {shown(resolve_url(db).redacted())} is damaged ({shown(_cause_text(e))}): "
                      "restore it from a backup (README: Backups), then run `certledger verify`")
            raise typer.Exit(2) from None
        refused = permission_denied(e)
        if refused is not None:  # a traceback, exit 1, to an auditor's read-only role
            err.print(f"[red]error:[/red] the database role may not do what this command needs on "
                      f"{shown(resolve_url(db).redacted())}: {shown(first_line(refused))}{_view_hint(refused)}")
            raise typer.Exit(2) from None
        if sqlite_storage_failed(e):  # a full disk: a traceback, and exit 1, `import`'s "refused"
            err.print(f"[red]error:[/red] the ledger's storage failed: {shown(first_line(e))}")
            raise typer.Exit(2) from None
        if not sqlite_busy(e):
            raise
        # Any command that writes (the view included) waits for another writer: past the
        # busy timeout, one line and exit 2, as the README says, not a traceback.
        err.print(f"[red]error:[/red] another writer holds the ledger {shown(resolve_url(db).redacted())}{_busy_hint(e)}")
        raise typer.Exit(2) from None
    finally:
        ledger.close()


def _view_table() -> re.Pattern[str]:
    """The results read model and its bookkeeping, what a reading command writes, named
    as the projection names them."""
    from projections.views import PG_TRACKING_TABLE, VIEW_TABLES

    names = (*VIEW_TABLES, PG_TRACKING_TABLE, "certledger_rebuilds")
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")


def _view_hint(refused: BaseException) -> str:
    """Why a command that only reads needed to write, when that is what was refused."""
    if not _view_table().search(str(refused)):
        return ""
    return (" (results, audit and what-if first derive the results of the events recorded since they were "
            "last derived, which writes the results read model: have a role that may write it run `certledger "
            "rebuild --resume` first; `verify` writes nothing)")


def api_elsewhere(db: str | None) -> None:
    """A warning when a command falls back to the embedded default while the API's own
    setting names a ledger: a shell carrying the server's environment imported into a
    new ./certledger.db, "imported 76 event(s)", that the API never served (only `serve`
    and `tokens` read the API's variable)."""
    served = os.environ.get(DATABASE_URL_VAR)
    if db is not None or os.environ.get(ENV_VAR) or not served:
        return
    try:
        used, theirs = resolve_url(None), resolve_url(served)
    except Exception:
        return  # (serve says what is wrong with its URL)
    if not _same_database(used, theirs):
        err.print(f"[yellow]warning:[/yellow] no --db nor ${ENV_VAR}: this command uses {shown(used.redacted())}, "
                  f"not the API's ledger ${DATABASE_URL_VAR} ({shown(theirs.redacted())}); pass --db to use that one")


def _same_database(a, b) -> bool:
    """Whether two URLs name one database: an embedded ledger by its file, however its
    path is written (`sqlite:////abs/certledger.db` is the default's file, run from /abs)."""
    if a.backend == b.backend == "sqlite":
        return Path(a.path).resolve() == Path(b.path).resolve()
    return a.redacted() == b.redacted()


def embedded_url(db: str | None) -> DatabaseUrl | None:
    """`db` resolved, when it names an embedded (SQLite) ledger: None for another backend,
    or for a URL that opening it refuses, saying what is wrong with it."""
    try:
        url = resolve_url(db)
    except Exception:
        return None
    return url if url.backend == "sqlite" else None


def _new_sqlite_file(db: str | None) -> bool:
    url = embedded_url(db)
    return url is not None and not Path(url.path).exists()


def missing_folder(db: str | None) -> None:
    """A new embedded ledger in a folder that does not exist: said as such, where SQLite's
    "unable to open database file" came out of the first migration."""
    url = embedded_url(db)
    folder = absent_folder(url.path) if url is not None else None
    if folder is not None:
        err.print(f"[red]error:[/red] no ledger can be made at {shown(url.redacted())}: its folder "
                  f"{shown(folder)} does not exist")
        raise typer.Exit(2)


def absent_folder(path: str | Path) -> Path | None:
    """The folder a file would be made in, if it does not exist."""
    folder = Path(path).parent  # (a bare name's is ".")
    return None if folder.is_dir() else folder


def _sqlite_file_migrations(db: str | None) -> set[str] | None:
    """The migrations an existing SQLite file has applied (empty: the file is no ledger);
    None for another URL, a missing file, or one that cannot be read (opening it says why)."""
    url = embedded_url(db)
    if url is None or not Path(url.path).is_file():
        return None
    try:
        # Read-only: the file may be another application's, judged before it is touched.
        with migrations.read_only_sqlite(url.path) as conn:
            return migrations.applied_in_sqlite(conn)
    except Exception:
        return None


def warn_reused_ruling_ids(reused: list[tuple[str, int]]) -> None:
    for ruling_id, count in reused:
        err.print(f"[yellow]warning:[/yellow] ruling id {shown(ruling_id)} names {count} rulings, recorded before ruling "
                  "ids were unique: the first keeps it, and an export of this ledger will be refused at the "
                  "others when imported elsewhere")


def _cause_text(error: BaseException) -> str:
    """The driver's own words (the library's wrapper repeats them)."""
    return str(root_cause(error))


def _busy_hint(error: BaseException) -> str:
    if not sqlite_busy(error):
        return ""
    return (f" (still after {BUSY_TIMEOUT_VAR}={sqlite_busy_timeout():g} s, as an import holds it for its whole "
            "length): retry once it is done, or wait longer")


def missing_ledger(db: str | None, done: set[str] | None) -> None:
    """One readable line and exit 2 when `db` is a SQLite path that names no file, or a
    file that is no ledger (`done`: its applied migrations; any other URL is judged by
    opening it)."""
    url = embedded_url(db)
    if url is None:  # (another backend is judged by opening it, as a URL it refuses)
        return
    foreign: list[str] = []
    if not Path(url.path).exists():
        problem = f"the file {url.path} does not exist"
    elif done is not None and not done:
        # An empty file, or another application's database: a reader used to add the
        # ledger's tables to it, a half-made ledger without its rule versions.
        problem = f"the file {url.path} is not a certledger ledger (it holds none of its tables)"
        foreign = _foreign_tables(url.path)
        if foreign:  # not a place for `init` either (storage.migrate.refuse_foreign)
            problem = (f"the file {url.path} is another application's database "
                       f"(tables {migrations.named_tables(foreign)}), not a ledger")
    else:
        return
    # The API's variable only where it is what named this path (`serve`, `tokens`): other
    # commands do not read it, and naming it sent the reader to check the wrong setting.
    from_api = db is not None and os.environ.get(DATABASE_URL_VAR) == db
    settings = f"${DATABASE_URL_VAR}" if from_api else f"--db and ${ENV_VAR}"
    create = "" if foreign else f"create one with `certledger init --db {shown(url.redacted())}`, or "
    err.print(f"[red]error:[/red] no ledger at {shown(url.redacted())}: {shown(problem)} ({create}check {settings})")
    raise typer.Exit(2)


def _foreign_tables(path: str) -> list[str]:
    try:
        with migrations.read_only_sqlite(path) as conn:
            return migrations.foreign_tables(conn)
    except sqlite3.Error:
        return []


def utc_text(value: str, *, to_the_second: bool = False) -> str:
    """An instant as an auditor can compare and paste it (`--as-of`): in UTC, marked Z,
    to the microsecond when it has any. Cutting the text at 19 characters used to drop
    both the offset (a fact at 13:30+05:30 looked 5 h after one at 08:00Z) and the
    fraction (an as-of pasted from the table left out the very event on that row)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    whole = moment.microsecond and not to_the_second
    return moment.isoformat(timespec="microseconds" if whole else "seconds").replace("+00:00", "Z")


# The forms an instant is taken in, and no other (ledger.events.INSTANT_TEXT): Python's
# fromisoformat also reads "2026-W48", "20261127" or "2026-11-27T05:41", each as some
# moment an auditor did not mean, and cuts nanoseconds silently.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
INSTANT_FORMS = "a date (2024-06-12, UTC) or an instant (2024-06-12T08:00:00Z, with an offset or in UTC)"


def parse_instant(value: str | None, *, end: bool = False) -> datetime | None:
    """RFC 3339 instant (without offset: UTC), or a date (UTC): with `end=True` (`--to`,
    `--as-of`) a date includes its whole day."""
    if value is None:
        return None
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as e:
            raise ValueError(f"{value!r}: {e}") from None
        moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
        return moment + timedelta(days=1, microseconds=-1) if end else moment
    form = INSTANT_TEXT.fullmatch(value)
    if not form:
        raise ValueError(f"{value!r} is not {INSTANT_FORMS}")
    if (problem := offset_problem(form["offset"])) is not None:
        raise ValueError(f"{value!r}: {problem}")
    try:
        instant = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError as e:  # 2024-02-30, 25:00:00
        raise ValueError(f"{value!r}: {e}") from None
    # every reader works in UTC: the ledger's own bound on instants
    return in_utc_range(instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc))


def output_path(path: str | Path, option: str) -> Path:
    """A file the command will write, checked before any work: a folder that does not
    exist, or cannot be written, is one readable line and exit 2, not a traceback after
    minutes of work."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        problem = "is a folder"
    elif absent_folder(target) is not None:
        problem = f"its folder {folder} does not exist"
    elif not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        problem = "cannot be written"
    else:
        return target
    err.print(f"[red]error:[/red] {shown(option)} {shown(path)}: {shown(problem)}")
    raise typer.Exit(2)


# SQLite's companions of a database file: writing one corrupts the ledger as surely.
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def report_path(path: str | Path, option: str, db: str | None) -> Path:
    """`output_path` for a file written beside the ledger `db` (an export, a what-if page,
    a simulation's lines): not the ledger's own SQLite file either. (Not for the demo,
    whose output is its ledger.)"""
    target = output_path(path, option)
    if _is_ledger_file(target, db):
        err.print(f"[red]error:[/red] {shown(option)} {shown(path)}: is the ledger's own file: writing it would "
                  "destroy the ledger; name another file")
        raise typer.Exit(2)
    return target


def _is_ledger_file(target: Path, db: str | None) -> bool:
    """Whether `target` is the SQLite ledger `db` names, or one of its companions, by
    whatever path (a link, a relative one): `export -o` opened it for writing, truncating
    the ledger under its own connection, then deleted it as a partial export."""
    try:
        url = resolve_url(db)
    except StorageError:
        return False  # a bad --db: said when the ledger is opened
    if url.backend != "sqlite":
        return False
    ledger = Path(url.path)
    if target.exists() and ledger.exists() and os.path.samefile(target, ledger):
        return True  # (a hard link too)
    real = os.path.realpath(target)
    return any(real == os.path.realpath(f"{ledger}{suffix}") for suffix in _SQLITE_COMPANIONS)


@contextmanager
def stopped_as_interrupted() -> Iterator[None]:
    """SIGTERM (a service manager's stop, `kill`) taken as Ctrl-C while a command writes:
    an import rolls back, a rebuild stops at a page it can resume from, and each says so,
    exiting 143 as a process SIGTERM ended does. It ended them without a word: an
    operator could not tell whether the file was in, nor that the rebuild resumes."""
    stopped: list[int] = []

    def on_stop(signum, frame):
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_stop)
    try:
        yield
    except (typer.Exit, KeyboardInterrupt) as ended:
        if stopped and getattr(ended, "exit_code", 130) == 130:
            raise typer.Exit(128 + signal.SIGTERM) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
