"""``clickstream lake …``: load bronze and build silver and gold by hand (Dagster schedules it)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

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
    from datetime import UTC, datetime

    from rich.console import Console

    from clickstream_orchestration.lakehouse.bronze_load import load_hour
    from clickstream_orchestration.lakehouse.build import load_landed_hours
    from streaming.settings import get_settings

    settings = get_settings()
    console = Console()
    if hour is not None:
        moment = datetime.fromisoformat(hour if len(hour) > 13 else hour + ":00").replace(
            tzinfo=UTC
        )
        results = [load_hour(settings, moment)]
    else:
        results = load_landed_hours(settings)
    for bronze, quarantine in results:
        state = "unchanged" if bronze.skipped else f"{bronze.loaded_rows:,} rows"
        rejected = bronze.quarantined_rows + quarantine.loaded_rows + quarantine.quarantined_rows
        console.print(
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
    from rich.console import Console

    from clickstream_orchestration.lakehouse.build import build_lake
    from clickstream_orchestration.lakehouse.dbt_project import DbtError, Window
    from streaming.settings import get_settings

    if (min_date is None) != (max_date is None):
        raise typer.BadParameter("give both --min-date and --max-date, or neither")
    window = (
        Window(date.fromisoformat(min_date), date.fromisoformat(max_date))
        if min_date and max_date
        else None
    )
    console = Console()
    try:
        result = build_lake(
            get_settings(),
            window=window,
            full_refresh=full_refresh,
            select=select,
            run_tests=not skip_tests,
        )
    except DbtError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"built in {result.seconds:.1f} s ({result.segment_changes:,} segment changes loaded)"
    )
