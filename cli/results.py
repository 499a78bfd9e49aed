"""`certledger results`, `certledger audit`, `certledger rebuild`: the results projection.

Reading commands catch the projection up first (the embedded ledger has no background
runner), so results are there right after `certledger import`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import typer
from rich.text import Text

from cli.common import DbOption, dump_json, err, ledger_at, parse_instant, show, stopped_as_interrupted, utc_text
from cli.display import DataTable, shown
from ledger.vocabulary import RESULT_STATUSES
from projections.fold import utc_iso

STATUSES = ("started", *RESULT_STATUSES)

AsOfOption = Annotated[
    Optional[str],
    typer.Option("--as-of", help="Recorded time T (RFC 3339; a date means the end of that day, UTC): "
                                 "the results as the ledger knew them at T"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def parse_as_of(value: str | None) -> datetime | None:
    """A date as --as-of means the end of that day (UTC)."""
    return parse_instant(value, end=True)


def _as_of_or_exit(value: str | None) -> datetime | None:
    try:
        moment = parse_as_of(value)
    except ValueError as e:
        err.print(f"[red]error:[/red] --as-of: {shown(e)}")
        raise typer.Exit(2) from None
    if moment is not None and moment > datetime.now(timezone.utc):
        # Answered as the ledger stands now; filed as "the ledger at T", it could be wrong
        # by whatever is recorded before T comes.
        err.print(f"[yellow]note:[/yellow] --as-of {utc_text(moment.isoformat())} is later than now: the answer is "
                  "the ledger as it stands, and what is recorded until then can still change it")
    return moment


def caught_up(store) -> int:
    """Catch the projection up, with a progress bar when it has a lot to do on a terminal.

    (On SQLite, catching up writes the view, so it waits for another writer like any
    writer does: `ledger_at` says so past the busy timeout.)"""
    from projections.results import ResultsReader, catch_up

    if not err.is_terminal or ResultsReader(store).lag() < 20_000:
        done = catch_up(store)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("projecting results"), BarColumn(), MofNCompleteColumn(), console=err,
                      transient=True) as bar:
            task = bar.add_task("catch-up", total=None)
            done = catch_up(store, progress=lambda done, total: bar.update(task, completed=done, total=total))
    store.refresh_statistics(done)  # (a derivation after an upgrade, or a large import)
    return done


def _has_stream(store, kind: str, value: str) -> bool:
    """Whether the ledger knows the id though it has no result: a session opened with no
    certification yet, a candidate known by a ban only."""
    from ledger.streams import candidate_stream, certification_stream, session_stream

    stream = {"certification": certification_stream, "session": session_stream, "candidate": candidate_stream}[kind]
    return bool(store.read_stream(stream(value)))


def _status_style(status: str) -> str:
    return {"validated": "green", "rejected": "red", "cancelled": "yellow", "error": "magenta"}.get(status, "dim")


def _status_cell(status: str) -> Text:
    return Text(status, style=_status_style(status))


def _table(*columns: str, title: str | None = None) -> DataTable:
    """Identifiers are folded, never cut: an auditor must be able to copy them."""
    table = DataTable(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _results_table(rows: list[dict], as_of: datetime | None = None) -> DataTable:
    sessions = {(r["session_id"], r["centre_id"]) for r in rows}
    one_session = len(sessions) == 1
    title = "session {}, centre {}".format(*map(shown, next(iter(sessions)))) if one_session else None
    if as_of is not None:  # (the same heading as a current answer's, it read as one)
        title = ", ".join(filter(None, [title, f"as of {utc_text(as_of.isoformat())}"]))
    columns = ["certification", "candidate", *([] if one_session else ["session"]), "status", "pix", "rate",
               "rule version", "published", "reasons"]
    table = _table(*columns, title=title)
    for r in rows:
        status = r["status"]
        table.add_row(
            r["certification_id"], r["candidate_id"], *([] if one_session else [r["session_id"]]),
            _status_cell(status),
            "" if r["pix_score"] is None else str(r["pix_score"]),
            "" if r["reproducibility_rate"] is None else f"{r['reproducibility_rate']}%",
            r["rule_version"] or "", "yes" if r["published"] else "no", _reasons_cell(r["reasons"]),
        )
    return table


def _reasons_cell(reasons: list[str]) -> str:
    """The reason that decided the status first, the others that also held after it, so
    a cancellation does not read as decided by a rejection's reason (§3.7's order)."""
    first, *also = dict.fromkeys(reasons) if reasons else [""]
    return f"{first} (also held: {', '.join(also)})" if also else first


# The jury's decisions are shown whole: cut at the summary's length, a ban lost its end
# and its words (`candidate_id=…`), a rule version its reason (`reason=…`), and the
# audit is where who decided what, until when and why is read.
_JURY_FACTS = frozenset({"JuryRuling", "RuleVersionChanged", "QuestionNeutralised", "QuestionDeneutralised"})
_SUMMARY_LENGTH = 90


def _summary(line: dict) -> str:
    skip = {"type", "event_id", "at", "certification_id", "jury", "profile", "rules"}
    parts = [f"{k}={v}" for k, v in line.items() if k not in skip and v not in ("", None, False, {}, [])]
    # Who decided a rule version or a ruling (the jury decisions table names only those
    # bearing on the result: not a ban, a comment, nor the rule version it is scored
    # under), after the fields naming what was decided.
    members = [m.get("member_id") for m in line.get("jury") or () if isinstance(m, dict)]
    if members:
        parts.insert(min(2, len(parts)), f"jury={','.join(str(m) for m in members)}")
    text = " ".join(parts)
    if line.get("type") in _JURY_FACTS or len(text) <= _SUMMARY_LENGTH:
        return text
    return text[:_SUMMARY_LENGTH - 3] + "…"


def _held_from(row: dict) -> str:
    """When the ledger came to hold an event or result: its commit's instant, else (an
    event from before the commit rows) its own recorded time."""
    return row.get("committed_at") or row["recorded_at"]


def print_audit(trail: dict, result: int | None = None) -> None:
    """The trail; the explanation of result #`result` if given, else of the current one
    (or the one as of the trail's time)."""
    current = trail["current"]
    when = f" as of {trail['as_of']}" if trail["as_of"] else ""
    show(f"[bold]certification {shown(trail['certification_id'])}[/bold]{when}: candidate "
         f"{shown(trail['candidate_id'])}, session {shown(trail['session_id'])}, centre {shown(trail['centre_id'])}")
    # "recorded at": when the ledger came to hold it (its commit), what --as-of compares.
    events = _table("pos", "recorded at", "recorded by", "type", "at", "what", title="events")
    for e in trail["events"]:
        events.add_row(str(e["position"]), utc_text(_held_from(e)), e["recorded_by"], e["type"], utc_text(e["at"]),
                       _summary(e["event"]))
    show(events)
    for ban in trail.get("bans_at_start", []):
        how = ("the ledger recorded the ban after the start, so the start stood" if ban["recorded_after_start"] else
               "the ledger recorded the ban before the start, which it refuses now (candidate-banned)")
        lifted = ban.get("lifted")
        lifting = (f", lifted from {utc_text(lifted['at'])} (ruling {shown(lifted['ruling_id'])}, position "
                   f"{lifted['position']})" if lifted else "")
        show(f"[yellow]note:[/yellow] candidate {shown(trail['candidate_id'])} was banned from certification from "
             f"{utc_text(ban['at'])} until {utc_text(ban['until'])} (ruling {shown(ban['ruling_id'])}, position "
             f"{ban['position']}){lifting}, which covers this certification's start: {how}; the result is scored as "
             "any other (§5 says nothing of a test taken during a ban; the jury may cancel it)")
    results = _table("#", "recorded at", "pos", "cause", "detail", "status", "pix", "rate", "rule version",
                     title="results")
    for h in trail["results"]:
        r = h["result"]
        results.add_row(str(h["seq"]), utc_text(_held_from(h)), str(h["position"]), h["cause"], h["detail"],
                        _status_cell(r["status"]), "" if r["pix_score"] is None else str(r["pix_score"]),
                        f"{r['reproducibility_rate']}%", r["rule_version"])
    show(results)
    started = next((e["at"] for e in trail["events"] if e["type"] == "CertificationStarted"), None)
    rules = trail.get("rule_versions", [])
    if result is None:
        label = f"result as of {utc_text(trail['as_of'])}" if trail["as_of"] else "current result"
        _print_explanation(current, label, rules, started)
        return
    chosen = next(h for h in trail["results"] if h["seq"] == result)
    picked = {**chosen["result"], "explanation": chosen["explanation"], "published": None}
    known_then = [r for r in rules if r.get("position") is None or r["position"] <= chosen["position"]]
    _print_explanation(picked, f"result #{result} ({shown(chosen['cause'])}: {shown(chosen['detail'])})",
                       known_then, started)


def _in_force_line(version: str, rules: list[dict], started: str | None) -> str | None:
    """Why `version` scored the certification: the span of start times it is in force
    for, in the timeline the trail knew, beside the certification's own start."""
    index = next((i for i, r in enumerate(rules) if r["version"] == version), None)
    if index is None or started is None:
        return None
    since = rules[index]["effective_from"]
    later = rules[index + 1] if index + 1 < len(rules) else None
    if later is None:
        span = " on"
    elif later["effective_from"] == since:  # a tie: the later recorded wins from then on
        span = f", since replaced by {shown(later['version'])} (the same effective_from, recorded later)"
    else:
        span = f" until {utc_text(later['effective_from'])} ({shown(later['version'])} from then)"
    return (f"rule version {shown(version)}: in force for certifications started from {utc_text(since)}{span}; "
            f"this one started {utc_text(started)}")


def _qrocm_line(ex: dict, rules: list[dict]) -> str | None:
    """A QROCM-dep's weight and `partially` credit, which its competence's N and C count
    by, when the certification has one (the competence's row names only the counts)."""
    version = next((r for r in rules if r["version"] == ex["rule_version"]), None)
    if version is None:
        return None
    qrocm = version["qrocm_dep"]
    if not any(q["format"] == qrocm["format"] for q in ex["questions"]):
        return None
    per = version["questions_per_competence"]
    return (f"{shown(qrocm['format'])}: weight {qrocm['weight']} in a competence of fewer than {per} questions "
            f"(else 1), where a `partially` answer adds {qrocm['partially_credit']} to C (rule version "
            f"{shown(ex['rule_version'])}); C is capped at {per}")


def _print_explanation(current: dict, label: str, rules: list[dict] | None = None, started: str | None = None) -> None:
    status = current["status"]
    published = {True: ", published", False: ", not published", None: ""}[current["published"]]
    show(f"[bold]{label}[/bold]: [{_status_style(status)}]{status}[/]"
              + (f", {current['pix_score']} pix under {shown(current['rule_version'])}" if current["pix_score"] is not None else "")
              + published)
    ex = current.get("explanation")
    if not ex:
        show("no result yet: the certification is started (it is scored when completed or when its session is finalised)")
        return
    for rank, because in enumerate(ex["status_because"]):
        # The first decided the status (§3.7's order); the others held too, lower in it.
        show(f"  because {shown(because)}" if rank == 0 else f"  also held, lower in the order: {shown(because)}")
    if current.get("error"):
        show(f"  [magenta]error:[/magenta] {shown(current['error'])}")
    in_force = _in_force_line(ex["rule_version"], rules or [], started)
    if in_force:
        show(in_force)
    rate = ex["rate"]
    show(f"reproducibility rate: {rate['correct']}/{rate['answered']} → {rate['rate']}% "
              f"(rounding {rate['rounding']}, band {rate['band']}{', failed' if rate['failed'] else ''})")
    if ex.get("trust"):
        t = ex["trust"]
        show(f"trust: {t['answered']} answered of {t['served']} served, {t['required']} required "
                  f"(ratio {t['ratio']}): {'trusted' if t['trusted'] else 'NOT trusted'}")
    else:
        show(f"trust: version {shown(ex['rule_version'])} has no trust rule (§3.5): none is checked")
    # An unscorable certification certifies no competence (its result has no marks): the
    # table still shows what each competence's counts and row say, but no level or pix
    # that would read as certified.
    unscored = bool(current.get("error"))  # (status error, or cancelled by the jury and unscorable too)
    comps = _table("competence", "estimated", "profile pix", "N", "C", "Z", "outcome", "level", "pix", "because",
                  title="competences" + (" (unscorable: no level or pix is certified)" if unscored else ""))
    for code, c in ex["competences"].items():
        level, pix = ("—", "—") if unscored else (str(c["level"]), str(c["pix"]) + (" (capped)" if c["capped"] else ""))
        comps.add_row(code, str(c["estimated_level"]), str(c["profile_pix"]), str(c["N"]), str(c["C"]), str(c["Z"]),
                      c["outcome"] or "", level, pix, c["because"])
    show(comps)
    qrocm = _qrocm_line(ex, rules or [])
    if qrocm:
        show(qrocm)
    questions = _table("#", "question", "competence", "format", "weight", "answer", "counted as", "fate", "because",
                      title="questions")
    for q in ex["questions"]:
        fate = q["fate"] + (f" ({q['neutralised_by']})" if q.get("neutralised_by") else "")
        counted = q["counted_as"] or ""
        if counted == "partially" and q.get("credit") is not None:  # worth what the rules give it
            counted += f" (credit {q['credit']})"
        questions.add_row(str(q["number"]), q["question_id"], q["competence"], q["format"], str(q["weight"]),
                          q["answer"] or "", counted, fate, "; ".join(q["because"]))
    show(questions)
    if ex["incidents"]:
        # "question now": the report's outcome is what resolving it did; the jury's later
        # word on the question (a de-neutralisation) shows beside it, not as a contradiction.
        fates = {q["question_id"]: q["fate"] + (f" ({q['neutralised_by']})" if q.get("neutralised_by") else "")
                 for q in ex["questions"]}
        incidents = _table("report", "code", "question", "outcome", "question now", "because", title="incident reports")
        for i in ex["incidents"]:
            incidents.add_row(i["report_id"], i["code"], str(i["question_number"] or ""), i["outcome"],
                              fates.get(i["question_id"] or "", ""), i["because"])
        show(incidents)
    if ex.get("jury"):
        # Who took each decision the prose names, and their words: the prose names the
        # ruling or the neutralisation only (a reader of the API is not shown this part).
        jury = _table("decision", "ruling / event", "on", "jury", "words", title="jury decisions")
        for d in ex["jury"]:
            on = d["question_id"] or (f"report {d['report_id']}" if d["report_id"] else "the certification")
            # (No comment: the resolution alone, not " (resolution: …)" with a leading space.)
            resolution = f"resolution: {d['resolution']}" if d.get("resolution") else ""
            words = f"{d['words']} ({resolution})" if d["words"] and resolution else d["words"] or resolution
            jury.add_row(d["decision"], d["ruling_id"] or d["event_id"] or "", on, ", ".join(d["jury"]), words)
        show(jury)
    for note in ex.get("notes", ()):
        show(f"note: {shown(note)}")


def register(app: typer.Typer) -> None:
    @app.command("results")
    def results_command(
        certification: Annotated[Optional[str], typer.Option("--certification", help="Only this certification")] = None,
        session: Annotated[Optional[str], typer.Option("--session", help="Only this session's certifications")] = None,
        candidate: Annotated[Optional[str], typer.Option("--candidate", help="Only this candidate's certifications")] = None,
        status: Annotated[Optional[str], typer.Option("--status", help="Only this status (validated, rejected, cancelled, error, started)")] = None,
        as_of: AsOfOption = None,
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """Current results (or, with --as-of, the results as the ledger knew them then)."""
        from projections.asof import results_as_of
        from projections.results import ResultsReader

        moment = _as_of_or_exit(as_of)
        ids = [(name, value) for name, value in (("certification", certification), ("session", session),
                                                 ("candidate", candidate)) if value is not None]
        if len(ids) > 1:  # alternatives, as for export; combined they were silently ANDed
            err.print(f"[red]error:[/red] {' and '.join(f'--{name}' for name, _ in ids)}: give one of them")
            raise typer.Exit(2)
        if status is not None and status not in STATUSES:
            err.print(f"[red]error:[/red] --status {shown(status)}: not a status (one of {', '.join(STATUSES)})")
            raise typer.Exit(2)
        filters = {"certification_id": certification, "session_id": session, "candidate_id": candidate,
                   "status": status}
        with ledger_at(db) as ledger:
            caught_up(ledger.store)
            reader = ResultsReader(ledger.store)
            if moment is None:
                rows = reader.current(**filters)
            else:
                rows = results_as_of(ledger.store, moment, **filters)
            # An id the ledger does not know exits 1, whichever kind it is; a known one
            # whose results --status or --as-of leave out is an empty answer, not a failure.
            unknown = bool(ids) and not rows and not reader.current(
                **{k: v for k, v in filters.items() if k != "status"}, limit=1) and not _has_stream(ledger.store, *ids[0])
        if as_json:
            # Each says which moment it answers for, as the API's as-of answers do: a saved
            # answer without it read as a current one.
            dump_json(rows if moment is None else [{**row, "as_of": utc_iso(moment)} for row in rows])
        elif unknown:
            err.print(f"no results: {ids[0][0]} {shown(ids[0][1])} is not in the ledger")
        elif not rows:
            narrowed = any(v is not None for v in filters.values())
            err.print("no results" + (f" as of {utc_text(moment.isoformat())}" if moment else "")
                      + (" for these filters" if narrowed else ": the ledger holds no certification yet"))
        else:
            show(_results_table(rows, as_of=moment))
        if unknown:
            raise typer.Exit(1)

    @app.command("audit")
    def audit_command(
        certification_id: Annotated[str, typer.Argument(help="The certification to audit")],
        as_of: AsOfOption = None,
        result: Annotated[Optional[int], typer.Option(
            "--result", metavar="N", help="Explain result #N of the results table rather than the current one")] = None,
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """A certification's full trail: its events, its results, and why.

        Every event (recorded when, by whom), every result it was given and why, and the
        explanation of the current (or as-of) result, or of result #N (`--result N`;
        `--json` explains each)."""
        from projections.audit import CertificationNotFound, audit_trail

        moment = _as_of_or_exit(as_of)
        with ledger_at(db) as ledger:
            caught_up(ledger.store)
            try:
                trail = audit_trail(ledger.store, certification_id, as_of=moment)
            except CertificationNotFound as e:
                err.print(f"[red]error:[/red] {shown(e)}")
                raise typer.Exit(1) from None
        if result is not None and all(h["seq"] != result for h in trail["results"]):
            given = ", ".join(f"#{h['seq']}" for h in trail["results"]) or "none yet"
            err.print(f"[red]error:[/red] --result {result}: {shown(certification_id)} has no result #{result} "
                      f"(its results{' then' if moment else ''}: {given})", soft_wrap=True)
            raise typer.Exit(2)
        if as_json:
            dump_json(trail)
        else:
            print_audit(trail, result)

    @app.command("rebuild")
    def rebuild_command(
        resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted rebuild instead of starting over")] = False,
        db: DbOption = None,
    ) -> None:
        """Drop the read models and rebuild them from the event log.

        Ctrl-C (or SIGTERM) leaves a resumable state: `certledger rebuild --resume`."""
        from projections.rebuild import rebuild
        from projections.results import ResultsReader

        with stopped_as_interrupted(), ledger_at(db) as ledger:
            try:
                report = _rebuild_with_progress(ledger.store, resume, rebuild)
            except KeyboardInterrupt:
                reader = ResultsReader(ledger.store)
                err.print(f"[yellow]interrupted[/yellow] at log position {reader.position()} "
                          f"({reader.lag()} event(s) to go): run `certledger rebuild --resume` to continue")
                raise typer.Exit(130) from None
            ledger.store.refresh_statistics(report.processed)
        what = "resumed" if report.resumed else ("caught up" if resume else "rebuilt")
        # "0 event(s) processed" read as nothing rebuilt when a server's catch-up had
        # followed the reset and derived the results itself: this command's share is said as such.
        also = " (another process, such as a running server, derived the rest meanwhile)" \
            if not resume and report.processed == 0 and report.position > 0 else ""
        show(f"results {shown(what)} (log position {report.position}): {report.processed} event(s) processed by "
             f"this command{also}")


def _rebuild_with_progress(store, resume: bool, rebuild):
    if not err.is_terminal:
        return rebuild(store, resume=resume)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("rebuilding results"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
                  TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task("rebuild", total=None)
        return rebuild(store, resume=resume,
                       progress=lambda done, total: bar.update(task, completed=done, total=total))
