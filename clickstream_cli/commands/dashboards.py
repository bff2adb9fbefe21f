"""``clickstream dashboards``: the analyst dashboards (Streamlit) over the marts."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from clickstream_cli.errors import CommandError
from clickstream_cli.ports import ensure_port_free

LOOPBACK = "127.0.0.1"


def streamlit_command(host: str, port: int) -> list[str]:
    """The server's command line: headless, no usage statistics, no file watching."""
    spec = importlib.util.find_spec("clickstream_dashboards")
    if spec is None or spec.origin is None or importlib.util.find_spec("streamlit") is None:
        raise CommandError(
            "the dashboards are not installed: `make dev` installs them (the `dashboards` extra)"
        )
    app = Path(spec.origin).with_name("app.py")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
    ]


def dashboards(
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to serve on (default: CLICKSTREAM_DASHBOARDS_PORT, 8501).",
            min=1,
            max=65535,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; 127.0.0.1 unless in a container.")
    ] = LOOPBACK,
) -> None:
    """Serve the dashboards (overview, funnel, attribution, engagement, real time, data
    health) over the lake's marts: DuckDB on the local lake, Athena on aws."""
    from streaming.contracts.settings import get_settings

    settings = get_settings()
    port = port or settings.dashboards_port
    command = streamlit_command(host, port)
    ensure_port_free(host, port, "CLICKSTREAM_DASHBOARDS_PORT")
    shown = LOOPBACK if host in ("0.0.0.0", "::") else host
    typer.echo(f"serving the dashboards on http://{shown}:{port} (Ctrl-C to stop)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
