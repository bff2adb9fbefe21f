"""``clickstream deliver``: the stream into the landing store, as Firehose delivers it."""

from __future__ import annotations

import logging
from typing import Annotated

import orjson
import typer

from clickstream_cli.errors import CommandError


def deliver(
    once: Annotated[
        bool,
        typer.Option("--once", help="Read every shard to its tip, land everything, then exit."),
    ] = False,
    buffer_seconds: Annotated[
        float | None,
        typer.Option(help="Buffer interval in seconds (default: from the settings).", min=0.001),
    ] = None,
    buffer_bytes: Annotated[
        int | None,
        typer.Option(help="Buffer size in bytes (default: from the settings).", min=1),
    ] = None,
    poll_seconds: Annotated[
        float, typer.Option(help="Pause between reads of a shard at its tip.", min=0.0)
    ] = 0.5,
) -> None:
    """Deliver the Kinesis stream to the landing store, as Firehose would.

    GZIP'd NDJSON per event type under bronze/, unpartitionable records under errors/,
    checkpoints per shard written after their records landed (at least once).

    Runs until SIGINT or SIGTERM (then flushes its buffers) unless --once is given.
    """
    from streaming.contracts.settings import get_settings
    from streaming.delivery import Delivery, DeliveryError

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    delivery = Delivery(
        settings,
        buffer_seconds=buffer_seconds,
        buffer_bytes=buffer_bytes,
        poll_seconds=poll_seconds,
    )
    try:
        report = delivery.run(once=once, handle_signals=True)
    except DeliveryError as error:
        raise CommandError(str(error)) from error
    typer.echo(orjson.dumps(report.as_dict()).decode())
