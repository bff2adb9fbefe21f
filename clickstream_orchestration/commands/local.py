"""``clickstream local up|down|status``: the local AWS endpoint and its resources."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from streaming.local_aws import LocalAws, Status

local_app = typer.Typer(
    help="The local AWS endpoint (Kinesis stream, SQS dead-letter queue) of the local default.",
    no_args_is_help=True,
)


def _local_aws() -> LocalAws:
    from streaming.local_aws import LocalAws, LocalAwsError
    from streaming.settings import get_settings

    try:
        return LocalAws(get_settings())
    except LocalAwsError as error:
        raise typer.BadParameter(str(error)) from error


@local_app.command("up")
def up() -> None:
    """Start the endpoint in the background (or reuse a running one) and create the resources.

    The endpoint keeps its state in memory: after a restart the stream is created again, empty.
    """
    from streaming.local_aws import LocalAwsError

    local = _local_aws()
    was_up = local.is_up()
    try:
        status = local.up()
    except LocalAwsError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(("reusing" if was_up else "started") + f" {_describe(status)}")


@local_app.command("down")
def down() -> None:
    """Stop the endpoint this local home started."""
    local = _local_aws()
    if local.down():
        typer.echo(f"stopped the local AWS endpoint on {local.endpoint}")
    elif local.is_up():
        typer.echo(f"{local.endpoint} answers but was not started by this home; left running")
    else:
        typer.echo(f"the local AWS endpoint on {local.endpoint} is not running")


@local_app.command("status")
def status() -> None:
    """Whether the endpoint is up, and which resources exist. Exit status 1 when down."""
    local = _local_aws()
    current = local.status()
    typer.echo(_describe(current))
    if not current.answering:
        raise typer.Exit(1)


def _describe(status: Status) -> str:
    if not status.answering:
        return f"local AWS endpoint {status.endpoint}: down"
    owner = f"pid {status.pid}" if status.managed else "not started by this home"
    lines = [f"local AWS endpoint {status.endpoint}: up ({owner})"]
    resources = status.resources
    if resources is not None:
        from streaming.settings import get_settings

        settings = get_settings()
        stream = (
            f"{resources.stream}, {resources.stream_shards} open shards"
            if resources.stream
            else "missing"
        )
        lines.append(f"  stream {settings.stream_name}: {stream}")
        lines.append(f"  dead-letter queue {settings.dlq_name}: {resources.dlq_url or 'missing'}")
    return "\n".join(lines)
