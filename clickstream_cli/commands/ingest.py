"""``clickstream ingest serve``: the HTTP ingest on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from clickstream_cli.errors import CommandError


def serve(
    *,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: settings).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: settings).", min=1, max=65535)
    ] = None,
) -> None:
    """Serve POST /v1/events and /v1/batch, /healthz and /metrics; events go to the stream."""
    from clickstream_cli.ports import ensure_port_free
    from streaming.contracts.settings import get_settings
    from streaming.ingest.runtime import ResourcesUnavailableError, check_resources
    from streaming.ingest.server import serve as run_server

    settings = get_settings()
    host, port = host or settings.ingest.host, port or settings.ingest.port
    ensure_port_free(host, port, "CLICKSTREAM_INGEST__PORT")
    try:
        check_resources(settings)
    except ResourcesUnavailableError as error:
        raise CommandError(str(error)) from error
    typer.echo(
        f"ingest on http://{host}:{port} "
        f"-> stream {settings.stream_name}, dead letters {settings.dlq_name}",
        err=True,
    )
    run_server(settings, host, port)
