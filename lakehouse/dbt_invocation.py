"""Where the dbt project is and the environment every dbt invocation runs with.

The CLI, the tests and Dagster's dbt resource all run dbt with :func:`dbt_environment`, so the
target (`local` or `athena`) and every location follow the same settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from streaming.contracts.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


@dataclass(frozen=True)
class Window:
    """The event dates an incremental run rebuilds (both inclusive)."""

    min_date: date
    max_date: date

    def __post_init__(self) -> None:
        if self.min_date > self.max_date:
            raise ValueError(f"window starts {self.min_date} after it ends {self.max_date}")

    @property
    def event_days(self) -> tuple[date, ...]:
        span = (self.max_date - self.min_date).days + 1
        return tuple(self.min_date + timedelta(days=offset) for offset in range(span))

    def as_vars(self) -> dict[str, str]:
        return {"min_date": self.min_date.isoformat(), "max_date": self.max_date.isoformat()}


@dataclass(frozen=True)
class EventDays:
    """What an arrival-driven run rebuilds: these event dates, read from the bronze rows of
    these ingest dates (see ``lakehouse/arrivals.py``)."""

    event_days: tuple[date, ...]
    ingest_days: tuple[date, ...]

    def as_vars(self) -> dict[str, list[str]]:
        return {
            "event_days": [day.isoformat() for day in sorted(self.event_days)],
            "ingest_days": [day.isoformat() for day in sorted(self.ingest_days)],
        }


Rebuild = Window | EventDays
"""The event days a run rebuilds; None (where accepted) means a full build."""


def dbt_target(settings: Settings) -> str:
    return "local" if settings.env == "local" else "athena"


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Variables for a dbt process: the settings' locations, the target, telemetry off."""
    environment = settings.process_environment()
    environment |= {
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "CLICKSTREAM_DBT_TARGET": dbt_target(settings),
        "CLICKSTREAM_AWS_REGION": settings.region,
        "CLICKSTREAM_ATHENA_WORKGROUP": settings.athena_workgroup,
        "CLICKSTREAM_ATHENA_STAGING": f"s3://{settings.bucket_name('athena-results')}/dbt/",
        "CLICKSTREAM_ATHENA_DATA": f"s3://{settings.bucket_name('silver')}/dbt/",
    }
    if settings.env == "local":
        (settings.duckdb_dir / "tmp").mkdir(parents=True, exist_ok=True)
    return environment


def dbt_command(
    args: Sequence[str], *, window: Rebuild | None = None, full_refresh: bool = False
) -> list[str]:
    command = [str(Path(sys.executable).with_name("dbt")), *args]
    if window is not None:
        command += ["--vars", json.dumps(window.as_vars())]
    if full_refresh:
        command.append("--full-refresh")
    return command


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    window: Rebuild | None = None,
    full_refresh: bool = False,
    capture: bool = False,
    in_process: bool = False,
) -> None:
    """Run dbt in the project with the settings' environment; raises :class:`DbtError`.

    ``in_process`` saves the interpreter start and imports (seconds per call) for callers that
    run dbt many times in a row; it sets the process environment for the call's duration.
    """
    if in_process:
        _run_in_process(settings, args, window=window, full_refresh=full_refresh)
        return
    result = subprocess.run(
        dbt_command(args, window=window, full_refresh=full_refresh),
        cwd=DBT_PROJECT_DIR,
        env=os.environ | dbt_environment(settings),
        text=True,
        capture_output=capture,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stdout or "")[-4000:] if capture else ""
        raise DbtError(f"dbt {' '.join(args)} failed (exit {result.returncode})\n{detail}")


@contextmanager
def process_environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in this process's environment for the block, then put back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_in_process(
    settings: Settings, args: Sequence[str], *, window: Rebuild | None, full_refresh: bool
) -> None:
    from dbt.cli.main import dbtRunner

    command = dbt_command(args, window=window, full_refresh=full_refresh)[1:]
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--quiet"]
    with process_environment(dbt_environment(settings)):
        try:
            outcome = dbtRunner().invoke(command)
        finally:
            _forget_duckdb_environment()
    if not outcome.success:
        raise DbtError(f"dbt {' '.join(args)} failed: {outcome.exception or outcome.result}")


def _forget_duckdb_environment() -> None:
    """dbt-duckdb keeps its database and plugins for the life of the process; the next
    in-process run must open them afresh so it sees the catalog's current snapshots."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


class DbtError(RuntimeError):
    """A dbt invocation failed; the message carries the end of its output."""
