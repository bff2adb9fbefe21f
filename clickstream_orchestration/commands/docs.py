"""``clickstream docs``: dbt's documentation site for analysts, generated and served."""

from __future__ import annotations

from typing import Annotated

import typer

DOCS_PORT = 8580


def docs(
    port: Annotated[int, typer.Option(help="Port to serve on (bound to 127.0.0.1).")] = DOCS_PORT,
    serve: Annotated[bool, typer.Option(help="Serve the site after generating it.")] = True,
) -> None:
    """Generate the dbt docs (models, columns, tests, lineage) and serve them locally."""
    import contextlib
    import functools
    import http.server

    from clickstream_orchestration.lakehouse.dbt_project import DbtError, run_dbt
    from streaming.settings import get_settings

    settings = get_settings()
    target = settings.dbt_state_dir / "docs"
    try:
        run_dbt(settings, ["docs", "generate", "--target-path", str(target)], capture=True)
    except DbtError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"dbt docs generated in {target}", err=True)
    if not serve:
        return
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(target))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        typer.echo(f"serving dbt docs on http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
