"""``clickstream lake …``: load bronze and build silver and gold by hand (Dagster schedules it)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clickstream_cli.errors import CommandError, UsageError, first_line

if TYPE_CHECKING:
    from streaming.contracts.settings import Settings

lake_app = typer.Typer(
    help="Load bronze and build the silver and gold tables.", no_args_is_help=True
)


@lake_app.command("load")
def load(
    hour: Annotated[
        str | None,
        typer.Option(help="One ingest hour, e.g. 2026-11-01T05 (UTC). Default: every landed hour."),
    ] = None,
) -> None:
    """Load landed objects into bronze and quarantine, hour by hour (re-runs are no-ops)."""
    from lakehouse.bronze_load import load_hour
    from lakehouse.catalog import open_catalog
    from streaming.contracts.landing import landed_hours, landing_store
    from streaming.contracts.settings import get_settings

    chosen = None if hour is None else parse_hour(hour)
    settings = get_settings()
    store = landing_store(settings)
    hours = [chosen] if chosen else landed_hours(settings, store)
    if not hours:
        typer.echo(
            f"nothing has landed in {_landing(settings)} yet: post events to the ingest, "
            "or `clickstream generate --landing`",
            err=True,
        )
        return
    typer.echo(f"loading {len(hours)} ingest hour(s) from {_landing(settings)}", err=True)
    catalog = open_catalog(settings)
    for moment in hours:
        bronze, quarantine = load_hour(settings, moment, catalog=catalog, store=store)
        state = "unchanged" if bronze.skipped else f"{bronze.loaded_rows:,} rows"
        rejected = bronze.quarantined_rows + quarantine.loaded_rows + quarantine.quarantined_rows
        typer.echo(
            f"{bronze.hour}: bronze {state} from {bronze.objects} object(s), "
            f"{rejected:,} to quarantine"
        )


@lake_app.command("build")
def build(
    min_date: Annotated[
        str | None, typer.Option(help="First event date to rebuild (ISO). Default: everything.")
    ] = None,
    max_date: Annotated[str | None, typer.Option(help="Last event date to rebuild (ISO).")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Rebuild every table from scratch.")] = False,
    select: Annotated[
        str | None, typer.Option(help="dbt selection, e.g. 'silver_events+'.")
    ] = None,
    skip_tests: Annotated[bool, typer.Option(help="dbt run instead of dbt build.")] = False,
) -> None:
    """Build silver and gold with dbt (and run its tests), for a window of event dates or all."""
    from lakehouse.build import build_lake
    from lakehouse.dbt_invocation import DbtError, NothingSelectedError
    from lakehouse.window import Window
    from streaming.contracts.settings import get_settings

    first = None if min_date is None else parse_date(min_date, "--min-date")
    last = None if max_date is None else parse_date(max_date, "--max-date")
    if (first is None) != (last is None):
        raise UsageError("give both --min-date and --max-date, or neither")
    window = None
    if first and last:
        if first > last:
            raise UsageError(f"--min-date {first} is after --max-date {last}")
        window = Window(first, last)
    settings = get_settings()
    _require_bronze(settings)
    scope = f"event dates {window.min_date} to {window.max_date}" if window else "every date"
    typer.echo(
        f"dbt {'run' if skip_tests else 'build'} of silver and gold, {scope}; dbt reports "
        "each model as it finishes",
        err=True,
    )
    try:
        result = build_lake(
            settings,
            window=window,
            full_refresh=full_refresh,
            select=select,
            run_tests=not skip_tests,
        )
    except NothingSelectedError as error:
        raise UsageError(
            f"--select {select} matches no enabled model or test: nothing was built"
        ) from error
    except DbtError as error:
        why = "" if error.reason else ": dbt's output above says why"
        raise CommandError(f"{first_line(str(error))}{why}") from error
    typer.echo(
        f"built in {result.seconds:.1f} s ({result.segment_changes:,} segment changes loaded)"
    )


@lake_app.command("segments")
def segments(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON lines: user_id_hash, segment_key, action (enter|leave), as_of_ts (ISO)."
        ),
    ],
) -> None:
    """Land a user segment change feed (e.g. from `generate --segments-out`): the landing
    sensor picks it up and rebuilds the SCD2 segments; `lake build` reads it too."""
    from lakehouse.reference_load import land_segment_feed
    from streaming.contracts.landing import landing_store
    from streaming.contracts.settings import get_settings

    if not file.is_file():
        raise UsageError(f"{file} is not a file")
    settings = get_settings()
    try:
        key, rows = land_segment_feed(landing_store(settings), file.name, file.read_bytes())
    except ValueError as error:
        raise UsageError(f"{file}: {error}") from error
    typer.echo(f"landed {rows:,} segment change(s) as {key}", err=True)


WHOLE_HOUR = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}(:00){0,2}")


def parse_hour(text: str) -> datetime:
    """``2026-11-01T05`` (or ``2026-11-01T05:00``) as that UTC hour."""
    try:
        if not WHOLE_HOUR.fullmatch(text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text[:13] + ":00")
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an hour like 2026-11-01T05 (YYYY-MM-DDTHH in UTC, no minutes)",
            param_hint="--hour",
        ) from None
    return moment.replace(tzinfo=UTC)


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2026-11-01", param_hint=option
        ) from None


def _landing(settings: Settings) -> str:
    return str(settings.landing_dir) if settings.env == "local" else "the bronze bucket"


def _require_bronze(settings: Settings) -> None:
    from lakehouse.catalog import open_catalog

    if not open_catalog(settings).table_exists((settings.lake_namespace, "bronze_events")):
        raise CommandError(
            f"nothing to build: {settings.lake_namespace}.bronze_events does not exist yet; "
            "load the landed events first with `clickstream lake load`"
        )
