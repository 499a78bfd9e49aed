"""`certledger what-if`: the certifications of a period under other rules, compared with
their results; nothing is written to the ledger (see projections/whatif.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DbOption, dump_json, err, ledger_at, out, parse_instant, report_path
from cli.display import shown
from ledger.unique_keys import dotted, repeated_key_message, repeated_keys

SHOWN_CHANGES = 20
BAR_WIDTH = 40


def read_proposal(rules: str, known: Any) -> dict[str, Any] | str:
    """A rule document from a file, or the name of a version the ledger holds."""
    from commands.interchange import exact_json, json_kind, without_bom

    path = Path(rules)
    if path.is_file():
        try:
            text = without_bom(path.read_text(encoding="utf-8"))  # as `rules check` and import take it
            # As `rules check` decodes it: Python's decoder took NaN and Infinity, which no
            # JSON holds, and the document was refused for a field instead of as JSON.
            document = exact_json(text.encode())
        except ValueError as e:
            raise ValueError(f"--rules {rules}: not a JSON document ({e})") from None
        repeated = repeated_keys(text, document)
        if repeated:
            raise ValueError(f"--rules {rules}: {dotted(repeated[0])}: {repeated_key_message(repeated[0])}")
        if not isinstance(document, dict):
            # A file holding the JSON string "pix-v2-2024-05" was taken as that version's
            # name, and compared without a word: a file is a document, as `rules check` says.
            raise ValueError(f"--rules {rules}: a rule document is a JSON object, not {json_kind(document)}")
        if document.get("type") == "RuleVersionChanged" and isinstance(document.get("rules"), dict):
            # The line `rules check` takes (the demo's jury_rule_change.json): its document, with
            # the line's version and date filled in as recording fills them. Read whole, it was
            # refused with 17 problems (`type`, `jury`, `at`: unknown keys; the rest missing).
            from ledger.decisions import rule_document_of_line

            return rule_document_of_line(document)
        return document
    if rules in known:
        return rules
    raise FileNotFoundError(f"--rules {rules}: no such file, and no rule version of that name in the ledger")


def print_report(report: Any, out: Console) -> None:
    from projections.whatif import unscored_words
    from projections.whatif_html import histogram_bins, period_of, title_of

    out.print(f"[bold]{shown(title_of(report))}[/bold]")
    under = ", ".join(f"{v} ({n})" for v, n in report.scored_under.items()) or "none"
    out.print(f"{period_of(report)}; scored under: {shown(under)}")
    # Recording rescores them only where the proposal is a document put in force at its
    # date: a version forced on every certification (by name, or `--against`) is a
    # comparison that no recording makes.
    recorded = report.mode == "proposal" and bool(report.proposal_changes)
    same = (f"; {report.rescored_unchanged} more scored under another version with the same outcome"
            + (" (recorded, each gets a new result in its history)" if recorded else "")
            if report.rescored_unchanged else "")
    # A change to a published result alters what centres and readers already see.
    published = (f" ({report.published_changed} of them published: results centres and readers already see)"
                 if report.published_changed else "")
    out.print(f"compared [bold]{report.compared}[/bold], changed [bold]{report.changed}[/bold]{published}{same}; "
              "nothing was written")
    if report.proposal_changes:  # what the jury proposes, before what it does
        head, *changes = report.proposal_changes
        out.print(f"the proposal {shown(report.proposal)}: {shown(head)}" + ("; it sets:" if changes else ""),
                  highlight=False, soft_wrap=True)
        for change in changes:
            out.print(f"  {shown(change)}", highlight=False, soft_wrap=True)
    for warning in report.warnings:  # as `rules check` says them, on the proposal
        out.print(f"[yellow]warning:[/yellow] {shown(warning)}", highlight=False, soft_wrap=True)
    if not report.compared:
        out.print("no certification started in this period: nothing to compare")
        return
    out.print(_matrix(report))
    _histogram(out, histogram_bins((d.difference, d.count) for d in report.score_differences))
    if (unscored := unscored_words(report)) and report.score_differences:
        out.print(f"  ({unscored})")
    out.print(_competences(report))
    _changes(out, report)


def _matrix(report: Any) -> Table:
    statuses, matrix = report.statuses(), report.status_matrix()
    table = Table(title="status changes (rows: before, columns: after)", title_justify="left")
    table.add_column("before \\ after")
    for status in statuses:
        table.add_column(status, justify="right")
    for before in statuses:
        cells = []
        for after in statuses:
            n = matrix.get(before, {}).get(after, 0)
            cells.append(("[dim]" if before == after else "[bold]" if n else "[dim]") + str(n))
        table.add_row(before, *cells)
    return table


def _histogram(out: Console, bins: list[tuple[int, int, int]]) -> None:
    out.print("[italic]pix-score differences (after - before)[/italic]")
    if not bins:
        out.print("  (no certification has a score on both sides: not started, not unscorable)")
        return
    top = max(n for _, _, n in bins)
    for lo, hi, n in bins:
        label = f"{lo:+d}" if lo == hi else f"{lo:+d}..{hi:+d}"
        colour = "grey50" if lo == hi == 0 else ("red" if hi < 0 else "green")
        bar = "█" * max(1, round(BAR_WIDTH * n / top))
        out.print(f"  {label:>13} [{colour}]{bar}[/{colour}] {n}")


def _competences(report: Any) -> Table:
    table = Table(title="competence levels", title_justify="left")
    for name in ("competence", "up", "down"):
        table.add_column(name, justify="left" if name == "competence" else "right")
    ranked = sorted(report.competence_changes, key=lambda c: (-(c.up + c.down), c.code))
    for c in ranked:
        table.add_row(c.code, f"[green]{c.up}", f"[red]{c.down}")
    if not ranked:
        table.add_row("(none changed)", "", "")
    return table


def _changes(out: Console, report: Any) -> None:
    out.print(f"[italic]certifications that changed (first {min(SHOWN_CHANGES, report.changed)} of {report.changed})[/italic]")
    for c in report.changes[:SHOWN_CHANGES]:
        out.print(f"  [bold]{shown(c.certification_id)}[/bold] (started {c.started_at:%Y-%m-%d}"
                  + (", published)" if c.published else ")"))
        for line in c.explanation:
            out.print(f"    {shown(line)}", highlight=False, soft_wrap=True)
    if report.changed > SHOWN_CHANGES:
        out.print(f"  … and {report.changed - SHOWN_CHANGES} more: --json lists them all")


def register(app: typer.Typer) -> None:
    @app.command("what-if")
    def what_if_command(
        rules: Annotated[str, typer.Option("--rules", help="A proposed rule document (JSON file; `extends` allowed), or the name of a version in the ledger (then applied to every certification of the period)")],
        against: Annotated[Optional[str], typer.Option("--against", help="Compare with this version of the ledger instead of the current results (both forced on every certification)")] = None,
        start: Annotated[Optional[str], typer.Option("--from", help="Certifications started from this date or instant")] = None,
        end: Annotated[Optional[str], typer.Option("--to", help="…up to this date (its whole day) or instant")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON")] = False,
        html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML page with the charts")] = None,
        db: DbOption = None,
    ) -> None:
        """Compare results under proposed rules with the current ones; writes nothing.

        Scores the period's certifications under a proposed rule document (inserted into
        the rule timeline at its effective_from) and compares with the current results,
        or one version with another (--against)."""
        from projections.whatif_html import MAX_CHANGES_SHOWN, render_html

        period = []
        for option, value, end_of_day in (("--from", start, False), ("--to", end, True)):
            try:
                period.append(parse_instant(value, end=end_of_day))
            except ValueError as e:
                err.print(f"[red]error:[/red] {shown(option)}: {shown(e)}")  # (it said "--from/--to", not which)
                raise typer.Exit(2) from None
        if period[0] is not None and period[1] is not None and period[0] > period[1]:
            err.print(f"[red]error:[/red] --from {shown(start)} is after --to {shown(end)}: the period is empty")
            raise typer.Exit(2)
        if html is not None:
            report_path(html, "--html", db)
        with ledger_at(db) as ledger:
            # Counts cover every certification; the explained changes are what is shown.
            details = None if as_json else (MAX_CHANGES_SHOWN if html is not None else SHOWN_CHANGES)
            report = _compare_or_exit(ledger.store, rules, against, period, details)
        if html is not None:
            html.write_text(render_html(report), encoding="utf-8")
            err.print(f"wrote {shown(html)}")
        if as_json:
            dump_json(report.model_dump(mode="json"))  # (whole, or 141: see dump_json)
        else:
            print_report(report, out)


def _compare_or_exit(store: Any, rules: str, against: str | None, period: tuple, details: int | None) -> Any:
    from cli.results import caught_up
    from ledger.rules import RuleDocumentInvalid
    from projections.vector_whatif import fast_what_if
    from projections.results import load_timeline
    from projections.whatif import UnknownRuleVersion

    try:
        proposal = read_proposal(rules, load_timeline(store))
    except (FileNotFoundError, ValueError) as e:
        err.print(f"[red]error:[/red] {shown(e)}")
        raise typer.Exit(2) from None
    caught_up(store)
    try:
        # The vectorised engine: the same report as projections.whatif.what_if (tested
        # identical), at a fraction of the cost on large populations.
        return fast_what_if(store, proposal, against=against, start=period[0], end=period[1], details=details)
    except RuleDocumentInvalid as invalid:
        for problem in invalid.problems:
            err.print(f"{shown(rules)}: {shown(problem.path or '(document)')}: {shown(problem.message)}", highlight=False, soft_wrap=True)
        err.print(f"[red]refused:[/red] the proposed rule document has {len(invalid.problems)} problem(s)")
        raise typer.Exit(1) from None
    except UnknownRuleVersion as e:
        err.print(f"[red]error:[/red] {shown(e)}")
        raise typer.Exit(2) from None
