"""The `certledger` command line."""

from __future__ import annotations

import inspect
import shlex
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from typing import Annotated, Optional

import psycopg
import typer
from typer.core import TyperGroup
from eventsourcing import persistence

from cli.common import (
    REDERIVING_NOTE,
    STDOUT_CLOSED,
    DbOption,
    err,
    ledger_at,
    missing_folder,
    out,
    parse_instant,
    report_path,
    stopped_as_interrupted,
    warn_reused_ruling_ids,
)
from cli.display import shown, visible
from commands.recording import BatchRejected
from ledger.decisions import MAX_DATED_AHEAD
from ledger.errors import DomainError, FactDatedAhead
from storage import migrate as migrations
from storage.errors import UNAVAILABLE, ForeignDatabase, InterruptedAfterCommit, first_line
from storage.urls import resolve_url, sqlite_busy_timeout

app = typer.Typer(
    help="certledger: an event-sourced ledger for the Pix certification.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _options_before_the_command(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", hidden=True)] = None,
) -> None:
    # Each command takes its own --db; written before the command's name (as `git -C DIR`
    # is), click answered "No such option: --db", as if no ledger could be chosen at all.
    if db is not None:
        # A group (tokens, rules) takes no --db either: its commands do.
        name = ctx.invoked_subcommand
        group = isinstance(ctx.command.get_command(ctx, name), TyperGroup) if name else False  # type: ignore[attr-defined]
        err.print(f"[red]error:[/red] --db goes after the command's name: "
                  f"certledger {name}{' COMMAND' if group else ''} --db URL …")
        raise typer.Exit(2)


def _migrated(db: str | None):
    """(url, migrations applied), or one readable line and exit 2: a URL of no known
    kind, a path that is a folder or no database, an unreachable server."""
    try:
        url = resolve_url(db)
        if url.backend == "sqlite":
            sqlite_busy_timeout()  # a bad setting is said as one, not as a failed migration
    except Exception as e:
        err.print(f"[red]error:[/red] {shown(e)}")
        raise typer.Exit(2) from None
    missing_folder(db)
    try:
        applied = migrations.migrate(url)
        # Every time, not only when 006 is applied now: on SQLite any command may have
        # applied it already, silently, on opening the ledger.
        reused = migrations.reused_ruling_ids(url)
    except ForeignDatabase as e:  # nothing was tried: the file is not one to migrate
        err.print(f"[red]error:[/red] {shown(e)}")
        raise typer.Exit(2) from None
    except Exception as e:
        err.print(f"[red]error:[/red] migration of {shown(url.redacted())} failed: {shown(e)}"
                  f"{_create_it_first(url, e)}")
        raise typer.Exit(2) from None
    warn_reused_ruling_ids(reused)
    return url, applied


def _create_it_first(url, error: Exception) -> str:
    """How to create a PostgreSQL database the URL names and the server does not hold: a
    new user met the server's words alone, with nothing said of what to do. In UTF-8
    whatever the server's template1 (as `DatabaseNotUtf8` says it): a bare `createdb` on a
    server made in LATIN1 made a database the next `init` refused."""
    if url.backend != "postgresql" or f'database "{url.dbname}" does not exist' not in str(error):
        return ""
    command = ["createdb", "-E", "UTF8", "-T", "template0", "-h", url.host, "-p", str(url.port),
               *(["-U", url.user] if url.user else []), url.dbname]
    return shown(f'; create it first, in UTF-8 (README, "PostgreSQL"): {shlex.join(command)}')


@app.command()
def init(db: DbOption = None) -> None:
    """Create the ledger (schema and built-in rule timeline); safe to run twice."""
    url, applied = _migrated(db)
    with ledger_at(db, create=True) as ledger:
        versions = len(ledger.store.read_stream("rules"))
    out.print(f"ledger ready at {shown(url.redacted())} ({len(applied)} migration(s) applied, {versions} rule versions)")
    _say_if_rederiving(applied)


