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
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from lakehouse.window import Rebuild
from streaming.contracts.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def dbt_target(settings: Settings) -> str:
    return "local" if settings.env == "local" else "athena"


REBUILD_VARIABLE = "CLICKSTREAM_DBT_REBUILD"
"""The event days a run rebuilds, as the vars of ``macros/window.sql`` in one JSON object (empty:
everything). Passed in the environment rather than ``--vars``: dbt reuses its saved parse of the
project only while the ``--vars`` stay the same, and every run rebuilds other days."""


def dbt_environment(settings: Settings, rebuild: Rebuild | None = None) -> dict[str, str]:
    """Variables for a dbt process: the settings' locations, the target, the rebuild."""
    environment = settings.process_environment()
    environment |= {
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "CLICKSTREAM_DBT_TARGET": dbt_target(settings),
        "CLICKSTREAM_AWS_REGION": settings.region,
        "CLICKSTREAM_ATHENA_WORKGROUP": settings.athena_workgroup,
        "CLICKSTREAM_ATHENA_STAGING": f"s3://{settings.bucket_name('athena-results')}/dbt/",
        "CLICKSTREAM_ATHENA_DATA": f"s3://{settings.bucket_name('silver')}/dbt/",
        "CLICKSTREAM_DUCKDB_MEMORY": settings.duckdb.memory_limit,
        "CLICKSTREAM_DUCKDB_THREADS": str(settings.duckdb.thread_count),
        REBUILD_VARIABLE: json.dumps(rebuild.as_vars()) if rebuild is not None else "",
    }
    if settings.env == "local":
        (settings.duckdb_dir / "tmp").mkdir(parents=True, exist_ok=True)
    return environment


def dbt_executable() -> Path:
    """The dbt of this environment (the one installed beside this interpreter)."""
    return Path(sys.executable).with_name("dbt")


def dbt_args(args: Sequence[str], *, full_refresh: bool = False) -> list[str]:
    """A dbt command's arguments: the subcommand and its options."""
    return [*args, "--full-refresh"] if full_refresh else list(args)


def dbt_command(args: Sequence[str], *, full_refresh: bool = False) -> list[str]:
    return [str(dbt_executable()), *dbt_args(args, full_refresh=full_refresh)]


@cache
def _project_vars() -> dict[str, Any]:
    """The project's vars as ``dbt_project.yml`` declares them (read once per process)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return dict(project["vars"])


def _project_var(name: str) -> Any:
    return _project_vars()[name]


def max_lateness_days() -> int:
    """How many days after its event date an event may still arrive (a dbt project var)."""
    return int(_project_var("max_lateness_days"))


def parquet_write_options() -> str:
    """The options of DuckDB's ``COPY ... (format parquet, ...)`` for the local lake's files
    (a dbt project var, so the bronze load writes as the models do)."""
    return str(_project_var("parquet_write_options"))


def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    window: Rebuild | None = None,
    full_refresh: bool = False,
    capture: bool = False,
    in_process: bool = False,
) -> None:
    """Run dbt in the project with the settings' environment; raises :class:`DbtError`, and
    :class:`NothingSelectedError` when a selection matched nothing (dbt itself succeeds).

    dbt's output is shown as it comes, or with ``capture`` kept for the error. Its traceback of
    an unexpected failure is never shown: the error carries it as a note (``--debug``).
    ``in_process`` saves the interpreter start and imports (seconds per call) for callers that
    run dbt many times in a row; it sets the process environment for the call's duration.
    """
    if in_process:
        _run_in_process(settings, args, window=window, full_refresh=full_refresh)
        return
    output = _DbtOutput(shown=not capture)
    with subprocess.Popen(
        [*dbt_command(args, full_refresh=full_refresh), "--log-format", "json"],
        cwd=DBT_PROJECT_DIR,
        env=os.environ | dbt_environment(settings, window) | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if capture else None,
        text=True,
    ) as process:
        for line in process.stdout or ():
            output.read(line)
    command = f"dbt {' '.join(args)}"
    if process.returncode != 0:
        raise output.failure(command, process.returncode)
    if output.nothing_selected:
        raise NothingSelectedError(f"{command}: the selection matches no node, nothing ran")


class _DbtOutput:
    """dbt's structured log (``--log-format json``) as dbt's text lines: shown or kept."""

    def __init__(self, *, shown: bool) -> None:
        self.shown = shown
        self.kept: list[str] = []
        self.error: str | None = None
        """dbt's own message of why it stopped (not for failing models and tests)."""
        self.stack_trace = ""
        self.nothing_selected = False

    def read(self, line: str) -> None:
        try:
            event = json.loads(line)
            name, moment, text = (event["info"][key] for key in ("name", "ts", "msg"))
        except (ValueError, KeyError, TypeError):
            self._add(line.rstrip("\n"))
            return
        if name == "MainStackTrace":
            self.stack_trace = event["data"]["stack_trace"]
            return
        if name == "MainEncounteredError":
            self.error = " ".join(str(event["data"]["exc"]).split())
        self.nothing_selected |= name == "NothingToDo"
        self._add(f"{moment[11:19]}  {text}", shown=name != "MainEncounteredError")

    def _add(self, text: str, *, shown: bool = True) -> None:
        if self.shown and shown:
            print(text, flush=True)
        elif not self.shown:
            self.kept.append(text)

    def failure(self, command: str, returncode: int) -> DbtError:
        message = f"{command} failed: {self.error}" if self.error else f"{command} failed"
        if not self.shown:
            message += f" (exit {returncode})\n" + "\n".join(self.kept)[-4000:]
        error = DbtError(message, reason=self.error)
        if self.stack_trace:
            error.add_note(f"dbt's traceback:\n{self.stack_trace}")
        return error


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

    command = dbt_args(args, full_refresh=full_refresh)
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--quiet"]
    with process_environment(dbt_environment(settings, window)):
        try:
            outcome = dbtRunner().invoke(command)
        finally:
            _forget_duckdb_environment()
    invocation = f"dbt {' '.join(args)}"
    if not outcome.success:
        reason = str(outcome.exception) if outcome.exception else None
        raise DbtError(
            f"{invocation} failed: {outcome.exception or outcome.result}", reason=reason
        ) from outcome.exception
    if getattr(outcome.result, "results", None) == []:
        raise NothingSelectedError(f"{invocation}: the selection matches no node, nothing ran")


def _forget_duckdb_environment() -> None:
    """dbt-duckdb keeps its database and plugins for the life of the process; the next
    in-process run must open them afresh so it sees the catalog's current snapshots."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


class DbtError(RuntimeError):
    """A dbt invocation failed; the message carries dbt's error, or the end of its output."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        """dbt's own message of why it stopped; None when models or tests failed."""


class NothingSelectedError(DbtError):
    """The selection matched no model, test or other node: dbt ran nothing."""
