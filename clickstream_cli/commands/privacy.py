"""``clickstream privacy …``: erase one user from the lake, or export every row it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clickstream_cli.errors import CommandError, UsageError

if TYPE_CHECKING:
    from lakehouse.privacy.subject import Subject
    from streaming.contracts.settings import Settings

privacy_app = typer.Typer(
    help="Privacy requests: erase a user everywhere (consent withdrawn included), or export it.",
    no_args_is_help=True,
)

UserHash = Annotated[
    str | None,
    typer.Option("--user-hash", help="The server-side hash the lake stores (sha256:<64 hex>)."),
]
ClientHash = Annotated[
    str | None,
    typer.Option(
        "--client-hash",
        help="The hash the client sent; re-keyed with the server's HMAC secret as the ingest does.",
    ),
]


def resolve_subject(settings: Settings, user_hash: str | None, client_hash: str | None) -> Subject:
    """The subject named by exactly one of the two options; UsageError otherwise."""
    from lakehouse.privacy.subject import SubjectError, from_client_hash, from_server_hash

    if (user_hash is None) == (client_hash is None):
        raise UsageError("name the user with exactly one of --user-hash or --client-hash")
    try:
        if user_hash is not None:
            return from_server_hash(user_hash)
        assert client_hash is not None
        return from_client_hash(settings, client_hash)
    except SubjectError as error:
        raise UsageError(str(error)) from error


@privacy_app.command("erase")
def erase(user_hash: UserHash = None, client_hash: ClientHash = None) -> None:
    """Remove the user from every layer, recompute its days, delete the old files; resumable."""
    from lakehouse.dbt_invocation import DbtError
    from lakehouse.privacy.erase import erase_user
    from lakehouse.privacy.realtime import RealtimeBusyError
    from streaming.contracts.settings import get_settings

    settings = get_settings()
    subject = resolve_subject(settings, user_hash, client_hash)
    try:
        result = erase_user(
            settings, subject, progress_listener=lambda step: typer.echo(f"· {step}", err=True)
        )
    except RealtimeBusyError as error:
        raise CommandError(str(error)) from error
    except DbtError as error:
        raise CommandError(
            f"the rebuild of the user's days failed; fix it and run the same command again "
            f"to resume ({str(error).splitlines()[0]})"
        ) from error
    progress = result.progress
    rows = sum(progress.rows_removed.values())
    typer.echo(
        f"request {result.request_id} {'resumed and ' if result.resumed else ''}complete: "
        f"{rows:,} rows from {len(progress.rows_removed)} tables, "
        f"{len(progress.rewritten_objects)} landing objects rewritten, "
        f"{progress.dead_letters_removed} dead letters, {progress.realtime_rows_removed} "
        f"real-time rows, {progress.stream_records_removed} local stream records, "
        f"{len(progress.event_days)} event days rebuilt, "
        f"{progress.orphan_files_removed} old files deleted (recorded in "
        f"{settings.lake_namespace}.privacy_requests)"
    )


@privacy_app.command("export")
def export(
    user_hash: UserHash = None,
    client_hash: ClientHash = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON document here (default: stdout).")
    ] = None,
) -> None:
    """Every row the lake holds for the user, from every table, as one JSON document."""
    from lakehouse.privacy.export import export_user
    from streaming.contracts.settings import get_settings

    settings = get_settings()
    subject = resolve_subject(settings, user_hash, client_hash)
    if out is not None and out.is_dir():
        raise UsageError(f"--out {out} is a directory; name a file")
    document = json.dumps(export_user(settings, subject), indent=1, sort_keys=True, default=str)
    if out is None:
        typer.echo(document)
        return
    out.write_text(document + "\n")
    typer.echo(f"wrote {out}", err=True)