@app.command()
def migrate(db: DbOption = None) -> None:
    """Apply pending SQL migrations (in order, recorded; running it twice changes nothing)."""
    _, applied = _migrated(db)
    with ledger_at(db, create=True):
        pass  # writes the genesis rule timeline if the ledger is new
    if applied:
        out.print(f"applied: {', '.join(applied)}")
        _say_if_rederiving(applied)
    else:
        out.print("nothing to apply: the database is up to date")


def _say_if_rederiving(applied: list[str]) -> None:
    """`init` and `migrate` alike: a migration that dropped the results of an existing
    ledger, for them to be derived again, is said."""
    if migrations.drops_results(applied):
        err.print(REDERIVING_NOTE, soft_wrap=True)


@app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="A JSON Lines file, or - for standard input")],
    db: DbOption = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Judge every line against the ledger as an import would, and append nothing "
                        "(exit 0 if the whole file would be imported, 1 naming each refused line)")] = False,
) -> None:
    """Import facts: every line is validated; on any bad line nothing is appended.

    With --check, nothing is appended either way: the file is judged against the ledger
    as it stands (a centre's file before it is sent; an export before it is imported into
    another ledger, which `init` makes first). A check holds the ledger's write lock while
    it runs, as an import does."""
    from commands.import_events import import_file

    source = sys.stdin.buffer if file == "-" else None
    if source is None and not Path(file).is_file():
        err.print(f"[red]error:[/red] {shown(file)} is a folder, not a file of facts" if Path(file).is_dir()
                  else f"[red]error:[/red] no such file: {shown(file)}")
        raise typer.Exit(2)
    if source is None and _holds_no_line(Path(file)):  # (before a new ledger is made for nothing)
        _refuse_empty(file)
    # (A check judges against a ledger that exists: it makes none, to leave nothing behind.)
    with stopped_as_interrupted(), ledger_at(db, create=not check) as ledger, (source or open(file, "rb")) as fh:
        try:
            with counting(f"{'checking' if check else 'importing'} {file}") as progress:
                try:
                    report = import_file(ledger, fh, progress=progress, check=check)
                except InterruptedAfterCommit as interrupted:  # (once its transaction committed)
                    if interrupted.report is not None:
                        _said_imported(file, interrupted.report, check=False)
                    err.print("[yellow]interrupted[/yellow] as the import committed: the file's events are in the "
                              f"ledger (`certledger import --check {shown(file)}` counts them as already recorded)")
                    raise typer.Exit(130) from None
                except KeyboardInterrupt:  # (during the import only: its transaction rolls back)
                    err.print("[yellow]interrupted:[/yellow] " + (
                        "the check stopped; nothing was appended" if check else
                        "nothing was appended (an import is one transaction); run it again to import the file"))
                    raise typer.Exit(130) from None
        except BatchRejected as rejected:
            for e in rejected.errors:
                err.print(f"{shown(file)}:{shown(e)}")
            more = " (stopped after the first errors)" if rejected.truncated else ""
            err.print(f"[red]refused:[/red] {rejected.refused_lines} bad line(s){more}; nothing was appended")
            raise typer.Exit(1) from None
        if not check:
            try:
                ledger.store.refresh_statistics(report.appended)  # a bulk load: the planner's view of it
            except KeyboardInterrupt:  # (the import has committed: it stands, and is said)
                _said_imported(file, report, check=False)
                err.print("[yellow]interrupted[/yellow] while the tables' statistics were refreshed (ANALYZE), "
                          "once the import had committed: its events are in the ledger; the tables are analysed later")
                raise typer.Exit(130) from None
        if report.appended == report.skipped == 0:  # (standard input, read only now)
            _refuse_empty(file)
        _said_imported(file, report, check=check)
        if report.published and not check:
            _said_awaiting(file, ledger.store, list(report.published))


