"""The main job on the local default: a day of dirty traffic through the whole stack.

The local stack (local AWS endpoint, HTTP ingest, delivery) is started; a generated day of
dirty traffic (duplicates, late and invalid events, consent-off users, bots) is posted to the
ingest's HTTP API; once delivery has landed every accepted event, Dagster materialises the
lake (bronze for the landed hours, segments, silver and gold for the event days) with every
blocking check. The demo exits non-zero if delivery loses an event, a stage fails or a
blocking check fails.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.status import Status
from rich.table import Table

from clickstream_cli.launch import StageOutcome
from streaming.contracts.landing import LandingStore, count_records, landing_store
from streaming.contracts.settings import Settings, get_settings
from streaming.generator import GenerationSummary, TrafficConfig
from streaming.local_aws import LocalAws

DELIVERY_WAIT_SECONDS = 180.0


@dataclass
class Landed:
    bronze: int = 0
    quarantine: int = 0


DEMO_CONVERSION_RATE = 0.03
"""Sessions ending in a purchase in the demo's day of traffic (schema 1-1-0)."""
TOP_CHANNELS = 3


def run_demo(*, events: int, seed: int, console: Console | None = None) -> int:
    console = console or Console()
    settings = get_settings()
    if settings.env != "local":
        console.print("[red]the demo runs on the local default; unset CLICKSTREAM_ENV[/red]")
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack on SIGTERM as on Ctrl-C
    foreign = _reset_local_state(settings, console)
    if foreign:
        console.print(
            f"[red]{foreign} answers but belongs to another local home: the demo needs a fresh "
            "stream of its own. Stop it there (`clickstream local down`) or give this home other "
            "ports (CLICKSTREAM_LOCAL_AWS__PORT, CLICKSTREAM_LOCAL_AWS__KINESIS_PORT)[/red]",
            highlight=False,
        )
        return 2
    start = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), clock(), UTC)
    config = TrafficConfig(
        events=events, seed=seed, start=start, days=1, conversion_rate=DEMO_CONVERSION_RATE
    )

    from streaming.generator.sinks.http import SESSION_FLUSH_MS, send_http
    from streaming.generator.sinks.landing import write_segments
    from streaming.local_stack import LocalStack

    stack = LocalStack(settings)
    with console.status(
        "starting the local stack (AWS endpoint, ingest, delivery, real-time consumer)"
    ):
        stack.start()
    try:
        console.print(
            f"local stack up: ingest {settings.ingest_url}, stream {settings.stream_name} on "
            f"{settings.kinesis_endpoint_url}, delivery every {stack.delivery_buffer_seconds:g} s "
            f"into {settings.landing_dir}"
        )
        with _progress(console) as progress:
            task = progress.add_task("sending a day of traffic to POST /v1/batch", total=events)
            summary = send_http(
                config,
                settings.ingest_url,
                workers=1,
                concurrency=16,
                flush_ms=SESSION_FLUSH_MS,
                progress=lambda done: progress.advance(task, done),
            )
        console.print(_traffic_table(summary))
        store = landing_store(settings)
        write_segments(config, store, settings.hmac_key)
        accepted, rejected = summary.sink["accepted"], summary.sink["rejected"]
        with console.status("waiting for delivery to land every accepted event") as status:
            landed = _wait_for_delivery(settings, store, accepted, rejected, status)
    finally:
        with console.status("stopping the local stack"):
            stack.stop()
    for service, restarts in stack.restarts.items():
        console.print(f"[yellow]{service} was restarted {restarts} time(s); see logs[/yellow]")
    if landed.bronze != accepted or landed.quarantine != rejected:
        console.print(
            f"[red]delivery did not land everything: bronze {landed.bronze:,} of "
            f"{accepted:,} accepted, quarantine {landed.quarantine:,} of {rejected:,}[/red]"
        )
        return 1
    console.print(
        f"[green]landed: {landed.bronze:,} accepted events under bronze/, {landed.quarantine:,}"
        f" rejected under quarantine/, {summary.sink['discarded']:,} consent-off stored "
        "nowhere[/green]"
    )
    return _materialize(settings, console)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _materialize(settings: Settings, console: Console) -> int:
    with console.status("loading the Dagster definitions (dbt manifest)"):
        import dagster as dg

        from clickstream_cli.launch import materialize_lake
        from clickstream_orchestration.definitions import defs
        from streaming.contracts.landing import landed_hours

    hours = landed_hours(settings)
    if not hours:
        console.print("[red]nothing landed: no ingest hour to materialise[/red]")
        return 1
    instance = dg.DagsterInstance.get()
    started = time.perf_counter()
    descriptions = {
        "bronze_load": f"bronze: {len(hours)} ingest hour(s) into Iceberg, with gates",
        "segments_refresh": "segments: change log and SCD2 model",
        "lake_refresh": "silver and gold: dbt build per layer, gated",
    }
    status = console.status("")
    log = settings.log_dir / "demo-runs.log"
    # dbt's own output goes to the run's compute log in the UI and to this file
    with status, log.open("w") as sink, contextlib.redirect_stdout(sink):
        outcomes = materialize_lake(
            defs,
            instance,
            hours,
            on_stage=lambda job: status.update(f"Dagster run: {descriptions[job]}"),
        )
    seconds = time.perf_counter() - started
    console.print(_stages_table(outcomes, seconds))
    console.print(_checks_table(outcomes))
    failed = [check for outcome in outcomes for check in outcome.failed_blocking_checks]
    if not all(outcome.success for outcome in outcomes) or failed:
        for outcome in outcomes:
            if outcome.error:
                console.print(f"[red]{outcome.job} failed: {outcome.error}[/red]", highlight=False)
        for check in failed:
            console.print(f"[red]blocking check failed: {check.asset} {check.name}[/red]")
        return 1
    for outcome in outcomes:
        for check in outcome.checks:
            if check.name == "realtime_reconciles_with_batch":
                colour = "green" if check.passed else "yellow"
                console.print(f"[{colour}]real time vs batch: {check.description}[/{colour}]")
    console.print(_tables_table(settings))
    console.print(_funnel_table(settings))
    console.print(attribution_table(settings))
    console.print(
        "[green]every stage and blocking check passed; runs are in the Dagster UI "
        '(make dev). Try: clickstream query "select * from mart.fact_funnel limit 5"[/green]'
    )
    return 0


