"""Storage on PostgreSQL: bytes per event, tables and indexes included.

    python benchmarks/storage_size.py --scale 10000

On the population of `benchmarks/population.py` (run `benchmarks/rebuild.py` first for the
read models to be filled): `pg_total_relation_size` (heap, TOAST and every index) of the
event log, the event-id index table, the session membership and the results read model,
divided by the number of events in the log. Baseline, same database: the bytes of the
stored payloads alone (`sum(octet_length(state))`): the ratio is the storage overhead
over the JSON the ledger keeps.
"""

from __future__ import annotations

import argparse

import support  # noqa: F401  (puts the repository on sys.path)
from support import Figure, connect, console, show

# The commit rows (009) and their hash chain (014) are the log's too: one row each per
# write transaction (the benchmark's population is one COPY: a row or two in all).
LOG_TABLES = ("certledger_events", "certledger_event_ids", "certledger_session_certifications",
              "certledger_commits", "certledger_chain")
READ_MODEL_TABLES = ("certledger_results", "certledger_result_history", "certledger_scoring_inputs",
                     "certledger_result_sessions", "certledger_results_tracking")


def sizes(url: str) -> dict:
    with connect(url, autocommit=True) as conn:
        tables = {}
        for table in LOG_TABLES + READ_MODEL_TABLES:
            row = conn.execute(
                "SELECT pg_total_relation_size(c.oid), pg_relation_size(c.oid), pg_indexes_size(c.oid) "
                "FROM pg_class c WHERE c.oid = to_regclass(%s)", [table]).fetchone()
            if row:
                tables[table] = {"total": row[0], "heap": row[1], "indexes": row[2]}
        events, payload = conn.execute("SELECT count(*), sum(octet_length(state)) FROM certledger_events").fetchone()
        certifications = conn.execute("SELECT count(*) FROM certledger_results").fetchone()[0] \
            if "certledger_results" in tables else 0
    return {"tables": tables, "events": events, "payload_bytes": int(payload or 0), "results_rows": certifications}


def measure(url: str, scale: int) -> list[Figure]:
    s = sizes(url)
    events = s["events"]
    log = sum(t["total"] for name, t in s["tables"].items() if name in LOG_TABLES)
    views = sum(t["total"] for name, t in s["tables"].items() if name in READ_MODEL_TABLES)
    payload = s["payload_bytes"] / events
    note = "" if s["results_rows"] else " (read models empty: run the rebuild first)"
    detail = ", ".join(f"{name.removeprefix('certledger_')} {t['total'] / events:.0f}"
                       for name, t in s["tables"].items())
    return [
        Figure(name="storage: log + indexes + read models", value=(log + views) / events, unit="bytes/event",
               baseline_name="stored JSON payload alone", baseline=payload, scale=scale, higher_is_better=False,
               notes=f"{events:,} events; per event: {detail}{note}", extra=s),
        Figure(name="storage: event log only (events, event ids, sessions)", value=log / events,
               unit="bytes/event", baseline_name="stored JSON payload alone", baseline=payload, scale=scale,
               higher_is_better=False, notes=f"read models: {views / 2**20:.0f} MiB for {s['results_rows']:,} "
                                             f"certifications{note}"),
    ]


def main() -> None:
    from population import ensure_population

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000)
    args = parser.parse_args()
    pop = ensure_population(args.scale)
    for fig in measure(pop.url, args.scale):
        show(fig)
    console.print("[dim]sizes are pages on disk (free space in pages included), after the build's VACUUM[/dim]")


if __name__ == "__main__":
    main()
