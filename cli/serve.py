"""`certledger serve` (the HTTP API under uvicorn) and `certledger tokens` (its bearer
tokens: add, list, revoke)."""

from __future__ import annotations

import os
from enum import Enum
from typing import Annotated, Optional

import typer
from rich import box

from api.settings import DATABASE_URL_VAR
from cli.common import err, ledger_at, out, show, utc_text
from cli.display import DataTable, shown


class LogLevel(str, Enum):
    """uvicorn's levels: any other word was a traceback from inside uvicorn."""
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


tokens_app = typer.Typer(help="Bearer tokens of the HTTP API (stored hashed; a token is shown once).",
                         no_args_is_help=True)


# serve's own, and the tokens': which URL serve reads is what an operator checks tokens against.
DbOptionServeFirst = Annotated[
    Optional[str],
    typer.Option("--db", help=f"Database URL (default: ${DATABASE_URL_VAR}, which `serve` reads first, else "
                              "$CERTLEDGER_DATABASE_URL or sqlite:///certledger.db)"),
]


def serve(
    # (Its default is said in the docstring, at full width: the options' table leaves this
    # column too narrow for the variables' names, which rich cut short at 80 columns.)
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: as said above)")] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="uvicorn worker processes")] = 1,
    log_level: Annotated[LogLevel, typer.Option("--log-level", metavar="LEVEL", help="uvicorn log level: critical, error, warning, info, debug or trace")] = LogLevel.info,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                             help="Log each request's method, path and status (never headers)")] = True,
) -> None:
    """Serve the HTTP API (OpenAPI document at /docs) with uvicorn.

    The ledger served is --db, else $CERTLEDGER_API_DATABASE_URL, else
    $CERTLEDGER_DATABASE_URL, else sqlite:///certledger.db."""
    import uvicorn

    from api.settings import Settings
    from storage.urls import ENV_VAR

    try:
        settings = Settings.from_env(database_url=db)
    except Exception as e:
        err.print(f"[red]error:[/red] invalid API settings: {shown(e)}")
        raise typer.Exit(2) from None
    with ledger_at(settings.database_url):
        pass  # the ledger must be prepared (migrated) before serving: fail here, readably
    # Workers build the app from the environment (uvicorn's factory), so the URL goes there:
    # under both names, as the API's own wins (a `--db` beside it was served the other one).
    os.environ[ENV_VAR] = os.environ[DATABASE_URL_VAR] = settings.database_url
    refuse_taken_port(host, port)
    docs = f" (OpenAPI: http://{host}:{port}/docs)" if settings.docs else " (its OpenAPI document is off: DOCS=false)"
    err.print(f"serving certledger on http://{host}:{port}{docs}")
    uvicorn.run(
        "api.main:app_from_env", factory=True, host=host, port=port, workers=workers,
        log_level=log_level.value, access_log=access_log, server_header=False, proxy_headers=False,
        log_config=_log_config(log_level.value),
    )


