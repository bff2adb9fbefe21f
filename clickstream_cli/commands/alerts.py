"""``clickstream alerts …``: the key-event alerts (run the local reader, list recent alerts)."""

from __future__ import annotations

import logging
from typing import Annotated

import orjson
import typer

from clickstream_cli.errors import CommandError, UsageError

alerts_app = typer.Typer(help="Key-event alerts read from the stream.", no_args_is_help=True)


@alerts_app.command("run")
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Read every shard to its tip, deliver, then exit.")
    ] = False,
) -> None:
    """Evaluate the alert rules on the Kinesis stream and deliver alerts to the sinks.

    Runs until SIGINT or SIGTERM (then finishes the alert in hand and exits) unless --once.
    """
    from streaming.alerts.reader import AlertReader, AlertReaderError
    from streaming.contracts.settings import get_settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "boto3", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    if not settings.alerts.rules:
        raise UsageError("no alert rules: set CLICKSTREAM_ALERTS__RULES")
    try:
        report = AlertReader(settings).run(once=once, handle_signals=True)
    except AlertReaderError as error:
        raise CommandError(str(error)) from error
    typer.echo(orjson.dumps(report.as_dict()).decode())


@alerts_app.command("list")
def list_alerts(
    limit: Annotated[int, typer.Option(help="How many of the newest alerts.", min=1)] = 20,
    rule: Annotated[str | None, typer.Option(help="Only the alerts of this rule.")] = None,
    dead: Annotated[
        bool, typer.Option("--dead-letters", help="The alerts a sink failed to take instead.")
    ] = False,
) -> None:
    """The newest alerts of the alert log (JSON lines, oldest first)."""
    from streaming.alerts.sinks import alert_log_path, dead_letter_path, read_json_lines
    from streaming.contracts.settings import get_settings

    settings = get_settings()
    names = {known.name for known in settings.alerts.rules}
    if rule is not None and rule not in names:
        known = ", ".join(sorted(names)) or "none"
        raise UsageError(f"--rule: no alert rule named {rule!r} (rules: {known})")
    path = dead_letter_path(settings) if dead else alert_log_path(settings)
    documents = read_json_lines(path)
    if rule is not None:
        documents = [document for document in documents if document.get("rule") == rule]
    for document in documents[-limit:]:
        typer.echo(orjson.dumps(document).decode())
