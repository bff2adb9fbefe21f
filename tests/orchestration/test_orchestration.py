"""The Dagster code location: the graph, the landing sensor, gates and backfills, run for real
in-process against a generated lake."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from conftest import home_environment

from clickstream_cli.launch import materialize_lake, run_job
from clickstream_orchestration.assets.bronze import BRONZE_EVENTS
from clickstream_orchestration.checks.gates import FACT_FUNNEL, SILVER_EVENTS
from clickstream_orchestration.definitions import build_definitions, defs
from clickstream_orchestration.partitions import hour_key
from clickstream_orchestration.resources import LakehouseResource, LocalLandingResource
from clickstream_orchestration.sensors import landing_sensor
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from streaming.contracts.landing import bronze_key, encode_records, landed_hours, landing_store
from streaming.contracts.settings import Settings
from streaming.generator import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from tests.lake_keys import KEYS

BIN = Path(sys.executable).parent
GOLD_TABLES = [dg.AssetKey(["gold", "fact_funnel"]), dg.AssetKey(["gold", "fact_affiliate_clicks"])]
ATTRIBUTION_TABLES = [
    dg.AssetKey(["gold", "fact_attribution"]),
    dg.AssetKey(["gold", "agg_attribution_daily"]),
]
STAR_AND_ENGAGEMENT_TABLES = [
    "fact_clicks",
    "dim_users",
    "dim_pages",
    "dim_date",
    "agg_engagement_daily",
    "agg_events_hourly",
    "agg_pages_daily",
    "retention_weekly",
]
LAKE_TABLES = list(KEYS)


# --- the definitions and the graph -----------------------------------------------------


def test_definitions_validate() -> None:
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-m", "clickstream_orchestration.definitions"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"DAGSTER_HOME": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_the_aws_code_location_validates(tmp_path: Path) -> None:
    """The same assets wired to S3, Athena and Glue (offline: the partitions' start is set, so
    nothing lists the bucket)."""
    aws = {
        "DAGSTER_HOME": "",
        "CLICKSTREAM_HOME": str(tmp_path),
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_AWS_ACCOUNT_ID": "123456789012",
        "CLICKSTREAM_ORCHESTRATION__START_DATE": "2026-11-01",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-m", "clickstream_orchestration.definitions"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | aws,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_graph_has_the_layers_and_one_lineage_from_landing_to_gold() -> None:
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"landing", "bronze", "silver", "gold", "maintenance"} <= groups
    landing = dg.AssetKey(["landing", "events_stream"])
    for gold in GOLD_TABLES:
        assert (
            landing in graph.get(gold).ancestor_keys
            if hasattr(graph.get(gold), "ancestor_keys")
            else _ancestors(graph, gold)
        )
    node = graph.get(dg.AssetKey(["silver", "silver_events"]))
    assert BRONZE_EVENTS in node.parent_keys, "the dbt source is the bronze asset"
    assert {"dbt", "iceberg"} <= set(node.kinds)
    assert graph.get(FACT_FUNNEL).owners
    assert graph.get(FACT_FUNNEL).freshness_policy is not None
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == SILVER_EVENTS}
    assert {"silver_events_expectations", "unique_silver_events_event_id"} <= checks
    assert graph.get_check_spec(
        dg.AssetCheckKey(SILVER_EVENTS, "silver_events_expectations")
    ).blocking


def test_the_lake_refresh_builds_the_attribution_models() -> None:
    graph = defs.resolve_asset_graph()
    refreshed = defs.resolve_job_def("lake_refresh").asset_layer.selected_asset_keys
    for table in ATTRIBUTION_TABLES:
        assert table in refreshed
        assert graph.get(table).group_name == "gold"
        assert SILVER_EVENTS in _ancestors(graph, table)


def test_the_lake_refresh_builds_the_star_schema_and_the_engagement_marts() -> None:
    graph = defs.resolve_asset_graph()
    refreshed = defs.resolve_job_def("lake_refresh").asset_layer.selected_asset_keys
    for name in STAR_AND_ENGAGEMENT_TABLES:
        table = dg.AssetKey(["gold", name])
        assert table in refreshed, name
        assert graph.get(table).group_name == "gold"
        assert SILVER_EVENTS in _ancestors(graph, table)


def _ancestors(graph: dg.AssetGraph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_every_gold_table_descends_from_the_stream() -> None:
    graph = defs.resolve_asset_graph()
    for gold in GOLD_TABLES:
        assert {
            dg.AssetKey(["landing", "events_stream"]),
            dg.AssetKey(["landing", "landed_objects"]),
            BRONZE_EVENTS,
            SILVER_EVENTS,
        } <= _ancestors(graph, gold)


# --- the landing sensor -----------------------------------------------------------------


def _land(root: Path, key: str, mtime: float, lines: int = 3) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(b'{"event_id": "x"}\n' * lines))
    os.utime(path, (mtime, mtime))


def _bronze_key(day: str, hour: str, name: str) -> str:
    return f"bronze/events_type=page_view/ingest_dt={day}/hour={hour}/{name}.gz"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as ephemeral:
        yield ephemeral


def _evaluate(home: Path, cursor: str | None, instance: dg.DagsterInstance) -> dg.SensorResult:
    with dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={
            "lakehouse": LakehouseResource(home=str(home)),
            "landing": LocalLandingResource(root=str(home / "landing")),
        },
        definitions=defs,
    ) as context:
        result = landing_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _bronze(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [r for r in result.run_requests if r.job_name == "bronze_load"]


def test_sensor_requests_each_new_hour_once_and_rerequests_late_objects(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    root = tmp_path / "landing"
    base = datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp()
    _land(root, _bronze_key("2026-11-02", "10", "a"), base)
    _land(root, _bronze_key("2026-11-02", "10", "b"), base + 1)
    _land(root, _bronze_key("2026-11-02", "11", "c"), base + 2)
    _land(root, "quarantine/ingest_dt=2026-11-02/hour=11/q.gz", base + 2)

    first = _evaluate(tmp_path, None, instance)
    requested = sorted((r.partition_key, r.job_name) for r in _bronze(first))
    assert requested == [
        ("2026-11-02-10:00", "bronze_load"),
        ("2026-11-02-11:00", "bronze_load"),
    ]

    # a restart resumes from the committed cursor: nothing is requested twice
    again = _evaluate(tmp_path, first.cursor, instance)
    assert _bronze(again) == []

    # a late object for hour 10, written "in the past" within the listing lag, and a new hour
    _land(root, _bronze_key("2026-11-02", "10", "late"), base + 0.5)
    _land(root, _bronze_key("2026-11-02", "12", "d"), base + 3)
    late = _evaluate(tmp_path, again.cursor, instance)
    by_partition = {r.partition_key: r for r in _bronze(late)}
    assert sorted(by_partition) == ["2026-11-02-10:00", "2026-11-02-12:00"]
    earlier_keys = {r.run_key for r in first.run_requests}
    assert by_partition["2026-11-02-10:00"].run_key not in earlier_keys
    assert _bronze(_evaluate(tmp_path, late.cursor, instance)) == []


def test_sensor_observes_what_landed_per_hour(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    base = datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp()
    _land(tmp_path / "landing", _bronze_key("2026-11-02", "10", "a"), base)
    _land(tmp_path / "landing", _bronze_key("2026-11-02", "11", "b"), base + 5)
    first = _evaluate(tmp_path, None, instance)
    [observation] = first.asset_events
    assert observation.asset_key == dg.AssetKey(["landing", "landed_objects"])
    assert observation.metadata["new_objects"].value == 2
    assert observation.metadata["dagster/last_updated_timestamp"].value == base + 5
    assert "2026-11-02 11:00" in observation.metadata["hours"].value
    assert _evaluate(tmp_path, first.cursor, instance).asset_events == [], "nothing new"


def test_sensor_builds_the_segments_once_before_any_feed(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    fresh = _evaluate(tmp_path, None, instance)
    assert [(r.job_name, r.run_key) for r in fresh.run_requests] == [
        ("segments_refresh", "segments:first")
    ]
    instance.report_runless_asset_event(
        dg.AssetMaterialization(dg.AssetKey(["silver", "silver_user_segments"]))
    )
    assert _evaluate(tmp_path, fresh.cursor, instance).run_requests == []


def test_sensor_refreshes_segments_when_the_reference_feed_lands(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    root = tmp_path / "landing"
    _land(root, "reference/user_segments/segments-1.jsonl.gz", 1_790_000_000.0)
    result = _evaluate(tmp_path, None, instance)
    assert [r.job_name for r in result.run_requests] == ["segments_refresh"]
    assert result.run_requests[0].run_key != "segments:first"


# --- in-process runs on a generated lake ------------------------------------------------


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, list]]:
    """Two days of dirty traffic landed, then the whole lake materialised through Dagster:
    one bronze run over every landed hour, the segments, and one run over both event days."""
    home = tmp_path_factory.mktemp("orchestration")
    with home_environment(home):
        settings = Settings(home=home)
        config = TrafficConfig(
            events=6000,
            seed=11,
            start=datetime(2026, 11, 1, tzinfo=UTC),
            days=2,
            late_share=0.03,
            conversion_rate=0.05,
        )
        write_landing(config, landing_store(settings), settings, workers=1)
        instance = dg.DagsterInstance.get()
        lake_defs = build_definitions(settings)
        try:
            outcomes = materialize_lake(
                lake_defs, instance, landed_hours(settings), days=("2026-11-01", "2026-11-02")
            )
            yield settings, lake_defs, outcomes
        finally:
            instance.dispose()


def _contents(settings: Settings, identifier: str) -> tuple[int, str]:
    table = open_catalog(settings).load_table(identifier).scan().to_arrow()
    rows = sorted(repr(sorted(row.items())) for row in table.to_pylist())
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def test_materialising_a_generated_lake_passes_every_check(lake) -> None:
    _, _, outcomes = lake
    assert [outcome.job for outcome in outcomes] == [
        "bronze_load",
        "segments_refresh",
        "lake_refresh",
    ]
    assert all(outcome.success for outcome in outcomes), [o.error for o in outcomes]
    checks = [check for outcome in outcomes for check in outcome.checks]
    assert len(checks) > 50
    assert all(check.passed for check in checks), [c for c in checks if not c.passed]
    names = {check.name for check in checks}
    assert {
        "bronze_expectations",
        "bronze_reconciles_with_landing",
        "silver_events_expectations",
        "fact_funnel_expectations",
    } <= names
    refresh = outcomes[-1]
    assert set(refresh.materialized) >= {"silver/silver_events", "gold/fact_funnel"}
    assert refresh.materialized.count("silver/silver_events") == 2, "both days in one run"
    daily = [
        f"{'gold' if identifier.startswith('mart.') else 'silver'}/{identifier.split('.')[1]}"
        for identifier in LAKE_TABLES
        if identifier != "lake.silver_user_segments"  # the segments job's, not per day
    ]
    assert {key: refresh.materialized.count(key) for key in daily} == dict.fromkeys(daily, 2)


def test_two_day_backfill_in_one_run_equals_a_full_refresh(lake) -> None:
    settings, _, outcomes = lake
    assert all(outcome.success for outcome in outcomes)
    backfilled = {identifier: _contents(settings, identifier) for identifier in LAKE_TABLES}
    assert all(rows > 0 for rows, _ in backfilled.values())
    build_lake(settings, full_refresh=True, capture=True)
    refreshed = {identifier: _contents(settings, identifier) for identifier in LAKE_TABLES}
    assert backfilled == refreshed


def test_maintenance_expires_old_snapshots_of_every_table(lake) -> None:
    settings, lake_defs, _ = lake
    catalog = open_catalog(settings)
    bronze = catalog.load_table("lake.bronze_events")
    assert len(bronze.snapshots()) > 1, "one snapshot per loaded hour"
    job = lake_defs.resolve_job_def("iceberg_maintenance")
    result = job.execute_in_process(
        run_config={
            "ops": {"maintenance__iceberg_maintenance": {"config": {"retention_hours": 0}}}
        },
        instance=dg.DagsterInstance.get(),
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["snapshots_expired"].value > 0
    assert "not supported by the local engine" in metadata["tables"].value
    for namespace in ("lake", "mart"):
        for identifier in catalog.list_tables(namespace):
            assert len(catalog.load_table(identifier).snapshots()) == 1, identifier


def test_an_object_landing_after_its_hours_load_is_left_to_the_next_load(lake) -> None:
    settings, lake_defs, _ = lake
    hour = landed_hours(settings)[-1]
    key = bronze_key(settings, "page_view", hour + timedelta(minutes=59), "after-the-load")
    landing_store(settings).put(key, encode_records([{"event_id": "after-the-load"}]))
    job = dg.define_asset_job(
        "reconciliation_under_test",
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(BRONZE_EVENTS, "bronze_reconciles_with_landing")
        ),
    )
    checked = dg.Definitions.merge(lake_defs, dg.Definitions(jobs=[job]))
    outcome = run_job(
        checked,
        "reconciliation_under_test",
        dg.DagsterInstance.get(),
        tags={"dagster/partition": hour_key(hour)},
    )
    assert [(check.name, check.passed) for check in outcome.checks] == [
        ("bronze_reconciles_with_landing", True)
    ]
    (settings.landing_dir / key).unlink()


def test_a_failing_blocking_check_stops_gold(lake) -> None:
    settings, lake_defs, _ = lake
    silver_events = open_catalog(settings).load_table("lake.silver_events")
    one_row: pa.Table = silver_events.scan(limit=1).to_arrow()
    silver_events.append(one_row)  # a duplicated event_id, forced past dedup

    job = dg.define_asset_job(
        "gate_under_test",
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(SILVER_EVENTS, "silver_events_expectations")
        )
        | dg.AssetSelection.assets(*GOLD_TABLES),
    )
    gated = dg.Definitions.merge(lake_defs, dg.Definitions(jobs=[job]))
    outcome = run_job(
        gated,
        "gate_under_test",
        dg.DagsterInstance.get(),
        tags={
            "dagster/asset_partition_range_start": "2026-11-01",
            "dagster/asset_partition_range_end": "2026-11-02",
        },
    )
    failed = [check for check in outcome.checks if not check.passed]
    assert [check.name for check in failed] == ["silver_events_expectations"]
    assert failed[0].blocking
    assert not outcome.success
    assert not any(key.startswith("gold/") for key in outcome.materialized)


def test_sensor_skips_objects_outside_the_hour_partitions(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    root = tmp_path / "landing"
    _land(root, _bronze_key("2019-01-01", "00", "before-the-first-partition"), 1_790_000_000.0)
    _land(root, _bronze_key("2099-01-01", "00", "from-a-wrong-clock"), 1_790_000_001.0)
    _land(root, "bronze/events_type=page_view/no-hour.gz", 1_790_000_002.0)
    result = _evaluate(tmp_path, None, instance)
    assert _bronze(result) == []
    assert _bronze(_evaluate(tmp_path, result.cursor, instance)) == []
