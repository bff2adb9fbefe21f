"""``clickstream dlq replay``: put dead-lettered records back on the stream."""

from __future__ import annotations

from typing import Annotated

import typer

from clickstream_cli.errors import CommandError


def replay(
    *,
    limit: Annotated[
        int | None, typer.Option(help="Stop after about this many messages.", min=1)
    ] = None,
) -> None:
    """Re-send every DLQ message to Kinesis (same event_id); delete it once Kinesis acked."""
    from streaming.contracts.aws_clients import client
    from streaming.contracts.settings import get_settings
    from streaming.ingest.runtime import (
        ResourcesUnavailableError,
        check_resources,
        kinesis_producer,
    )
    from streaming.producer.dead_letters import DeadLetterQueue, replay_dead_letters

    settings = get_settings()
    try:
        check_resources(settings)
    except ResourcesUnavailableError as error:
        raise CommandError(str(error)) from error
    dlq = DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
    producer = kinesis_producer(settings, with_dead_letters=False)
    try:
        report = replay_dead_letters(dlq, producer, max_messages=limit)
    finally:
        producer.close()
    typer.echo(
        f"received {report.received}, replayed {report.replayed}, still failing "
        f"{report.failed}, unreadable {report.unreadable} (left in {settings.dlq_name})"
    )
    if report.failed or report.unreadable:
        raise typer.Exit(1)
