"""The main job on the local default: a day of dirty traffic, landed, loaded and built.

A day of traffic is landed as the delivery stream would land it, loaded hour by hour into the
bronze and quarantine Iceberg tables, and built into silver and gold with dbt (every dbt test
runs). The landing store and the lake are read back independently of the generator's own
counts, so the demo fails (non-zero exit) if anything generated as valid is missing from
bronze, if a rejected event is missing from quarantine, if a consent-off event landed anywhere,
or if a dbt test fails.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from clickstream_orchestration.lakehouse.build import build_lake, load_landed_hours
from clickstream_orchestration.lakehouse.catalog import open_catalog
from clickstream_orchestration.lakehouse.dbt_project import DbtError
from streaming.generator import GenerationSummary, TrafficConfig
from streaming.generator.runner import default_workers
from streaming.generator.sinks.landing import write_landing
from streaming.landing import LandingStore, decode_records, landing_store
from streaming.settings import Settings, get_settings


@dataclass
class PrefixContents:
    objects: int = 0
    records: int = 0
    compressed_bytes: int = 0
    by_event_type: Counter[str] = field(default_factory=Counter)


def run_demo(*, events: int, seed: int, console: Console | None = None) -> int:
    console = console or Console()
    settings = get_settings()
    if settings.env != "local":
        console.print("[red]the demo runs on the local default; unset CLICKSTREAM_ENV[/red]")
        return 2
    _reset_local_state(settings, console)
    start = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(), UTC)
    config = TrafficConfig(events=events, seed=seed, start=start, days=1)
    store = landing_store(settings)

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("generating and landing a day of traffic", total=events)
        summary = write_landing(
            config,
            store,
            settings,
            workers=default_workers(),
            progress=lambda done: progress.advance(task, done),
        )

    console.print(summary.table())
    bronze = _read_prefix(store, settings.landing_bronze_prefix)
    quarantine = _read_prefix(store, settings.landing_quarantine_prefix)
    console.print(_landing_table(settings, bronze, quarantine))
    problems = _reconcile(summary, bronze, quarantine)
    for problem in problems:
        console.print(f"[red]{problem}[/red]")
    if problems:
        return 1
    console.print(
        f"[green]landing reconciles with the traffic sent: {bronze.records:,} events in "
        f"bronze, {quarantine.records:,} rejected in quarantine, "
        f"{summary.sink['discarded_consent_off']:,} consent-off events stored nowhere[/green]"
    )
    return _build_lake(settings, bronze, quarantine, console)


def _build_lake(
    settings: Settings, bronze: PrefixContents, quarantine: PrefixContents, console: Console
) -> int:
    with console.status("loading bronze and quarantine hour by hour"):
        loads = load_landed_hours(settings)
    loaded = sum(result.loaded_rows for result, _ in loads)
    rejected = sum(
        result.quarantined_rows + ingest.loaded_rows + ingest.quarantined_rows
        for result, ingest in loads
    )
    console.print(f"bronze: {loaded:,} rows loaded from {len(loads)} hours")
    if loaded != bronze.records or rejected != quarantine.records:
        console.print(
            f"[red]lake load does not reconcile: bronze {loaded:,} of {bronze.records:,}, "
            f"quarantine {rejected:,} of {quarantine.records:,}[/red]"
        )
        return 1
    with console.status("building silver and gold with dbt (models and tests)"):
        try:
            result = build_lake(settings, capture=True)
        except DbtError as error:
            console.print(f"[red]{error}[/red]", highlight=False)
            return 1
    console.print(_lake_table(settings, result.seconds))
    console.print(
        "[green]silver and gold built; every dbt test passed. "
        'Try: clickstream query "select * from mart.fact_funnel limit 5"[/green]'
    )
    return 0


def _lake_table(settings: Settings, seconds: float) -> Table:
    catalog = open_catalog(settings)
    table = Table(title=f"lake tables (dbt build {seconds:.1f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for namespace in catalog.list_namespaces():
        for identifier in sorted(catalog.list_tables(namespace)):
            rows = catalog.load_table(identifier).scan().count()
            table.add_row(".".join(identifier), f"{rows:,}")
    return table


def _reset_local_state(settings: Settings, console: Console) -> None:
    for directory in (settings.landing_dir, settings.warehouse_dir, settings.duckdb_dir):
        if directory.exists():
            shutil.rmtree(directory)
    catalog_file = settings.home / "catalog.db"
    catalog_file.unlink(missing_ok=True)
    console.print(f"landing store: {settings.landing_dir} (emptied for this run, lake too)")


def _read_prefix(store: LandingStore, prefix: str) -> PrefixContents:
    contents = PrefixContents()
    for item in store.list(prefix + "/"):
        records = decode_records(store.get(item.key))
        contents.objects += 1
        contents.records += len(records)
        contents.compressed_bytes += item.size
        contents.by_event_type.update(record.get("event_type", "?") for record in records)
    return contents


def _landing_table(settings: Settings, bronze: PrefixContents, quarantine: PrefixContents) -> Table:
    table = Table(title=f"landed in {settings.landing_dir}")
    for column in ("prefix", "objects", "records", "gzip bytes"):
        table.add_column(column, justify="left" if column == "prefix" else "right")
    for name, contents in (("bronze/", bronze), ("quarantine/", quarantine)):
        table.add_row(
            name, f"{contents.objects:,}", f"{contents.records:,}", f"{contents.compressed_bytes:,}"
        )
        if contents is bronze:
            for event_type, count in sorted(bronze.by_event_type.items()):
                table.add_row(f"  events_type={event_type}", "", f"{count:,}", "")
    return table


def _reconcile(
    summary: GenerationSummary, bronze: PrefixContents, quarantine: PrefixContents
) -> list[str]:
    expected_bronze = summary.valid - summary.sink["discarded_consent_off"]
    problems = []
    if bronze.records != expected_bronze:
        problems.append(f"bronze holds {bronze.records:,} events, expected {expected_bronze:,}")
    if quarantine.records != summary.invalid:
        problems.append(
            f"quarantine holds {quarantine.records:,} events, expected {summary.invalid:,}"
        )
    return problems