def _progress(console: Console) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _reset_local_state(settings: Settings, console: Console) -> str | None:
    """Empty this home's stream, landing, checkpoints and lake; returns the endpoint of a local
    server that still answers (another home's), if any."""
    aws = LocalAws(settings)
    aws.down()  # a fresh stream: the demo's counts must not include older traffic
    for server in aws.servers:
        if server.answers():
            return server.endpoint
    for directory in (
        settings.local_stream_dir,
        settings.landing_dir,
        settings.warehouse_dir,
        settings.duckdb_dir,
        settings.checkpoint_dir,
        settings.realtime_dir,
    ):
        if directory.exists():
            shutil.rmtree(directory)
    (settings.home / "catalog.db").unlink(missing_ok=True)
    console.print(f"local home: {settings.home} (stream, landing, checkpoints and lake emptied)")
    return None


def _count_lines(store: LandingStore, prefix: str) -> int:
    return sum(count_records(store.get(item.key)) for item in store.list(prefix + "/"))


def _wait_for_delivery(
    settings: Settings, store: LandingStore, accepted: int, rejected: int, status: Status
) -> Landed:
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    landed = Landed()
    while time.monotonic() < deadline:
        status.update(
            f"waiting for delivery to land every accepted event ({landed.bronze:,} of "
            f"{accepted:,} landed)"
        )
        landed = Landed(
            _count_lines(store, settings.landing_bronze_prefix),
            _count_lines(store, settings.landing_quarantine_prefix),
        )
        if landed.bronze >= accepted and landed.quarantine >= rejected:
            return landed
        time.sleep(1.0)
    return landed


