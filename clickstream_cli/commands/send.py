"""``clickstream send FILE``: replay a JSONL file of client events through the HTTP ingest."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Annotated

import typer

from clickstream_cli.errors import CommandError, UsageError


def send(
    file: Annotated[
        Path, typer.Argument(help="JSONL of client events, e.g. from `clickstream generate --out`.")
    ],
    *,
    url: Annotated[
        str | None, typer.Option(help="Ingest base URL (default: the configured ingest).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at once.", min=1)] = 8,
    rate: Annotated[
        float | None, typer.Option(help="At most this many events per second.", min=0.001)
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Events per POST /v1/batch request.", min=1, max=500)
    ] = 100,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="CLICKSTREAM_SEND_API_KEY", help="X-Api-Key sent with every request."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """POST the file's events to /v1/batch and print what the ingest did with them."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from streaming.contracts.settings import get_settings
    from streaming.generator.sinks.http import (
        BATCH_PATH,
        HttpReport,
        check_api_key,
        check_reachable,
        send_file,
    )

    if not file.is_file():
        raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
    if api_key is not None:
        try:
            check_api_key(api_key)
        except ValueError as error:
            raise UsageError(f"--api-key {error}") from error
    target = url or get_settings().ingest_url
    try:
        check_reachable(target)
    except ValueError as error:
        raise UsageError(f"--url: {error}") from error
    console = Console(stderr=True)
    with file.open("rb") as handle:
        total = sum(1 for line in handle if line.strip())
    typer.echo(f"sending {total:,} events from {file} to {target}", err=True)
    progress = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )
    with progress, file.open("rb") as lines:
        task = progress.add_task("events", total=total)
        report = HttpReport()
        try:
            send_file(
                lines,
                target,
                batch_size=batch_size,
                concurrency=concurrency,
                rate=rate,
                api_key=api_key,
                progress=lambda done: progress.advance(task, done),
                report=report,
            )
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="FILE") from None
    table = Table(title=f"{file} -> {target}")
    table.add_column("")
    table.add_column("events", justify="right")
    for name in ("events_sent", "accepted", "rejected", "discarded", "failed_events"):
        table.add_row(name.replace("_", " "), f"{getattr(report, name):,}")
    table.add_row("requests", f"{report.requests:,}")
    for status, count in sorted(report.status_counts.items()):
        table.add_row(f"HTTP {status}", f"{count:,} requests")
    Console().print(table)
    if report.http_errors:
        base_url_hint = (
            f" (--url is the ingest's base URL, e.g. {get_settings().ingest_url}: "
            f"{BATCH_PATH} is added to it)"
            if HTTPStatus.NOT_FOUND in report.status_counts
            else ""
        )
        raise CommandError(
            f"{report.failed_events:,} of {report.events_sent:,} events were not taken in, "
            f"the last because of: {report.last_error}{base_url_hint}"
        )
