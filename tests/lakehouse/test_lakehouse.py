"""Bronze → silver → gold on the local target, from generated landing objects (dirty reality on).

Two days of traffic are loaded hour by hour. A full build must pass every dbt test and produce
every table in the catalog; the same two days as 48 hourly increments (bronze hour, then the
arrival-driven run that rebuilds what the hour brought) must give exactly the tables of a full
build.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lakehouse.arrivals import plan_arrivals
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_arrivals, build_lake
from lakehouse.catalog import open_catalog
from lakehouse.query import query
from lakehouse.window import Window
from streaming.contracts.landing import landing_store
from streaming.contracts.settings import Settings
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from tests.lake_keys import KEYS

START = datetime(2026, 11, 1, tzinfo=UTC)
ALL_TABLES = {
    "lake.bronze_events",
    "lake.quarantine_events",
    "lake.user_segment_changes",
    *KEYS,
}
HOUR_IN_KEY = re.compile(r"ingest_dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _landed_hours(settings: Settings) -> list[datetime]:
    hours = set()
    for landed in landing_store(settings).list(""):
        match = HOUR_IN_KEY.search(landed.key)
        if match:
            day, hour = match.groups()
            hours.add(datetime.fromisoformat(f"{day}T{hour}:00:00+00:00"))
    return sorted(hours)


def _sorted_table(settings: Settings, identifier: str) -> pa.Table:
    table = open_catalog(settings).load_table(identifier).scan().to_arrow()
    return table.sort_by([(key, "ascending") for key in KEYS[identifier]])


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of landing objects, kept as a template copied into each test's home."""
    home = tmp_path_factory.mktemp("landed")
    settings = Settings(home=home)
    config = TrafficConfig(events=12_000, seed=5, start=START, days=2, conversion_rate=0.03)
    write_landing(config, landing_store(settings), settings, workers=1)
    return home


def _home_from(template: Path, home: Path) -> Settings:
    shutil.copytree(template / "landing", home / "landing")
    shutil.copytree(template / "secrets", home / "secrets")
    return Settings(home=home)


