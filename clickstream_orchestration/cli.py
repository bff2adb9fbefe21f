"""The ``clickstream`` command line."""

from __future__ import annotations

import typer

from clickstream_orchestration.commands.config import show_config
from clickstream_orchestration.commands.deliver import deliver
from clickstream_orchestration.commands.demo import demo
from clickstream_orchestration.commands.dev import dev
from clickstream_orchestration.commands.dlq import replay as dlq_replay
from clickstream_orchestration.commands.docs import docs
from clickstream_orchestration.commands.generate import generate
from clickstream_orchestration.commands.ingest import serve as ingest_serve
from clickstream_orchestration.commands.lake import lake_app
from clickstream_orchestration.commands.local import local_app
from clickstream_orchestration.commands.query import query
from clickstream_orchestration.commands.rt import rt_app
from clickstream_orchestration.commands.send import send

app = typer.Typer(
    name="clickstream",
    help="Collect web events, land them in a lake, and build trusted analytics tables.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("generate")(generate)
app.command("demo")(demo)
app.command("dev")(dev)
app.command("docs")(docs)
app.command("config")(show_config)
app.command("query")(query)
app.add_typer(lake_app, name="lake")
app.add_typer(local_app, name="local")
app.command("deliver")(deliver)
app.command("send")(send)

ingest_app = typer.Typer(help="The HTTP ingest.", no_args_is_help=True)
ingest_app.command("serve")(ingest_serve)
app.add_typer(ingest_app, name="ingest")

dlq_app = typer.Typer(help="The ingest's dead-letter queue.", no_args_is_help=True)
dlq_app.command("replay")(dlq_replay)
app.add_typer(dlq_app, name="dlq")
app.add_typer(rt_app, name="rt")


@app.callback()
def _prepare() -> None:
    """Every command runs with the local home prepared and telemetry off."""
    from clickstream_orchestration.home import prepare_home
    from streaming.settings import get_settings

    prepare_home(get_settings())


if __name__ == "__main__":
    app()