def _said_imported(file: str, report, *, check: bool) -> None:
    """The import's count (or the check's) and its rule versions' warnings: said of a
    committed import even when a Ctrl-C came after it (the warnings were lost there)."""
    if check:
        out.print(f"checked: {report.appended} event(s) would be imported, {report.skipped} already recorded; "
                  "nothing was appended")
    else:
        out.print(f"imported {report.appended} event(s), {report.skipped} already recorded")
    for version, warning in report.rule_version_warnings():
        err.print(f"{visible(file)}: warning: rule version {visible(version)}: {visible(warning)}",
                  soft_wrap=True, markup=False, highlight=False)


# A jury's batch publishes a session or a few; an import publishing more is a ledger's
# history brought in (an export imported elsewhere), which is not the moment the jury
# decides: its results are derived on the next read, not held up by the import.
PUBLICATIONS_CHECKED = 20
# Nor is it held up by results far behind the log (a history imported before it, an
# upgrade that derives them again): a jury's one-line publication derived every result of
# the ledger first. Past this many events, it says where to look, as the API answers
# `awaiting` null past its own bound (`max_inline_catch_up`, the same default).
RESULTS_DERIVED_FOR_IT = 100_000


def _said_awaiting(file: str, store, sessions: list[str]) -> None:
    """What still awaited the jury in each session the import published (a fraud report
    not ruled on, say): publication is not refused for it (the docket advises), but not
    silent either. Read once the import has committed (the results caught up past it),
    so a failure here is said as such and leaves the import standing. A check says
    nothing of it: the batch's own rulings would not be counted."""
    from cli.results import caught_up
    from projections.docket import awaiting_at_publication, awaiting_summary
    from projections.results import ResultsReader

    if len(sessions) > PUBLICATIONS_CHECKED:
        err.print(f"note: it publishes {len(sessions):,} sessions; `certledger docket --session ID` says what awaits "
                  "the jury in each", soft_wrap=True, markup=False, highlight=False)
        return
    try:
        if ResultsReader(store).lag(at_most=RESULTS_DERIVED_FOR_IT + 1) > RESULTS_DERIVED_FOR_IT:
            err.print("note: the results are far behind the log (derived on the next read, or now by `certledger "
                      "rebuild --resume`): what awaits the jury in the session(s) it published is not known yet; "
                      "`certledger docket --session ID` says it", soft_wrap=True, markup=False, highlight=False)
            return
        caught_up(store)
        found = awaiting_at_publication(ResultsReader(store), sessions)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/yellow] while reading what awaits the jury in the session(s) it published: "
                  "the import stands (`certledger docket --session ID` says it)")
        raise typer.Exit(130) from None
    except Exception as e:  # noqa: BLE001 - the import committed: said, not a traceback over it
        err.print(f"{visible(file)}: warning: what awaits the jury in the session(s) it published could not be "
                  f"read ({type(e).__name__}: {first_line(e)}); `certledger docket --session ID` says it",
                  soft_wrap=True, markup=False, highlight=False)
        return
    for session, awaiting in found.items():
        err.print(f"{visible(file)}: warning: session {visible(session)} published while {awaiting_summary(awaiting)}; "
                  f"`certledger docket --session {visible(shlex.quote(session))}` lists them (the jury may unpublish to decide "
                  "first: ResultsUnpublished)", soft_wrap=True, markup=False, highlight=False)


def _remove_cut_short(output: str) -> None:
    """Remove a file a command began to write and could not finish: not a device or a
    pipe; through a link, the file it names (removing the link left that file cut short)."""
    written = Path(output).resolve()
    if written.is_file():
        written.unlink()


def _holds_no_line(path: Path) -> bool:
    from commands.import_events import file_lines

    # Read as the import reads it: a file whose lines end at a lone \r has no \n to stop
    # a read, and was read whole here before the import's bounded reads began.
    with path.open("rb") as fh:
        return not any(line.strip() for line in file_lines(fh))


