"""The dashboards' query layer: one quoting rule, DuckDB over the local lake following new
commits, and the Athena / Redshift Data API paths typed from their result metadata (moto)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pytest
from conftest import EMULATED_AWS_REGION
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata import models as redshiftdata_models

from lakehouse.catalog import open_catalog
from lakehouse.warehouse import (
    AwsWarehouse,
    LocalWarehouse,
    WarehouseError,
    literal,
    literal_list,
    open_warehouse,
)
from streaming.contracts.settings import Settings

REGION = EMULATED_AWS_REGION


def test_literals_quote_every_value_the_same_way_on_both_engines() -> None:
    assert literal("O'Brien") == "'O''Brien'"
    assert literal(date(2026, 11, 1)) == "date '2026-11-01'"
    assert literal(datetime(2026, 11, 1, 12, tzinfo=UTC)) == (
        "timestamp '2026-11-01 12:00:00.000000'"
    )
    assert literal(None) == "null"
    assert literal(True) == "true"
    assert literal(3) == "3"
    assert literal_list(["US", "x') or (1=1"]) == "('US', 'x'') or (1=1')"
    hostile = "x'); drop table lake.bronze_events; --"
    row = duckdb.sql(f"select {literal(hostile)} as value").fetchone()
    assert row == (hostile,)
    with pytest.raises(TypeError):
        literal(object())


def test_the_environment_picks_the_backend(tmp_path: Path) -> None:
    local = open_warehouse(Settings(home=tmp_path))
    try:
        assert isinstance(local, LocalWarehouse)
    finally:
        local.close()


def test_local_views_follow_new_commits_and_report_freshness(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    catalog = open_catalog(settings)
    schema = pa.schema([("n", pa.int64())])
    table = catalog.create_table("mart.numbers", schema)
    table.append(pa.table({"n": [1, 2]}, schema=schema))
    warehouse = LocalWarehouse(settings, refresh_seconds=0)
    try:
        assert warehouse.query("select sum(n) as total from mart.numbers").to_pylist() == [
            {"total": 3}
        ]
        table.append(pa.table({"n": [4]}, schema=schema))
        assert warehouse.query("select sum(n) as total from mart.numbers").to_pylist() == [
            {"total": 7}
        ]
        fresh = warehouse.freshness().to_pylist()
        assert [row["table_name"] for row in fresh] == ["mart.numbers"]
        latest = catalog.load_table("mart.numbers").current_snapshot()
        assert latest is not None
        assert fresh[0]["committed_at"] == datetime.fromtimestamp(
            latest.timestamp_ms / 1000, UTC
        ).replace(tzinfo=None)
        with pytest.raises(WarehouseError, match="no_such_table"):
            warehouse.query("select * from mart.no_such_table")
        with pytest.raises(WarehouseError, match="real-time"):
            warehouse.query("select * from rt.active_users", source="rt")
    finally:
        warehouse.close()


def test_a_refresh_recreates_only_the_views_of_tables_with_a_new_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse import engine

    settings = Settings(home=tmp_path)
    catalog = open_catalog(settings)
    schema = pa.schema([("n", pa.int64())])
    moving = catalog.create_table("mart.moving", schema)
    catalog.create_table("mart.still", schema).append(pa.table({"n": [1]}, schema=schema))
    moving.append(pa.table({"n": [2]}, schema=schema))
    attached: list[list[str]] = []
    attach = engine.attach_views

    def recording(conn: duckdb.DuckDBPyConnection, locations: dict[Any, str]) -> list[str]:
        names = attach(conn, locations)
        attached.append(names)
        return names

    monkeypatch.setattr(engine, "attach_views", recording)
    warehouse = LocalWarehouse(settings, refresh_seconds=0)
    try:
        warehouse.prepare()
        assert attached == [["mart.moving", "mart.still"]]
        total = "select (select sum(n) from mart.moving) + (select sum(n) from mart.still) as n"
        assert warehouse.query(total).to_pylist() == [{"n": 3}]
        assert warehouse.query(total).to_pylist() == [{"n": 3}]
        moving.append(pa.table({"n": [4]}, schema=schema))
        assert warehouse.query(total).to_pylist() == [{"n": 7}]
    finally:
        warehouse.close()
    assert attached == [["mart.moving", "mart.still"], [], [], ["mart.moving"]]


def test_an_unreadable_catalog_is_a_warehouse_error_not_a_traceback(tmp_path: Path) -> None:
    import sqlite3

    settings = Settings(home=tmp_path)
    schema = pa.schema([("n", pa.int64())])
    open_catalog(settings).create_table("mart.numbers", schema)
    warehouse = LocalWarehouse(settings, refresh_seconds=0)
    try:
        with sqlite3.connect(tmp_path / "catalog.db") as catalog_db:
            catalog_db.execute("drop table iceberg_tables")
        with pytest.raises(WarehouseError, match="catalog could not be read"):
            warehouse.prepare()
        with pytest.raises(WarehouseError, match="catalog could not be read"):
            warehouse.query("select 1")
        with pytest.raises(WarehouseError, match="catalog could not be read"):
            warehouse.freshness()
    finally:
        warehouse.close()


@pytest.fixture
def aws(emulated_aws: None) -> AwsWarehouse:
    settings = Settings(env="aws", aws_account_id=DEFAULT_ACCOUNT_ID, aws_region=REGION)
    athena = boto3.client("athena", region_name=REGION)
    athena.create_work_group(
        Name=settings.athena_workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/"}},
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="results")
    return AwsWarehouse(
        settings,
        athena=athena,
        glue=boto3.client("glue", region_name=REGION),
        redshift_data=boto3.client("redshift-data", region_name=REGION),
    )


def _text_row(*values: str | None) -> dict[str, list[dict[str, str]]]:
    return {"Data": [{} if value is None else {"VarCharValue": value} for value in values]}


def test_athena_results_are_typed_from_their_column_metadata(aws: AwsWarehouse) -> None:
    columns = [
        ("event_dt", "date"),
        ("sessions", "bigint"),
        ("share", "double"),
        ("converted", "boolean"),
        ("first_ts", "timestamp"),
        ("country", "varchar"),
    ]
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(
        QueryResults(
            rows=[
                _text_row(*(name for name, _ in columns)),
                _text_row("2026-11-01", "42", "0.25", "true", "2026-11-01 08:30:00.123000", "US"),
                _text_row("2026-11-02", "7", None, "false", None, None),
            ],
            column_info=[
                {
                    "Name": name,
                    "Type": kind,
                    "CatalogName": "hive",
                    "SchemaName": "",
                    "TableName": "",
                    "Label": name,
                }
                for name, kind in columns
            ],
        )
    )
    result = aws.query("select * from mart.fact_funnel")
    assert result.schema.types == [
        pa.date32(),
        pa.int64(),
        pa.float64(),
        pa.bool_(),
        pa.timestamp("us"),
        pa.string(),
    ]
    assert result.to_pylist() == [
        {
            "event_dt": date(2026, 11, 1),
            "sessions": 42,
            "share": 0.25,
            "converted": True,
            "first_ts": datetime(2026, 11, 1, 8, 30, 0, 123000),
            "country": "US",
        },
        {
            "event_dt": date(2026, 11, 2),
            "sessions": 7,
            "share": None,
            "converted": False,
            "first_ts": None,
            "country": None,
        },
    ]
    execution = aws._athena.list_query_executions(WorkGroup=aws._settings.athena_workgroup)
    assert len(execution["QueryExecutionIds"]) == 1


def test_realtime_queries_go_to_the_redshift_data_api(
    aws: AwsWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto leaves every statement STARTED; Redshift reports FINISHED once it ran
    started = redshiftdata_models.Statement.__init__

    def finished(self: Any, *args: Any, **kwargs: Any) -> None:
        started(self, *args, **kwargs)
        self.status = "FINISHED"

    monkeypatch.setattr(redshiftdata_models.Statement, "__init__", finished)
    result = aws.query("select * from rt.active_users", source="rt")
    assert result.num_rows > 0
    assert set(result.column_names) >= {"Number", "Street"}
    assert pa.types.is_integer(result.schema.field("Number").type) or pa.types.is_string(
        result.schema.field("Number").type
    )
