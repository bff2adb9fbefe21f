"""The ``clickstream`` command line.

Every failure ends as one line on stderr and an exit code: 2 for a wrong argument or setting,
1 for a failure of what the command works on; ``clickstream --debug`` adds the traceback.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from clickstream_cli.commands.alerts import alerts_app
from clickstream_cli.commands.config import show_config
from clickstream_cli.commands.dashboards import dashboards
from clickstream_cli.commands.deliver import deliver
from clickstream_cli.commands.demo import demo
from clickstream_cli.commands.dev import dev
from clickstream_cli.commands.dlq import replay as dlq_replay
from clickstream_cli.commands.docs import docs
from clickstream_cli.commands.generate import generate
from clickstream_cli.commands.ingest import serve as ingest_serve
from clickstream_cli.commands.lake import lake_app
from clickstream_cli.commands.local import local_app
from clickstream_cli.commands.privacy import privacy_app
from clickstream_cli.commands.query import query
from clickstream_cli.commands.rt import rt_app
from clickstream_cli.commands.send import send
from clickstream_cli.errors import UsageError, as_command_error, one_line

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
app.command("dashboards")(dashboards)
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
app.add_typer(alerts_app, name="alerts")
app.add_typer(privacy_app, name="privacy")


@dataclass
class _Invocation:
    debug: bool = False


_invocation = _Invocation()


@app.callback()
def _prepare(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a failure.")
    ] = False,
) -> None:
    """Every command runs with the local home prepared and telemetry off."""
    from clickstream_cli.home import prepare_home
    from streaming.contracts.settings import get_settings

    _invocation.debug = debug
    get_settings.cache_clear()  # each invocation reads its environment, in-process ones too
    try:
        settings = get_settings()
    except UnicodeDecodeError as error:  # the environment is text: .env is the one file read
        raise UsageError(
            f"{Path('.env').resolve()} is not UTF-8 text ({error.reason} at byte {error.start}); "
            "it holds CLICKSTREAM_* settings as NAME=value lines"
        ) from error
    prepare_home(settings)


def run(args: Sequence[str] | None = None) -> int:
    """Run the command line; the exit code, every failure reported in one line on stderr."""
    try:
        code = app(args=args, standalone_mode=False)
    except NoArgsIsHelpError as error:  # the help is shown already
        return error.exit_code
    except ClickException as error:
        _report(_usage_message(error))
        return error.exit_code
    except typer.Abort:
        return 130
    except Exception as error:
        failure = as_command_error(error)
        if _invocation.debug:
            traceback.print_exception(error)
        _report(str(failure))
        return failure.exit_code
    return code if isinstance(code, int) else 0


def main() -> NoReturn:
    sys.exit(run())


def _usage_message(error: ClickException) -> str:
    context = getattr(error, "ctx", None)
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    return error.format_message() + hint


def _report(message: str) -> None:
    sys.stdout.flush()
    print(f"error: {one_line(message)}", file=sys.stderr)


if __name__ == "__main__":
    main()
