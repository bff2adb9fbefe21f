"""Deploying schema 1-1-0 evolves the lake in place: a 1-0-0 day stays as it was written.

The lake holds a day of 1-0-0 traffic, written before 1-1-0 existed: bronze made with the
1-0-0 columns, silver built by the 1-0-0 models (whose tables lacked the purchase columns).
Then 1-1-0 is deployed and a mixed day (1-0-0 events and 1-1-0 purchases) is loaded and
built. Both tables gain the new columns by Iceberg schema evolution: every data file of the
first day is still the table's, unchanged; the first day's rows read exactly as before, with
the new columns null; both days are queryable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.table import Table

from lakehouse import engine
from lakehouse.bronze_arrow import read_chunks
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.tables import BRONZE, BRONZE_EVENTS, TableSpec, ensure_table
from lakehouse.window import Window
from streaming.contracts.landing import IngestHour, bronze_objects, landing_store
from streaming.contracts.schema_registry import producer_event_types
from streaming.contracts.settings import Settings
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

OLD_DAY = date(2026, 11, 1)
MIXED_DAY = date(2026, 11, 2)
HOURS = 3
NEW_SILVER_COLUMNS = ("order_id", "revenue_cents", "currency", "affiliate_click_id")
BRONZE_1_0_0 = TableSpec(
    BRONZE.name,
    pa.schema([field for field in BRONZE_EVENTS if field.name != "purchase"]),
    BRONZE.partition_by,
    BRONZE.sort_by,
)
"""The bronze table as the 1-0-0 loader made it."""


def _start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def _hours(day: date) -> list[datetime]:
    return [_start(day) + timedelta(hours=hour) for hour in range(HOURS)]


def _files(table: Table) -> dict[str, int]:
    return {
        row["file_path"]: row["file_size_in_bytes"]
        for row in table.inspect.files().select(["file_path", "file_size_in_bytes"]).to_pylist()
    }


def _rows(table: Table, where: str) -> list[dict[str, Any]]:
    rows = table.scan(row_filter=where).to_arrow().to_pylist()
    return sorted(rows, key=lambda row: (row["event_id"], str(row.get("ingest_ts"))))


def _load_as_1_0_0(settings: Settings, hour: datetime) -> None:
    """What the 1-0-0 loader wrote for an hour: the same rows, without the 1-1-0 column."""
    catalog = open_catalog(settings)
    table = ensure_table(catalog, settings, BRONZE_1_0_0)
    store = landing_store(settings)
    ingest_hour = IngestHour.of(hour)
    keys = [
        item.key for item in bronze_objects(store, settings, ingest_hour, producer_event_types())
    ]
    for chunk, _ in read_chunks(store, keys, ingest_hour):
        table.append(chunk.drop_columns(["purchase"]))
        table = table.refresh()


@dataclass(frozen=True)
class Evolution:
    settings: Settings
    bronze_before: dict[str, int]
    bronze_rows_before: list[dict[str, Any]]
    silver_before: dict[str, int]
    silver_rows_before: list[dict[str, Any]]


@pytest.fixture(scope="module")
def evolution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evolution]:
    settings = Settings(home=tmp_path_factory.mktemp("evolution"))
    store = landing_store(settings)
    old = TrafficConfig(events=1_500, seed=21, start=_start(OLD_DAY), days=HOURS / 24)
    write_landing(old, store, settings, workers=1)
    for hour in _hours(OLD_DAY):
        _load_as_1_0_0(settings, hour)
    catalog = open_catalog(settings)
    bronze = catalog.load_table("lake.bronze_events")
    assert "purchase" not in bronze.schema().column_names
    # silver as the 1-0-0 models built it: built, then without the columns they lacked
    ensure_table(catalog, settings, BRONZE)  # the models below read the 1-1-0 columns
    build_lake(settings, select="silver_events", run_tests=False, in_process=True)
    silver = catalog.load_table("lake.silver_events")
    with silver.update_schema() as update:
        for column in NEW_SILVER_COLUMNS:
            update.delete_column(column)
    with bronze.refresh().update_schema() as update:
        update.delete_column("purchase")
    bronze = catalog.load_table("lake.bronze_events")
    silver = catalog.load_table("lake.silver_events")
    before = Evolution(
        settings,
        _files(bronze),
        _rows(bronze, "ingest_dt >= '2026-11-01'"),
        _files(silver),
        _rows(silver, "event_dt = '2026-11-01'"),
    )

    # 1-1-0 deployed: a mixed day loaded by the current loader, then built
    mixed = TrafficConfig(
        events=1_500, seed=22, start=_start(MIXED_DAY), days=HOURS / 24, conversion_rate=0.08
    )
    write_landing(mixed, store, settings, workers=1)
    for hour in _hours(MIXED_DAY):
        load_hour(settings, hour, catalog=catalog)
    build_lake(
        settings,
        window=Window(MIXED_DAY, MIXED_DAY),
        select="silver_events",
        run_tests=False,
        in_process=True,
    )
    yield before


def test_bronze_gains_the_column_without_rewriting_a_file(evolution: Evolution) -> None:
    bronze = open_catalog(evolution.settings).load_table("lake.bronze_events")
    assert "purchase" in bronze.schema().column_names
    files = _files(bronze)
    print("bronze files of the 1-0-0 day:", *sorted(evolution.bronze_before), sep="\n  ")
    assert evolution.bronze_before.items() <= files.items()  # same paths, same sizes
    assert len(files) > len(evolution.bronze_before)
    for path in evolution.bronze_before:
        assert Path(path.removeprefix("file://")).exists()


def test_old_bronze_rows_are_unchanged_and_read_null_purchases(evolution: Evolution) -> None:
    bronze = open_catalog(evolution.settings).load_table("lake.bronze_events")
    now = _rows(bronze, "ingest_dt < '2026-11-02'")
    assert len(now) == len(evolution.bronze_rows_before) > 1000
    assert all(row.pop("purchase") is None for row in now)
    assert now == evolution.bronze_rows_before


def test_the_mixed_day_carries_purchases(evolution: Evolution) -> None:
    bronze = open_catalog(evolution.settings).load_table("lake.bronze_events")
    mixed = bronze.scan(row_filter="ingest_dt = '2026-11-02'").to_arrow().to_pylist()
    purchases = [row for row in mixed if row["event_type"] == "purchase"]
    assert purchases and len(purchases) < len(mixed)
    assert all(
        row["purchase"]["order_id"] and row["schema_version"] == "1.1.0" for row in purchases
    )
    assert all(row["purchase"] is None for row in mixed if row["event_type"] != "purchase")


def test_silver_gains_the_columns_without_rewriting_the_old_day(evolution: Evolution) -> None:
    silver = open_catalog(evolution.settings).load_table("lake.silver_events")
    assert set(NEW_SILVER_COLUMNS) <= set(silver.schema().column_names)
    assert evolution.silver_before.items() <= _files(silver).items()
    old = _rows(silver, "event_dt = '2026-11-01'")
    for row in old:
        assert all(row.pop(column) is None for column in NEW_SILVER_COLUMNS)
    assert old == evolution.silver_rows_before


def test_both_days_are_queryable(evolution: Evolution) -> None:
    settings = evolution.settings
    with engine.connect(settings, open_catalog(settings)) as conn:
        by_day = conn.execute(
            "select event_dt, count(*), count(order_id), sum(revenue_cents) "
            "from lake.silver_events group by event_dt order by event_dt"
        ).fetchall()
        bronze_days = conn.execute(
            "select ingest_dt, count(purchase.order_id) from lake.bronze_events "
            "group by ingest_dt order by ingest_dt"
        ).fetchall()
    assert [day for day, *_ in by_day] == [OLD_DAY, MIXED_DAY]
    (_, old_events, old_orders, old_revenue), (_, new_events, new_orders, new_revenue) = by_day
    assert old_events > 0 and old_orders == 0 and old_revenue is None
    assert new_events > 0 and new_orders > 0 and new_revenue > 0
    assert bronze_days[0] == (OLD_DAY, 0) and bronze_days[-1][1] > 0
