"""``clickstream dev``: the local stack plus the Dagster UI with sensors and schedules on."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

STOP_SECONDS = 30


def dev(
    port: Annotated[int, typer.Option(help="Port of the Dagster UI (bound to 127.0.0.1).")] = 3000,
    stack: Annotated[
        bool,
        typer.Option(help="Start the local stack (AWS endpoint, ingest, delivery) alongside."),
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
    if not stack:
        raise typer.Exit(_run_until_interrupted(dagster))

    from streaming.local_stack import local_stack_running

    with local_stack_running(settings):
        typer.echo(
            f"local stack up: ingest {settings.ingest_url}, stream on "
            f"{settings.kinesis_endpoint_url}, other AWS APIs on {settings.aws_endpoint_url}; "
            f"logs in {settings.log_dir}\n"
            f"Dagster UI: http://127.0.0.1:{port}  (Ctrl-C stops everything)\n"
            f"live traffic: clickstream generate --http {settings.ingest_url} --start now "
            "--rate 20",
            err=True,
        )
        code = _run_until_interrupted(dagster)
    raise typer.Exit(code)


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
