"""``clickstream local up|down|status``: the local AWS endpoint and its resources."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from clickstream_cli.errors import CommandError, UsageError

if TYPE_CHECKING:
    from streaming.contracts.settings import Settings
    from streaming.local_aws import LocalAws, Status

local_app = typer.Typer(
    help="The local AWS servers (Kinesis stream, SQS dead-letter queue) of the local default.",
    no_args_is_help=True,
)


def _local_aws() -> LocalAws:
    from streaming.contracts.settings import get_settings
    from streaming.local_aws import LocalAws, LocalAwsError

    try:
        return LocalAws(get_settings())
    except LocalAwsError as error:
        raise UsageError(str(error)) from error


@local_app.command("up")
def up() -> None:
    """Start the servers in the background (or reuse running ones) and create the resources.

    The stream keeps its records on disk under the home: after a restart they are still there.
    """
    from streaming.local_aws import LocalAwsError

    local = _local_aws()
    was_up = local.is_up()
    try:
        status = local.up()
    except LocalAwsError as error:
        raise CommandError(str(error)) from error
    typer.echo(("reusing" if was_up else "started") + f" {_describe(status)}")


@local_app.command("down")
def down() -> None:
    """Stop the servers this local home started (the stream's records stay on disk)."""
    local = _local_aws()
    for server in local.servers:
        if server.stop():
            typer.echo(f"stopped the local {server.name} server on {server.endpoint}")
        elif server.answers():
            typer.echo(f"{server.endpoint} answers but was not started by this home; left running")
        else:
            typer.echo(f"the local {server.name} server on {server.endpoint} is not running")


@local_app.command("status")
def status() -> None:
    """Whether the servers are up, which resources exist, and how far each reader of the
    stream is. Exit status 1 when a server is down."""
    local = _local_aws()
    current = local.status()
    typer.echo(_describe(current))
    if not current.answering:
        raise CommandError(
            "the local AWS servers are not all up: `clickstream local up` starts them, "
            "`make dev` the whole local stack"
        )


def _describe(status: Status) -> str:
    from streaming.contracts.settings import get_settings

    settings = get_settings()
    lines = []
    for server in status.servers:
        if not server.answering:
            state = "down"
        else:
            state = f"up (pid {server.pid})" if server.pid else "up (not started by this home)"
        lines.append(f"local {server.name} server {server.endpoint}: {state}")
    resources = status.resources
    if resources is not None:
        stream = (
            f"{resources.stream}, {resources.stream_shards} open shards"
            if resources.stream
            else "missing"
        )
        lines.append(f"  stream {settings.stream_name}: {stream}")
        lines.append(f"  dead-letter queue {settings.dlq_name}: {resources.dlq_url or 'missing'}")
    lines.extend(_readers(settings))
    return "\n".join(lines)


def _readers(settings: Settings) -> list[str]:
    """How far delivery, the real-time consumer and the alert reader are, from the status
    their followers write."""
    from streaming.follower import read_follower_status

    lines = []
    for reader in ("delivery", "realtime", "alerts"):
        status = read_follower_status(settings, reader)
        if status is None:
            continue
        lines.append(
            f"  {reader} (pid {status['pid']}, {status['state']}, {status['updated_at']}):"
        )
        for shard in status["shards"]:
            behind = shard["millis_behind_latest"]
            error = f", last error {shard['last_error']}" if shard["last_error"] else ""
            lines.append(
                f"    {shard['shard_id']}: {shard['state']}, {shard['records_read']:,} read, "
                f"{shard['in_flight']:,} not yet checkpointed, "
                f"{'?' if behind is None else f'{behind:,}'} ms behind the tip, "
                f"{shard['retries']} retries{error}"
            )
    return lines
