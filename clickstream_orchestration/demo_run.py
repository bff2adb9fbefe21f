"""The main job on the local default: a day of dirty traffic, landed and summarised.

The landing store is read back independently of the generator's own counts, so the demo fails
(non-zero exit) if anything generated as valid is missing from bronze, if a rejected event is
missing from quarantine, or if a consent-off event landed anywhere.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

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
    _reset_landing(settings, console)
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
    if not problems:
        console.print(
            f"[green]landing reconciles with the traffic sent: {bronze.records:,} events in "
            f"bronze, {quarantine.records:,} rejected in quarantine, "
            f"{summary.sink['discarded_consent_off']:,} consent-off events stored nowhere[/green]"
        )
    return 1 if problems else 0


def _reset_landing(settings: Settings, console: Console) -> None:
    if settings.landing_dir.exists():
        shutil.rmtree(settings.landing_dir)
    console.print(f"landing store: {settings.landing_dir} (emptied for this run)")


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