def refuse_taken_port(host: str, port: int) -> None:
    """One line and exit 2 when the address cannot be listened on (another server has the
    port): uvicorn printed nothing of it after "serving certledger on …", then exited 3."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as e:
        err.print(f"[red]error:[/red] cannot listen on {shown(host)}:{port}: {shown(e.strerror or e)}")
        raise typer.Exit(2) from None


def _log_config(level: str) -> dict:
    """uvicorn's logging, with this project's own loggers beside its own, at the same
    level and through the same handler: under uvicorn's default only its loggers were set
    up, and the API's said nothing below a warning (a background catch-up's start and end
    among them)."""
    import copy

    from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    # A token pasted into a URL was written whole by the access log (api.log_redaction).
    config["formatters"]["default"]["()"] = "api.log_redaction.RedactingFormatter"
    config["formatters"]["access"]["()"] = "api.log_redaction.RedactingAccessFormatter"
    # Each line says when, in UTC (the formatters' converter): an operator could not place
    # a 503 or a catch-up's end against anything else.
    for formatter in ("default", "access"):
        config["formatters"][formatter]["fmt"] = "%(asctime)s " + config["formatters"][formatter]["fmt"]
        config["formatters"][formatter]["datefmt"] = "%Y-%m-%dT%H:%M:%SZ"
    # Any other library's warnings through the same handler (and so redacted), not the
    # logging module's last resort.
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    # (Some modules log under "certledger.…": they stayed at WARNING whatever the level.)
    for package in ("api", "commands", "projections", "storage", "certledger"):
        # The number, not the name: uvicorn's "trace" is no level name to the logging module.
        config["loggers"][package] = {"handlers": ["default"], "level": LOG_LEVELS[level], "propagate": False}
    return config




def _api_database(db: str | None) -> str | None:
    """The database `serve` would serve: the tokens live there. (The tokens commands
    read $CERTLEDGER_DATABASE_URL only, so with both set, a token issued was unknown to
    the server and a revocation missed it.)"""
    return db or os.environ.get(DATABASE_URL_VAR) or None


@tokens_app.command("add")
def tokens_add(
    role: Annotated[str, typer.Option("--role", help="centre, jury, auditor or reader")],
    centre: Annotated[Optional[str], typer.Option("--centre", help="The centre of a centre token")] = None,
    member: Annotated[Optional[str], typer.Option("--member", help=(
        "A jury token for one jury member: the lines it appends must name this member, alone, as the one "
        "who decided (a neutralisation's `by`, a ruling's `jury`); a decision of several members (a ban, a "
        "fraud rejection, a cancellation, a rule version) is recorded with a jury token bound to no member"))] = None,
    label: Annotated[str, typer.Option("--label", help="A note for `tokens list`")] = "",
    db: DbOptionServeFirst = None,
) -> None:
    """Issue a token and print it once: only its hash is stored."""
    from api.tokens import TokenError, TokenStore
    from projections.results import ResultsReader, catch_up

    with ledger_at(_api_database(db)) as ledger:
        try:
            info, token = TokenStore(ledger.store).add(role, centre, label, member)
        except TokenError as e:
            err.print(f"[red]error:[/red] {shown(e)}")
            raise typer.Exit(2) from None
        # Issued all the same (a new centre has no session yet), but said: a mistyped id
        # gave a token that answered every request with nothing, and no one knew why.
        if info.centre_id is not None:
            catch_up(ledger.store)  # (as reading commands do: sessions just imported count)
        unknown = info.centre_id is not None and not ResultsReader(ledger.store).sessions(
            centre_id=info.centre_id, limit=1)
    # ("centre for centre X" read twice the same word.)
    what = info.role + (f" {shown(info.centre_id)}" if info.centre_id else "")
    what += f", member {shown(info.member_id)}" if info.member_id else ""
    if unknown:
        err.print(f"[yellow]note:[/yellow] no session of centre {shown(info.centre_id)} is in the ledger's results yet: "
                  "this token sees nothing until one is (check the centre id)")
    err.print(f"token {info.token_id} ({what}) issued; it is shown once, keep it now:")
    try:
        print(token, flush=True)
    except OSError as unwritten:  # (a full disk, a closed pipe): no one holds it, so none may use it
        with ledger_at(_api_database(db)) as ledger:
            TokenStore(ledger.store).revoke(info.token_id)
        err.print(f"[red]error:[/red] the token could not be written ({shown(unwritten.strerror or unwritten)}): "
                  f"token {info.token_id} is revoked; issue another")
        raise typer.Exit(2) from None


@tokens_app.command("list")
def tokens_list(db: DbOptionServeFirst = None) -> None:
    """List tokens (ids, roles, centres, dates: never secrets)."""
    from api.tokens import TokenStore

    with ledger_at(_api_database(db)) as ledger:
        tokens = TokenStore(ledger.store).list()
    if not tokens:
        err.print("no tokens")
        return
    table = DataTable(box=box.SIMPLE_HEAD, pad_edge=False)
    rows = [(t.token_id, t.role, t.centre_id or t.member_id or "-", utc_text(t.created_at, to_the_second=True),
             f"revoked {utc_text(t.revoked_at, to_the_second=True)}" if t.revoked_at else "active", t.label)
            for t in tokens]
    headers = ("token", "role", "centre / member", "issued", "state", "label")
    for n, header in enumerate(headers):
        # Never cut ("b8923ee…" was then refused by `revoke`): only the label folds.
        widest = max(len(header), *(len(row[n]) for row in rows))
        # (The label folds, but is never squeezed out: at 80 columns it was one letter wide.)
        table.add_column(header, no_wrap=header != "label", min_width=12 if header == "label" else widest,
                         overflow="fold")
    for row in rows:
        table.add_row(*row)
    show(table)  # piped, wide enough for every column


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (see `tokens list`)")],
                  db: DbOptionServeFirst = None) -> None:
    """Revoke a token (the API refuses it within its token cache time, 5 s by default)."""
    from api.tokens import TokenStore

    with ledger_at(_api_database(db)) as ledger:
        revoked = TokenStore(ledger.store).revoke(token_id)
    if not revoked:
        err.print(f"[red]error:[/red] no active token {shown(token_id)}")
        raise typer.Exit(1)
    out.print(f"token {shown(token_id)} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(tokens_app, name="tokens")
