"""``clickstream docs``: dbt's documentation site for analysts, generated and served."""

from __future__ import annotations

import errno
from typing import Annotated

import typer

from clickstream_cli.errors import CommandError, first_line


def docs(
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to serve on, bound to 127.0.0.1 (default: CLICKSTREAM_DOCS_PORT, 8580).",
            min=1,
            max=65535,
        ),
    ] = None,
    serve: Annotated[bool, typer.Option(help="Serve the site after generating it.")] = True,
) -> None:
    """Generate the dbt docs (models, columns, tests, lineage) and serve them locally."""
    import contextlib
    import functools
    import http.server

    from lakehouse.dbt_invocation import DbtError, run_dbt
    from streaming.contracts.settings import get_settings

    settings = get_settings()
    port = port or settings.docs_port
    target = settings.dbt_state_dir / "docs"
    typer.echo(
        f"generating the dbt docs into {target} (dbt docs generate, about a minute)", err=True
    )
    try:
        run_dbt(settings, ["docs", "generate", "--target-path", str(target)], capture=True)
    except DbtError as error:
        raise CommandError(
            f"{first_line(str(error))}; `clickstream --debug docs` shows dbt's output"
        ) from error
    typer.echo(f"dbt docs generated in {target}", err=True)
    if not serve:
        return
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(target))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise CommandError(
            f"port {port} is in use: choose another with --port or CLICKSTREAM_DOCS_PORT"
        ) from error
    with server:
        typer.echo(f"serving dbt docs on http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
