"""`certledger verify`: is the log whole, and do the read models say what it derives?"""

from __future__ import annotations

from typing import Annotated, Optional

import orjson
import typer

from cli.common import DbOption, err, ledger_at, out
from cli.display import shown, visible
from storage.chain import kept_form


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def verify_command(
        log_only: Annotated[bool, typer.Option("--log-only", help="Check the log and its indexes only, "
                                                                   "not the results (faster)")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
        expect_chain: Annotated[Optional[str], typer.Option(
            "--expect-chain", metavar="POSITION:DIGEST",
            help="A link of the hash chain kept from an earlier verify (its 'head'): the chain must still have "
                 "it, else the log up to it was rewritten")] = None,
        since: Annotated[Optional[str], typer.Option(
            "--since", metavar="POSITION:DIGEST",
            help="Check only the hash chain after a head kept from an earlier verify: that link is still there "
                 "and every commit since follows from it and its events. Reads only the events after it; the "
                 "events before it and the read models are left to a full verify")] = None,
        rejudge: Annotated[bool, typer.Option(
            "--rejudge", help="Also judge every fact again by this release's rules, as recording judges it, and "
                              "name those it would refuse (facts an older release accepted under rules added "
                              "since). Reads the whole log, holding the states of the 20,000 streams judged last (a "
                              "forgotten one is read again from the ledger)")] = False,
        db: DbOption = None,
    ) -> None:
        """Check the ledger against a replay of its log, writing nothing; exit 1 naming each problem.

        In one snapshot: every event readable and in its stream's order, the event-id index and session membership as the log calls for, the commit times, the log's hash chain recomputed from the events (and a kept head with --expect-chain), and each result, history and scoring input equal to a replay of its streams. Exit 0 when all hold, 1 when something does not (each problem named); when all hold, the chain's head to keep. With --since POSITION:DIGEST, only the chain after that kept head, reading only the events after it. With --rejudge, every fact is also judged again by this release's rules, and those recorded under older rules that it would refuse are noted.
        """  # one line: the help keeps a paragraph's line breaks
        from projections.verify import verify, verify_since

        if since is not None and (expect_chain is not None or log_only or rejudge):
            raise typer.BadParameter("--since checks the chain alone, from the link it names: give it without "
                                     "--expect-chain, --log-only and --rejudge", param_hint="--since")
        kept = _kept_link(expect_chain) if expect_chain is not None else None
        start = _kept_link(since, "--since") if since is not None else None
        with ledger_at(db) as ledger:
            if start is not None:
                report = _with_progress(lambda tick: verify_since(ledger.store, start, progress=tick))
            else:
                report = _with_progress(lambda tick: verify(ledger.store, results=not log_only, progress=tick,
                                                            expect_chain=kept))
                if rejudge:
                    noted = next((c.refused_codes for c in report.checks if c.name == "events"), set())
                    report.checks.append(_with_progress(lambda tick: _judged_again(ledger.store, report.position,
                                                                                   tick, noted)))
        if as_json:
            out.print_json(orjson.dumps(report.to_json()).decode())
        else:
            print_report(report)
        if not report.ok:
            raise typer.Exit(1)


def print_report(report) -> None:
    """A verify report as the command prints it (the demo shows it too)."""
    behind = report.events_behind
    if report.since is not None:
        out.print(f"checked the hash chain after the kept link at position {report.since:,}, the log ending at "
                  f"{report.position:,}, and nothing else (a full verify checks the rest)", soft_wrap=True)
    else:
        results = any(c.name == "results" for c in report.checks)  # (not with --log-only)
        out.print(f"verified the ledger at log position {report.position:,}"
                  + (f"; the results at the projection's position {report.projection_position:,} "
                     f"({behind:,} event(s) behind, not caught up: verify writes nothing; the results of those "
                     "events are not verified: run `certledger rebuild --resume`, or any reading command, "
                     "then verify again)" if behind and results else ""), soft_wrap=True)
    for check in report.checks:
        mark = "[green]ok[/green]" if check.ok else f"[red]{check.count:,} problem(s)[/red]"
        out.print(f"  {check.name}: {mark}: {shown(check.summary)}", soft_wrap=True)
        for problem in check.problems:
            out.print(f"    - {visible(problem)}", soft_wrap=True, markup=False)
        if check.count > len(check.problems):
            out.print(f"    … and {check.count - len(check.problems):,} more")
        for note in check.notes:
            out.print(f"    note: {visible(note)}", soft_wrap=True, markup=False)
    if report.chain_head is not None and report.ok:  # (a head of a log that fails is not one to keep)
        head = kept_form(*report.chain_head)
        out.print(f"  keep the chain's head to check this log later: --expect-chain {head} (the log up to it "
                  f"unchanged), or --since {head} (what is appended after it)", soft_wrap=True, markup=False)


def _judged_again(store, up_to: int, tick, noted: set[tuple[int, str]] = frozenset()):
    """The facts judged again (`commands.rejudge`), as one more check of the report; the
    refusals the events check already says (`noted`: position, rule's code) are counted,
    not said twice. Another rule's refusal of such a fact is said: the events check
    judges a few rules only (a publication it notes for its field's form may be dated
    before the finalisation too)."""
    from commands.rejudge import rejudge
    from projections.verify_report import MAX_LISTED, Check

    judged, found = rejudge(store, up_to, progress=(lambda done, total: tick("facts", done, total))
                            if tick else None)
    refusable = [fact for fact in found if (fact.position, fact.code) not in noted]
    also = len({fact.position for fact in found if (fact.position, fact.code) in noted})  # (facts, not findings)
    # Notes, not problems, as the events check notes facts a newer rule of writing refuses:
    # an older release recorded them lawfully, and the log holds them whole.
    check = Check("facts judged again", checked=judged,
                  notes=[fact.words() for fact in refusable[:MAX_LISTED]])
    if len(refusable) > MAX_LISTED:
        check.notes.append(f"… and {len(refusable) - MAX_LISTED:,} more")
    theirs = f"the {also:,} the events check notes above (not said twice)"
    check.summary = (f"{judged:,} fact(s) judged again by this release's rules, as recording judges them: "
                     + (f"{len(refusable):,} recorded under older rules that it would refuse (noted below)"
                        + (f", and {theirs}" if also else "") if refusable else
                        f"it would refuse only {theirs}" if also else "each would be recorded"))
    return check


def _kept_link(text: str, option: str = "--expect-chain") -> tuple[int, str]:
    position, _, digest = text.partition(":")
    if not (position.isascii() and position.isdigit() and len(position) <= 19 and int(position) < 2**63
            and len(digest) == 64 and all(c in "0123456789abcdefABCDEF" for c in digest)):
        raise typer.BadParameter(f"{text!r} is not POSITION:DIGEST (a position, a colon, 64 hexadecimal digits), as "
                                 "verify prints the chain's head", param_hint=option)
    return int(position), digest.lower()


def _with_progress(run):
    if not err.is_terminal:
        return run(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("verifying {task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def tick(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        return run(tick)
