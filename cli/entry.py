"""The `certledger` program's entry point: `cli.main` imported inside it, so that a
Ctrl-C landing while the command loads (pydantic, eventsourcing, psycopg: about a
second) ends it with one line and exit 130, not an import's traceback (a `rebuild`
interrupted early died by the signal that way)."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from cli.main import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: the command had not started, nothing was done\n")
        sys.exit(130)
    run()
