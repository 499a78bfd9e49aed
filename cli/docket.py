"""`certledger docket`: what awaits the jury (`projections.docket`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cli.common import DbOption, dump_json, err, ledger_at, show, utc_text
from cli.display import shown
from cli.results import JsonOption, _as_of_or_exit, _status_cell, _table, caught_up
from projections.fold import utc_iso


def awaits_words(item: dict) -> list[str]:
    """What one certification awaits, a line each."""
    words = []
    if item["fraud_reports"]:
        words.append(f"fraud reported ({', '.join(item['fraud_reports'])}), no ruling on it yet")
    for i in item["incidents_left_to_jury"]:
        number = f", question {i['question_number']}" if i["question_number"] is not None else ""
        words.append(f"incident {i['code']} (report {i['report_id']}{number}) left to the jury: {i['because']}")
    if item["error"]:
        words.append(f"unscorable: {item['error']}")
    if item["banned_at_start"]:
        ban = item["banned_at_start"]
        lifted = (f", lifted from {utc_text(ban['lifted']['at'])} by ruling {ban['lifted']['ruling_id']}"
                  if ban.get("lifted") else "")
        words.append(f"started during a ban of its candidate (ruling {ban['ruling_id']}, from {utc_text(ban['at'])} "
                     f"until {utc_text(ban['until'])}{lifted}) recorded after the start, which stood: the jury may "
                     "cancel it")
    return words


def _state(entry: dict) -> str:
    if not entry["finalised"]:
        return "not finalised: the jury processes a session once its centre has finalised it"
    if entry["published"]:
        return "published" + (f"; {len(entry['awaiting'])} certification(s) with something undecided"
                              if entry["awaiting"] else "")
    if entry["ready_to_publish"]:
        return "nothing awaits the jury: ready to publish"
    return f"{len(entry['awaiting'])} certification(s) await the jury"


def register(app: typer.Typer) -> None:
    @app.command("docket")
    def docket_command(
        session: Annotated[Optional[str], typer.Option(
            "--session", help="Only this session, whatever its state (published or not)")] = None,
        centre: Annotated[Optional[str], typer.Option("--centre", help="Only this centre's sessions")] = None,
        as_of: Annotated[Optional[str], typer.Option(
            "--as-of", help="Recorded time T (RFC 3339; a date means the end of that day, UTC): what awaited the "
                            "jury at T, from a replay of the log as the ledger held it then")] = None,
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """What awaits the jury: the finalised sessions not yet published, and in each the
        certifications it has still to decide on.

        A fraud report (or a C6 report) not resolved by hand, with no ruling on its
        certification (a fraud rejection, a cancellation, a lifting of either, a comment), an incident
        report no rule resolves, no ruling resolved by hand and whose question the jury has not
        neutralised or de-neutralised (none for a cancelled certification), an unscorable result,
        a start during a ban of its candidate that the ledger recorded after the start, with no
        ruling on the certification since. A session with none of these is ready to publish."""
        from projections.docket import docket, docket_as_of
        from projections.results import ResultsReader

        moment = _as_of_or_exit(as_of)
        with ledger_at(db) as ledger:
            if moment is None or session is None:
                caught_up(ledger.store)  # (as of a time, the sessions it may list are the view's)
            if moment is None:
                entries = docket(ResultsReader(ledger.store), session_id=session, centre_id=centre)
            else:
                entries = docket_as_of(ledger.store, moment, session_id=session, centre_id=centre)
        then = f" as of {utc_text(moment.isoformat())}" if moment is not None else ""
        if as_json:
            # Each says which moment it answers for, as `results --json --as-of` does.
            dump_json(entries if moment is None else [{**e, "as_of": utc_iso(moment)} for e in entries])
            if session is not None and not entries:
                raise typer.Exit(1)
            return
        if session is not None and not entries:
            err.print(f"[red]error:[/red] session {shown(session)} is not in the ledger{then}"
                      + (f" as a session of centre {shown(centre)}" if centre is not None else ""))
            raise typer.Exit(1)
        if not entries:
            of_centre = f" of centre {shown(centre)}" if centre is not None else ""
            err.print(f"no session{of_centre} awaited the jury{then}: every finalised one's results were published"
                      if moment is not None else
                      f"no session{of_centre} awaits the jury: every finalised one's results are published")
            return
        if session is None:
            ready = sum(1 for e in entries if e["ready_to_publish"])
            show(f"{len(entries):,} finalised session(s) not yet published{then}: {len(entries) - ready:,} with "
                 f"certifications awaiting the jury, {ready:,} ready to publish")
        for entry in entries:
            show(f"[bold]session {shown(entry['session_id'])}[/bold] (centre {shown(entry['centre_id'] or '')}), "
                 f"{entry['certifications']:,} certification(s): {_state(entry)}")
            if not entry["awaiting"]:
                continue
            table = _table("certification", "candidate", "status", "awaits")
            for item in entry["awaiting"]:
                table.add_row(item["certification_id"], item["candidate_id"] or "", _status_cell(item["status"]),
                              "\n".join(awaits_words(item)))
            show(table)
