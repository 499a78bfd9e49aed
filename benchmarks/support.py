"""What every benchmark script shares: where the server is, the machine, figures, bars.

A figure is printed with the baseline measured in the same run and their ratio, so a
figure taken on a busy machine is still comparable with its baseline (both suffered
alike). Timings are medians over runs; the runs themselves are kept in the JSON.

    CERTLEDGER_BENCH_SERVER=postgresql://postgres@127.0.0.1:5432/postgres  (the default)
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

SERVER_ENV = "CERTLEDGER_BENCH_SERVER"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = "certledger_bench_"  # the only databases these scripts create or drop
SIM_SEED = 1
SIM_START = datetime(2024, 1, 8, 8, tzinfo=timezone.utc)


def sim_days(scale: int) -> int | None:
    """The calendar a population's sessions spread over: the simulator's own (1.25 sessions
    a weekday: 10,000 candidates over about 1.5 years) up to 10,000, and the same 550 days,
    denser, beyond. A ledger refuses facts dated more than a day after it records them,
    and 100,000 candidates at the simulator's pace would run to 2039."""
    return None if scale <= 10_000 else 550

console = Console(stderr=True, width=160)


def server_url() -> str:
    return os.environ.get(SERVER_ENV, DEFAULT_SERVER)


def db_url(name: str) -> str:
    return server_url().rsplit("/", 1)[0] + "/" + name


def _checked(name: str) -> str:
    if not name.startswith(DB_PREFIX) or not name.replace("_", "").isalnum():
        raise ValueError(f"benchmarks only touch databases named {DB_PREFIX}*: {name!r}")
    return name


def db_exists(name: str) -> bool:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def drop_db(name: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')


def fresh_db(name: str) -> str:
    """Drop and create `name`, migrated for certledger; return its URL."""
    from storage import migrate
    from storage.urls import parse_url

    drop_db(name)
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{_checked(name)}"')
    url = db_url(name)
    migrate.migrate(parse_url(url))
    return url


def copy_db(name: str, template: str) -> str:
    """Drop `name` and create it as a file copy of `template` (which nobody may be using)."""
    drop_db(name)
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{_checked(name)}" TEMPLATE "{_checked(template)}"')
    return db_url(name)


def connect(url: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(url, **kwargs)


# ----------------------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        with psycopg.connect(server_url(), autocommit=True, connect_timeout=5) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            for name in ("fsync", "synchronous_commit", "shared_buffers", "commit_delay"):
                info[f"pg_{name}"] = conn.execute(f"SHOW {name}").fetchone()[0]
    except psycopg.Error as e:
        info["postgresql"] = f"unreachable: {e}"
    try:
        from importlib.metadata import version

        info["eventsourcing"] = version("eventsourcing")
        info["psycopg"] = version("psycopg")
        info["orjson"] = version("orjson")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        pass
    return info


def machine_line(m: dict[str, Any]) -> str:
    return f"{m['nproc']} × {m['cpu']}, PostgreSQL {m.get('postgresql', '?')}"


# ----------------------------------------------------------------------------- figures
@dataclass
class Figure:
    """One measured figure beside the baseline measured in the same run."""

    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float | None
    scale: int
    runs: list[float] = field(default_factory=list)
    higher_is_better: bool = True
    target: str = ""  # the target, in words
    met: bool | None = None
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def show(fig: Figure) -> None:
    ratio = fig.ratio
    ratio_text = "—" if ratio is None else f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.1f}×"
    verdict = "" if fig.met is None else ("  [green]target met[/green]" if fig.met else "  [red]target NOT met[/red]")
    console.print(
        f"[bold]{fig.name}[/bold] @ {fig.scale:,}: {fmt(fig.value, fig.unit)}"
        f"  | baseline {fig.baseline_name}: {fmt(fig.baseline, fig.unit)}  | ratio {ratio_text}"
        + (f"  | target: {fig.target}" if fig.target else "") + verdict
    )
    if fig.notes:
        console.print(f"    [dim]{fig.notes}[/dim]")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
    )


class NullBar:
    """A stand-in for `Progress` when bars are off (or nested inside another bar)."""

    def __enter__(self) -> NullBar:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, *a, **k) -> int:
        return 0

    def update(self, *a, **k) -> None:
        return None

    def advance(self, *a, **k) -> None:
        return None

    def remove_task(self, *a, **k) -> None:
        return None


def markdown_table(figures: list[dict[str, Any]], m: dict[str, Any]) -> str:
    rows = [
        "| figure | scale (certifications) | value | baseline (same run) | baseline value | ratio | target |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for f in figures:
        ratio = f.get("ratio")
        target = f.get("target") or ""
        if f.get("met") is not None:
            target += " ✔" if f["met"] else " ✘"
        rows.append(
            f"| {f['name']} | {f['scale']:,} | {fmt(f['value'], f['unit'])} | {f['baseline_name']} | "
            f"{fmt(f['baseline'], f['unit'])} | {'—' if ratio is None else f'{ratio:.2f}'} | {target} |"
        )
    rows.append("")
    rows.append(f"Machine: {machine_line(m)}; Python {m.get('python')}; fsync={m.get('pg_fsync')}, "
                f"synchronous_commit={m.get('pg_synchronous_commit')}; load average at start "
                f"{m.get('load_average_at_start')}. Medians of the runs.")
    return "\n".join(rows)