def _traffic_table(summary: GenerationSummary) -> Table:
    table = Table(title="traffic sent through the HTTP ingest")
    table.add_column("")
    table.add_column("events", justify="right")
    sink = summary.sink
    rows = [
        ("generated (incl. re-sent duplicates)", sink["events_sent"]),
        ("accepted (on the stream)", sink["accepted"]),
        ("rejected (quarantined)", sink["rejected"]),
        ("discarded (consent off, stored nowhere)", sink["discarded"]),
        ("failed requests", sink["http_errors"]),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    return table


def _stages_table(outcomes: list[StageOutcome], seconds: float) -> Table:
    table = Table(title=f"Dagster runs ({seconds:.1f} s)")
    for column in ("job", "run", "result", "assets materialised"):
        table.add_column(column)
    for outcome in outcomes:
        table.add_row(
            outcome.job,
            outcome.run_id[:8],
            "[green]success[/green]" if outcome.success else "[red]failed[/red]",
            ", ".join(sorted(set(outcome.materialized))),
        )
    return table


def _checks_table(outcomes: list[StageOutcome]) -> Table:
    table = Table(title="asset checks")
    for column in ("asset", "checks", "passed", "failed"):
        table.add_column(column, justify="left" if column == "asset" else "right")
    by_asset: dict[str, list[bool]] = {}
    for outcome in outcomes:
        for check in outcome.checks:
            by_asset.setdefault(check.asset, []).append(check.passed)
    for asset, results in sorted(by_asset.items()):
        failed = results.count(False)
        table.add_row(
            asset,
            str(len(results)),
            str(results.count(True)),
            f"[red]{failed}[/red]" if failed else "0",
        )
    return table


def _tables_table(settings: Settings) -> Table:
    from lakehouse.catalog import open_catalog

    catalog = open_catalog(settings)
    table = Table(title="lake tables")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for namespace in catalog.list_namespaces():
        for identifier in sorted(catalog.list_tables(namespace)):
            rows = catalog.load_table(identifier).scan().count()
            table.add_row(".".join(identifier), f"{rows:,}")
    return table


def _funnel_table(settings: Settings) -> Table:
    from lakehouse.query import query

    funnel = query(
        settings,
        """
        select
            count(*) as sessions,
            count(*) filter (where saw_comparison) as saw_comparison,
            count(*) filter (where interacted_chart) as interacted_chart,
            count(*) filter (where clicked_affiliate) as clicked_affiliate,
            coalesce(sum(payout_cents), 0) as payout_cents
        from mart.fact_funnel
        where not is_bot
        """,
    ).to_pylist()[0]
    table = Table(title="funnel (human sessions)")
    table.add_column("step")
    table.add_column("sessions", justify="right")
    table.add_column("share", justify="right")
    total = funnel["sessions"] or 1
    for step in ("sessions", "saw_comparison", "interacted_chart", "clicked_affiliate"):
        table.add_row(step.replace("_", " "), f"{funnel[step]:,}", f"{funnel[step] / total:.1%}")
    table.add_row("affiliate payout", f"${funnel['payout_cents'] / 100:,.2f}", "")
    return table


def attribution_table(settings: Settings) -> Table:
    """Conversions, revenue and the channels credited most, per attribution model."""
    from lakehouse.query import query

    totals = query(
        settings,
        """
        select
            attribution_model,
            count(distinct conversion_id) as conversions,
            sum(revenue_credited_cents) as revenue_cents
        from mart.fact_attribution
        group by attribution_model
        order by attribution_model
        """,
    ).to_pylist()
    channels = query(
        settings,
        f"""
        select attribution_model, channel, revenue_cents, conversions
        from (
            select
                attribution_model,
                channel,
                sum(revenue_credited_cents) as revenue_cents,
                sum(credit_share) as conversions,
                row_number() over (
                    partition by attribution_model
                    order by sum(revenue_credited_cents) desc, channel
                ) as place
            from mart.fact_attribution
            group by attribution_model, channel
        )
        where place <= {TOP_CHANNELS}
        order by attribution_model, place
        """,
    ).to_pylist()
    top: dict[str, list[str]] = {}
    for row in channels:
        top.setdefault(row["attribution_model"], []).append(
            f"{row['channel']} ${row['revenue_cents'] / 100:,.2f} ({row['conversions']:.1f})"
        )
    table = Table(title="attribution (conversions, revenue, top channels by revenue credited)")
    table.add_column("model")
    table.add_column("conversions", justify="right")
    table.add_column("revenue", justify="right")
    table.add_column(f"top {TOP_CHANNELS} channels")
    for row in totals:
        model = row["attribution_model"]
        table.add_row(
            model.replace("_", " "),
            f"{row['conversions']:,}",
            f"${row['revenue_cents'] / 100:,.2f}",
            ", ".join(top.get(model, [])),
        )
    if not totals:
        table.add_row("no conversions", "0", "$0.00", "")
    return table
