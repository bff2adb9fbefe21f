"""``clickstream dev``: the local stack, the Dagster UI with sensors and schedules on, and the
analyst dashboards."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from streaming.contracts.settings import Settings

STOP_SECONDS = 30


def dev(
    port: Annotated[
        int, typer.Option(help="Port of the Dagster UI (bound to 127.0.0.1).", min=1, max=65535)
    ] = 3000,
    stack: Annotated[
        bool,
        typer.Option(help="Start the local stack (AWS endpoint, ingest, delivery) alongside."),
    ] = True,
    dashboards: Annotated[
        bool,
        typer.Option(help="Serve the analyst dashboards alongside (CLICKSTREAM_DASHBOARDS_PORT)."),
    ] = True,
) -> None:
    """Serve the Dagster UI on the local default, state kept under the local home.

    With the stack, events posted to the ingest land every few seconds; the landing sensor
    turns them into bronze runs and the hourly schedule refreshes silver and gold.
    """
    from streaming.contracts.settings import get_settings

    workspace = Path.cwd() / "workspace.yaml"
    if not workspace.exists():
        raise typer.BadParameter(f"run from the project root: {workspace} not found")
    settings = get_settings()
    dagster = [
        str(Path(sys.executable).with_name("dagster")),
        "dev",
        "-w",
        str(workspace),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    signal.signal(signal.SIGTERM, _interrupt)
    # Started as a background job, this process inherits SIGINT ignored, and so would dagster
    # dev, which then never stops; a handler of our own is reset to the default in children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    boards = _start_dashboards(settings) if dashboards else None
    try:
        if not stack:
            raise typer.Exit(_run_until_interrupted(dagster))
        _with_stack(settings, dagster, port, boards is not None)
    finally:
        if boards is not None:
            _stop(boards)


def _with_stack(settings: Settings, dagster: list[str], port: int, dashboards: bool) -> None:
    from streaming.local_stack import local_stack_running

    with local_stack_running(settings):
        lines = [
            f"local stack up: ingest {settings.ingest_url}, stream on "
            f"{settings.kinesis_endpoint_url}, other AWS APIs on {settings.aws_endpoint_url}; "
            f"logs in {settings.log_dir}",
            f"Dagster UI: http://127.0.0.1:{port}  (Ctrl-C stops everything)",
            *([f"dashboards: {settings.dashboards_url}"] if dashboards else []),
            f"live traffic: clickstream generate --http {settings.ingest_url} --start now "
            "--rate 20 --conversion-rate 0.05",
        ]
        typer.echo("\n".join(lines), err=True)
        code = _run_until_interrupted(dagster)
    raise typer.Exit(code)


def _start_dashboards(settings: Settings) -> subprocess.Popen[bytes]:
    from clickstream_cli.commands.dashboards import LOOPBACK, streamlit_command
    from clickstream_cli.ports import ensure_port_free

    command = streamlit_command(LOOPBACK, settings.dashboards_port)
    ensure_port_free(LOOPBACK, settings.dashboards_port, "CLICKSTREAM_DASHBOARDS_PORT")
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with (settings.log_dir / "dashboards.log").open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _run_until_interrupted(command: list[str]) -> int:
    """Run ``dagster dev``; on Ctrl-C or SIGTERM let it stop its webserver and daemon."""
    process = subprocess.Popen(command)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=STOP_SECONDS)
        return 0