@pytest.fixture(scope="module")
def full_build(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = _home_from(landed, tmp_path_factory.mktemp("full"))
    for hour in _landed_hours(settings):
        load_hour(settings, hour)
    build_lake(settings, capture=True)  # dbt build: models and every data test
    yield settings


def test_full_build_creates_every_table_readable_by_pyiceberg(full_build: Settings) -> None:
    catalog = open_catalog(full_build)
    present = {
        f"{namespace[0]}.{name}"
        for namespace in catalog.list_namespaces()
        for _, name in catalog.list_tables(namespace)
    }
    assert present >= ALL_TABLES
    for identifier in ALL_TABLES - {"lake.quarantine_events"}:
        assert catalog.load_table(identifier).scan().to_arrow().num_rows > 0, identifier
    # generated traffic includes rejected events: they are in quarantine, not lost
    assert catalog.load_table("lake.quarantine_events").scan().to_arrow().num_rows > 0


def _parquet_format(settings: Settings, identifier: str) -> tuple[str, str]:
    """The format version and the codec of ``event_id`` of a file of the table."""
    task = next(iter(open_catalog(settings).load_table(identifier).scan().plan_files()))
    metadata = pq.ParquetFile(task.file.file_path.removeprefix("file://")).metadata
    row_group = metadata.row_group(0)
    names = [row_group.column(i).path_in_schema for i in range(row_group.num_columns)]
    return metadata.format_version, row_group.column(names.index("event_id")).compression


def test_the_bronze_load_writes_parquet_as_the_models_do(full_build: Settings) -> None:
    """One set of write options, the dbt var ``parquet_write_options``."""
    bronze = _parquet_format(full_build, "lake.bronze_events")
    assert bronze == _parquet_format(full_build, "lake.silver_events") == ("2.6", "ZSTD")


def test_silver_events_has_one_row_per_event_in_its_true_event_date(full_build: Settings) -> None:
    bronze = open_catalog(full_build).load_table("lake.bronze_events").scan().to_arrow()
    silver = _sorted_table(full_build, "lake.silver_events")
    distinct_ids = pc.count_distinct(bronze["event_id"]).as_py()
    assert bronze.num_rows > distinct_ids  # the generator re-sends some events
    assert silver.num_rows == distinct_ids
    assert pc.count_distinct(silver["event_id"]).as_py() == silver.num_rows
    late = (
        query(
            full_build,
            "select count(*) from lake.bronze_events where ingest_dt <> cast(ts as date)",
        )
        .column(0)[0]
        .as_py()
    )
    assert late > 0  # late events arrive on the next ingest date...
    misplaced = (
        query(
            full_build,
            "select count(*) from lake.silver_events where event_dt <> cast(ts as date)",
        )
        .column(0)[0]
        .as_py()
    )
    assert misplaced == 0  # ...and land in their true event date


def test_query_console_sees_the_gold_tables(full_build: Settings) -> None:
    funnel = query(full_build, "select count(*) as sessions from mart.fact_funnel")
    sessions = query(full_build, "select count(*) as sessions from lake.silver_sessions")
    assert funnel.equals(sessions)


HOURLY_RUNS = 6
CATCH_UP_HOURS = 6


def test_hourly_increments_equal_a_full_build(
    landed: Path, full_build: Settings, tmp_path: Path
) -> None:
    settings = _home_from(landed, tmp_path / "incremental")
    catalog = open_catalog(settings)
    rebuilt_days = []
    hours = _landed_hours(settings)
    # a run after each of the first hours, then after every few (a schedule catching up)
    batches = [[hour] for hour in hours[:HOURLY_RUNS]] + [
        hours[start : start + CATCH_UP_HOURS]
        for start in range(HOURLY_RUNS, len(hours), CATCH_UP_HOURS)
    ]
    for batch in batches:
        for hour in batch:
            load_hour(settings, hour, catalog=catalog)
        run = build_arrivals(settings, run_tests=False, in_process=True)
        assert sorted(run.plan.loads) == [(hour.date(), f"{hour:%H}") for hour in batch]
        rebuilt_days.append(run.plan.event_days)
    assert plan_arrivals(settings).empty, "every load consumed"
    # an hour rebuilds the days its events fall on (the late ones too), never the history
    assert max(len(days) for days in rebuilt_days) <= 3
    for identifier in KEYS:
        incremental = _sorted_table(settings, identifier)
        full = _sorted_table(full_build, identifier)
        assert incremental.num_rows == full.num_rows, identifier
        assert incremental.to_pylist() == full.to_pylist(), identifier


def test_a_windowed_run_rewrites_only_its_partitions(full_build: Settings) -> None:
    table = open_catalog(full_build).load_table("lake.silver_events")
    before = _files_by_partition(table)
    build_lake(full_build, window=Window(date(2026, 11, 2), date(2026, 11, 2)), run_tests=False)
    after = _files_by_partition(open_catalog(full_build).load_table("lake.silver_events"))
    rewritten = {day for day in before if before[day] != after.get(day)}
    # exactly the window's day: its events are read from every later ingest day
    assert rewritten == {date(2026, 11, 2)}
    assert all(before[day] == after[day] for day in set(before) - rewritten)


def _files_by_partition(table) -> dict[date, list[str]]:
    files: dict[date, list[str]] = {}
    for row in table.inspect.files().select(["partition", "file_path"]).to_pylist():
        files.setdefault(row["partition"]["event_dt"], []).append(row["file_path"])
    return {day: sorted(paths) for day, paths in files.items()}


def test_rerunning_a_bronze_hour_changes_nothing(full_build: Settings) -> None:
    table = open_catalog(full_build).load_table("lake.bronze_events")
    snapshot = table.current_snapshot().snapshot_id
    hour = _landed_hours(full_build)[5]
    bronze_result, _ = load_hour(full_build, hour)
    assert bronze_result.skipped
    assert (
        open_catalog(full_build).load_table("lake.bronze_events").current_snapshot().snapshot_id
        == snapshot
    )
    assert json.dumps(bronze_result.hour)
