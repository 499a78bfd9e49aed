"""`certledger rules …`: the rule timeline the ledger holds, and checking a proposal."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich import box

from cli.common import DbOption, dump_json, err, ledger_at, out
from cli.display import DataTable, shown, visible
from ledger.unique_keys import dotted, repeated_key_message, repeated_keys

rules_app = typer.Typer(help="Rule versions: list, show, JSON Schema, check a proposed document.", no_args_is_help=True)


def _timeline(ledger):
    from projections.results import load_timeline

    return load_timeline(ledger.store)


@rules_app.command("list")
def list_(db: DbOption = None,
          json: Annotated[bool, typer.Option("--json", help="Print the timeline as JSON")] = False) -> None:
    """The versions in the ledger, in timeline order."""
    from ledger.rule_stream import RulesState, rule_decision
    from ledger.streams import RULES_STREAM

    with ledger_at(db) as ledger:
        records = ledger.store.read_stream(RULES_STREAM)  # read once: folded, and each version's record
    timeline = RulesState.folded(r.event for r in records).timeline
    recorded = {r.event.version: r for r in records}
    rows = [
        {
            "version": r.version,
            "effective_from": r.effective_from.isoformat(),
            "extends": (timeline.raw(r.version) or {}).get("extends"),
            "algorithm": r.algorithm,
            "max_reachable_level": r.max_reachable_level,
            **rule_decision(recorded[r.version]),  # who decided it, why and when
        }
        for r in timeline.versions()
    ]
    if json:
        dump_json(rows)
        return
    from ledger.rule_stream import GENESIS_REASON

    # The names and dates are what a reader looks up: never cut nor wrapped (at 80
    # columns they used to end in "…"); the reason wraps in the room that is left.
    table = DataTable(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("version", "effective", "extends", "max", "recorded"):
        table.add_column(header, no_wrap=True)
    table.add_column("why", overflow="fold")  # squeezed, it wraps and folds: no letter is lost
    for row in rows:
        why = "built-in (pix-rules.md §6)" if row["reason"] == GENESIS_REASON else row["reason"]
        if row["jury"]:  # who decided it: what an audit of the version named, and this did not
            why += f" (jury: {', '.join(row['jury'])})"
        table.add_row(row["version"], row["effective_from"][:10], row["extends"] or "", str(row["max_reachable_level"]),
                      row["recorded_at"][:10], why)
    out.print(table)


@rules_app.command("show")
def show(version: Annotated[str, typer.Argument(help="A rule version of the ledger (see `rules list`)")],
         db: DbOption = None, raw: Annotated[bool, typer.Option("--raw", help="The document as written (with extends), not resolved")] = False) -> None:
    """One version, resolved (every key, the parent's values filled in), as JSON."""
    with ledger_at(db) as ledger:
        timeline = _timeline(ledger)
    rules = timeline.get(version)
    if rules is None:
        err.print(f"[red]error:[/red] no rule version {shown(repr(version))} in the ledger; see `certledger rules list`")
        raise typer.Exit(1)
    dump_json(timeline.raw(version) if raw else rules.model_dump(mode="json"))


@rules_app.command("schema")
def schema() -> None:
    """The JSON Schema of a rule document (the form a jury writes, `extends` allowed)."""
    from ledger.rules import rule_document_json_schema

    dump_json(rule_document_json_schema())


@rules_app.command("check")
def check(file: Annotated[str, typer.Argument(help="A rule document (JSON), or a RuleVersionChanged line")],
          db: DbOption = None) -> None:
    """Validate a proposed rule document against the ledger's versions; list every problem with its path."""
    from commands.interchange import exact_json, without_bom
    from ledger.rules import RuleDocumentInvalid, resolve_document

    path = Path(file)
    try:
        text = without_bom(path.read_bytes())  # as some editors save UTF-8, and as import takes it
        doc = exact_json(text)  # a number past 64 bits refused as such, as import refuses it
    except FileNotFoundError:
        err.print(f"[red]error:[/red] no such file: {shown(file)}")
        raise typer.Exit(2) from None
    except OSError as e:  # a folder, a file this user may not read
        err.print(f"[red]error:[/red] cannot read {shown(file)}: {shown(e.strerror or e)}")
        raise typer.Exit(2) from None
    except orjson.JSONDecodeError as e:
        err.print(f"[red]invalid:[/red] {shown(file)} is not valid JSON: {shown(e)}")
        raise typer.Exit(1) from None
    repeated = repeated_keys(text, doc)
    if repeated:
        for where in repeated:
            err.print(f"[red]invalid:[/red] {shown(file)}: {shown(dotted(where))}: {shown(repeated_key_message(where))}")
        raise typer.Exit(1)
    with ledger_at(db) as ledger:
        from projections.results import load_rules

        state = load_rules(ledger.store)
        now = ledger.service.clock()
    timeline = state.timeline
    known = {r.version: r for r in timeline.versions()}
    problems = []
    if isinstance(doc, dict) and doc.get("type") == "RuleVersionChanged":
        # An event line (as the demo's jury_rule_change.json): judged whole, as recording
        # would judge it (the line's fields, the jury, the document and its agreement with
        # the event), then its document checked and warned of like a bare one.
        err.print(f"{shown(file)}: a RuleVersionChanged event: judged as recording would, with the rule document it "
                  "carries", soft_wrap=True, markup=False, highlight=False)
        doc, refusals, judged = _event_document(doc, state, now)
        problems += refusals
        if judged:  # recording's refusal named the document's problems, one per line
            doc = None
        # Else the line was refused for itself (its jury, its version): the document's own
        # problems are said too, so that one check names all there is to mend (it took a
        # jury three rounds: the jury, then the version, then the document).
        prefix = "rules."
    else:
        prefix = ""
    if isinstance(doc, dict) and doc.get("version") in known \
            and not any(p.startswith(("version:", "rules.version:")) for p in problems):  # (not said twice)
        problems.append(f"{prefix}version: {doc['version']!r} already exists in the ledger")
    try:
        rules = resolve_document(doc, known, written=True) if doc is not None else None
    except RuleDocumentInvalid as invalid:
        problems += [_said(prefix, p) for p in invalid.problems]
        rules = None
    if problems:
        for p in problems:
            err.print(f"{visible(file)}: {visible(p)}", soft_wrap=True, markup=False, highlight=False)
        err.print(f"[red]invalid:[/red] {len(problems)} problem(s)")
        raise typer.Exit(1)
    out.print(f"{shown(file)}: valid rule document {shown(rules.version)} (effective from {rules.effective_from.isoformat()})",
              soft_wrap=True, markup=False, highlight=False)
    from ledger.scoring.proposal_warnings import proposal_warnings

    for warning in proposal_warnings(rules, timeline):
        err.print(f"{visible(file)}: warning: {visible(warning)}", soft_wrap=True, markup=False, highlight=False)


def _event_document(line: dict, state, now: datetime) -> tuple[Any, list[str], bool]:
    """(the document a RuleVersionChanged line carries, the refusals recording would give
    it: none if it would record it, whether those refusals already judged the document),
    judged by recording's own code (the line parsed, then decisions.judge_rule_version
    against the ledger's `rules` stream state). A refused document gives each of its problems, one
    per line, as for a bare document."""
    from commands.interchange import parse_item
    from commands.recording import LineError
    from ledger.decisions import Context, check, rule_document_of, rule_document_of_line
    from ledger.errors import DomainError
    from ledger.rules import RuleDocumentInvalid

    event = parse_item(1, line)
    if isinstance(event, LineError):
        # A line that does not parse (its `rules` no object among them): the document is
        # judged apart only if it is one.
        judged = (event.field or "").split(".")[0] == "rules"
        doc = rule_document_of_line(line)
        return (doc if doc is not None else line.get("rules")), [f"{event.field or '(line)'}: {event.detail}"], judged
    try:
        # What recording asks of it, against the rules stream: its date too (a line dated
        # 2030 was called valid, and recording refused it as dated ahead).
        check(event, Context(stream=state, rules=state, recorded_at=now))
    except DomainError as refused:
        if isinstance(refused.__cause__, RuleDocumentInvalid):
            return rule_document_of(event), [_said("rules.", p) for p in refused.__cause__.problems], True
        return rule_document_of(event), [f"{refused.field or '(line)'}: {refused.message}"], False
    return rule_document_of(event), [], False


def _said(prefix: str, problem) -> str:
    """A document's problem at its path under `prefix`; one of the whole document (no
    path) at the document itself, not at an empty path (`file: : a rule document is…`)."""
    where = f"{prefix}{problem.path}" if problem.path else (prefix.rstrip(".") or "(document)")
    return f"{where}: {problem.message}"


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