def _refuse_empty(file: str) -> None:
    # As the API refuses an empty batch: "imported 0" and exit 0 let a broken export
    # pipeline (an empty file, a query that found nothing) pass unnoticed.
    what = "standard input" if file == "-" else shown(file)
    err.print(f"[red]refused:[/red] {what} holds no event (empty, or blank lines only); nothing was appended")
    raise typer.Exit(1)


@contextmanager
def counting(description: str):
    """A live count of lines on a terminal (stderr), nothing when piped: yields the
    callback a long job calls with how many lines it just did."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} lines"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda n: bar.advance(task, n)


@app.command()
def export(
    db: DbOption = None,
    certification: Annotated[Optional[str], typer.Option("--certification", help="Only this certification's own facts (to read; --session to move them)")] = None,
    session: Annotated[Optional[str], typer.Option("--session", help="This session, its certifications, and the rule versions and bans they depend on")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="File to write (default: stdout)")] = None,
) -> None:
    """Export facts in the interchange format, in recorded order."""
    from commands.export_events import export_events
    from commands.interchange import write_lines

    if certification and session:
        err.print("[red]error:[/red] --certification and --session: give one or the other")
        raise typer.Exit(2)
    if output:
        report_path(output, "--output", db)
    with ledger_at(db) as ledger:
        events = iter(export_events(ledger, certification_id=certification, session_id=session))
        first = next(events, None)
        if first is None and (certification or session):  # before any output is opened
            what = f"certification {certification}" if certification else f"session {session}"
            err.print(f"[red]error:[/red] {shown(what)} is not in the ledger")
            raise typer.Exit(1)
        events = chain([first] if first is not None else [], events)
        if output:
            try:
                with open(output, "wb") as fh:
                    n = write_lines(events, fh)
            except BaseException:
                # Every line written is whole: a file cut short (a damaged event met, Ctrl-C) read
                # as a complete export, and imported elsewhere as one.
                _remove_cut_short(output)
                raise
            err.print(f"exported {n} event(s) to {shown(output)}")
        else:
            write_lines(events, sys.stdout.buffer)
            sys.stdout.buffer.flush()


@app.command()
def simulate(
    candidates: Annotated[int, typer.Option("--candidates", min=1, help="How many candidates (one certification each)")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same population")] = 1,
    start: Annotated[str, typer.Option("--start", help="Date of the first session (RFC 3339)")] = "2024-01-08T08:00:00+00:00",
    days: Annotated[Optional[int], typer.Option("--days", min=1, help=(
        "Spread the sessions over about this many calendar days (default: 1.25 sessions per weekday, so 10,000 "
        "candidates span about 1.5 years): a ledger refuses facts dated more than a day after it records them"))] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Write JSON Lines here instead of appending")] = None,
    db: DbOption = None,
) -> None:
    """Append a deterministic synthetic population of sessions (or write it as JSON Lines)."""
    from commands.simulate import SeedAlreadySimulated, append_simulation, write_simulation

    try:
        began = parse_instant(start)  # the forms every other option takes
    except ValueError as e:
        err.print(f"[red]error:[/red] --start: {shown(e)}")
        raise typer.Exit(2) from None
    # Its calendar past the year 9999 (--start 9999-12-31T23:00:00Z, or a --days that far):
    # a date Python cannot hold was a traceback.
    beyond = "[red]error:[/red] --start, --days: the simulated calendar runs past the year 9999; nothing was {}"
    if output:
        report_path(output, "--output", db)
        try:
            written = write_simulation(output, candidates=candidates, seed=seed, start=began, days=days)
        except OverflowError:
            _remove_cut_short(output)  # what it had begun to write, as export removes one
            err.print(beyond.format("written"))
            raise typer.Exit(2) from None
        out.print(f"wrote {written.events} event(s) to {shown(output)}")
        ahead = datetime.now(timezone.utc) + MAX_DATED_AHEAD
        if written.last_dated is not None and written.last_dated > ahead:
            # Written all the same (a file for later), but said now, not at its import.
            err.print(f"[yellow]warning:[/yellow] its calendar runs past today (its last fact is dated "
                      f"{written.last_dated.isoformat()}): a ledger refuses facts dated more than a day after it "
                      "records them, so importing it now would be refused; give --days (fewer days end sooner) or an "
                      "earlier --start")
        return
    with ledger_at(db, create=True) as ledger:
        try:
            with counting(f"simulating {candidates} candidates") as progress:
                report = append_simulation(ledger, candidates=candidates, seed=seed, start=began, progress=progress,
                                           days=days)
            ledger.store.refresh_statistics(report.appended)
        except SeedAlreadySimulated as taken:
            err.print(f"[red]error:[/red] {shown(taken)}")
            raise typer.Exit(1) from None
        except OverflowError:  # (its transaction rolled back)
            err.print(beyond.format("appended"))
            raise typer.Exit(2) from None
        except BatchRejected as rejected:
            if any(e.code == FactDatedAhead.code for e in rejected.errors):
                # Not a bug: the calendar of so many candidates runs past today.
                first = next(e for e in rejected.errors if e.code == FactDatedAhead.code)
                # (Its message, not its line: the simulation is no file.)
                err.print(f"[red]the simulation was refused:[/red] its calendar runs past today ({shown(first.message)}); "
                          "nothing was appended: give --days (fewer days end sooner) or an earlier --start")
                raise typer.Exit(1) from None
            err.print(f"[red]the simulation was refused[/red] (a bug): {shown(rejected)}")
            raise typer.Exit(1) from None
    out.print(f"simulated {candidates} candidate(s): {report.appended} event(s) appended, {report.skipped} already there")


# Sub-commands live beside the packages they drive; each module has `register(app)`.
SUBCOMMAND_MODULES = ("cli.rules", "cli.results", "cli.docket", "cli.verify", "cli.whatif", "cli.serve", "cli.bench", "cli.demo")


def _mount_subcommands() -> None:
    import importlib

    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        module.register(app)


def _reflow(text: str) -> str:
    """A docstring's paragraphs each on one line: typer keeps the source's line breaks
    inside a paragraph, so at 80 columns the help broke mid-sentence ("inserted" /
    "into" / "the rule timeline")."""
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n"))


def _reflow_help(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        text = info.help or (info.callback.__doc__ if info.callback else None)
        if text:
            info.help = _reflow(text)
    for group in typer_app.registered_groups:
        _reflow_help(group.typer_instance)


_mount_subcommands()
_reflow_help(app)


def main() -> None:
    try:
        app()
    except SystemExit as e:
        # Output closed by its reader (`verify | head -1`, `export | grep -q`): typer, as
        # click, exits 1, wrapping stdout so only then (cli.common's console hands rich's
        # broken pipes on to it): exit as a shell reports a tool ended by SIGPIPE.
        if e.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":  # (typer's copy of click's)
            sys.exit(STDOUT_CLOSED)
        raise
    except DomainError as e:
        err.print(f"[red]refused:[/red] {shown(e.message)}")
        sys.exit(1)
    except (*UNAVAILABLE, persistence.InternalError, psycopg.InternalError) as e:  # (a server gone read-only)
        # The database failed under a running command (a connection ended, a server gone
        # read-only): a traceback and exit 1, which is `verify`'s "problems found" and
        # `import`'s "refused"; it is neither: one line and exit 2, as when opening fails.
        err.print(f"[red]error:[/red] the ledger's storage failed: {shown(first_line(e))}")
        sys.exit(2)
    except OSError as e:
        # A file that could not be read or written (the output on a full disk: ENOSPC):
        # the same, not a traceback. Without a file name, it is the output.
        what = f"{e.filename}" if getattr(e, "filename", None) else "cannot write the output"
        err.print(f"[red]error:[/red] {shown(what)}: {shown(e.strerror or e)}")
        sys.exit(2)



if __name__ == "__main__":  # pragma: no cover
    main()
