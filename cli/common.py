"""What every `certledger` sub-command shares: the consoles, the --db option, and
opening the ledger with storage problems turned into one readable line."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from commands.bootstrap import open_ledger
from ledger.events import in_utc_range
from storage.errors import LedgerNotPrepared, StorageError
from storage.urls import ENV_VAR, resolve_url

err = Console(stderr=True)
out = Console()

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="Database URL: sqlite:///PATH or postgresql://… (default: $CERTLEDGER_DATABASE_URL or sqlite:///certledger.db)"),
]


@contextmanager
def ledger_at(db: str | None, *, create: bool = False):
    """Open the ledger, turning storage problems into one readable line and exit 2.

    Only the commands that write facts (`init`, `migrate`, `import`, `simulate`) may
    create the embedded ledger (`create=True`): any other, given a SQLite path that
    names no file, says so, where it used to create an empty ledger there and answer
    from it ("no results"), hiding a mistyped path."""
    if not create:
        missing_ledger(db)
    try:
        ledger = open_ledger(db)
    except (LedgerNotPrepared, StorageError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    except Exception as e:  # an unreachable server, a bad URL
        err.print(f"[red]error:[/red] cannot open the ledger at {resolve_url(db).redacted()}: {e}")
        raise typer.Exit(2) from None
    try:
        yield ledger
    finally:
        ledger.close()


def missing_ledger(db: str | None) -> None:
    """One readable line and exit 2 when `db` is a SQLite ledger whose file does not
    exist (any other URL is judged by opening it)."""
    try:
        url = resolve_url(db)
    except Exception:
        return  # opening it says what is wrong with the URL
    if url.backend == "sqlite" and url.path != ":memory:" and not Path(url.path).exists():
        err.print(f"[red]error:[/red] no ledger at {url.redacted()}: the file {url.path} does not exist "
                  f"(create one with `certledger init --db {url.redacted()}`, or check --db and "
                  f"${ENV_VAR})")
        raise typer.Exit(2)


def utc_text(value: str, *, to_the_second: bool = False) -> str:
    """An instant as an auditor can compare and paste it (`--as-of`): in UTC, marked Z,
    to the microsecond when it has any. Cutting the text at 19 characters used to drop
    both the offset (a fact at 13:30+05:30 looked 5 h after one at 08:00Z) and the
    fraction (an as-of pasted from the table left out the very event on that row)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    whole = moment.microsecond and not to_the_second
    return moment.isoformat(timespec="microseconds" if whole else "seconds").replace("+00:00", "Z")


def parse_instant(value: str | None, *, end: bool = False) -> datetime | None:
    """RFC 3339 instant, or a date (UTC): with `end=True` (`--to`, `--as-of`) a date
    includes its whole day."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an RFC 3339 instant or a date") from None
        # every reader works in UTC: the ledger's own bound on instants
        return in_utc_range(instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc))
    moment = datetime.combine(day, time.min, tzinfo=timezone.utc)
    return moment + timedelta(days=1, microseconds=-1) if end else moment


def output_path(path: str | Path, option: str) -> Path:
    """A file the command will write, checked before any work: a folder that does not
    exist, or cannot be written, is one readable line and exit 2, not a traceback after
    minutes of work."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        problem = "is a folder"
    elif not folder.is_dir():
        problem = f"its folder {folder} does not exist"
    elif not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        problem = "cannot be written"
    else:
        return target
    err.print(f"[red]error:[/red] {option} {path}: {problem}")
    raise typer.Exit(2)
