"""``clickstream rt …``: the local real-time marts (consume the stream, watch them live)."""

from __future__ import annotations

import enum
import logging
import time
from typing import Annotated

import orjson
import typer

from clickstream_cli.errors import CommandError

rt_app = typer.Typer(help="The real-time minute marts (rt.*).", no_args_is_help=True)


class AnchorChoice(enum.StrEnum):
    now = "now"
    latest = "latest"


@rt_app.command("consume")
def consume(
    once: Annotated[
        bool, typer.Option("--once", help="Read every shard to its tip, publish, then exit.")
    ] = False,
    refresh_seconds: Annotated[
        float | None,
        typer.Option(help="Seconds between commits/publications (default: settings).", min=0.01),
    ] = None,
) -> None:
    """Keep the rt.* marts from the Kinesis stream (a second reader next to delivery).

    Runs until SIGINT or SIGTERM (then stores what it read and checkpoints) unless --once.
    """
    from streaming.contracts.settings import get_settings
    from streaming.realtime.consumer import ConsumerError
    from streaming.realtime.consumer import consume as run_consumer

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    try:
        report = run_consumer(
            settings, once=once, handle_signals=True, refresh_seconds=refresh_seconds
        )
    except ConsumerError as error:
        raise CommandError(str(error)) from error
    typer.echo(orjson.dumps(report.as_dict()).decode())


@rt_app.command("top")
def top(
    once: Annotated[bool, typer.Option("--once", help="Print one frame and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between redraws.", min=0.1)] = 1.0,
    anchor: Annotated[
        AnchorChoice,
        typer.Option(help="End the hour now, or at the newest event (for replayed traffic)."),
    ] = AnchorChoice.now,
    pages: Annotated[int, typer.Option(help="Top pages shown.", min=1, max=1000)] = 10,
) -> None:
    """Live view: the last hour per minute and the top pages, redrawn every second."""
    import duckdb
    from rich.console import Console
    from rich.live import Live

    from streaming.contracts.settings import get_settings
    from streaming.realtime.live import read_frame, render
    from streaming.realtime.store import RealtimeUnavailableError

    settings = get_settings()
    console = Console()
    try:
        frame = read_frame(settings, anchor=anchor.value, pages=pages)
    except RealtimeUnavailableError as error:
        raise CommandError(str(error)) from error
    if once:
        console.print(render(frame))
        return
    with Live(render(frame), console=console, refresh_per_second=4, screen=False) as live:
        try:
            while True:
                time.sleep(interval)
                try:
                    frame = read_frame(settings, anchor=anchor.value, pages=pages)
                except RealtimeUnavailableError:
                    continue
                live.update(render(frame))
        except (KeyboardInterrupt, duckdb.InterruptException):
            return


@rt_app.command("sql")
def sql() -> None:
    """Print the Redshift SQL of the real-time path, rendered for the current settings."""
    from streaming.contracts.settings import get_settings
    from streaming.realtime.redshift_sql import render as render_sql

    for statement in render_sql(get_settings()):
        typer.echo(f"-- {statement.name}\n{statement.sql};\n")
