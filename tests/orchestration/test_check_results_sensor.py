"""Every asset check a run evaluated lands in ``lake.check_results``: through the sensors for
the runs the daemon launched, through ``run_job`` for the runs executed in process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from clickstream_cli.launch import run_job
from clickstream_orchestration.check_results import (
    CHECK_RESULTS_SENSORS,
    record_run_check_results,
    run_partition,
)
from clickstream_orchestration.definitions import defs
from clickstream_orchestration.resources import LakehouseResource
from lakehouse.catalog import open_catalog
from streaming.contracts.settings import Settings

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-01", end_offset=1)
USER_HASH = "sha256:" + "a" * 64


@dg.asset(key=["gold", "tiny_fact"], partitions_def=DAYS)
def tiny_fact() -> None:
    return None


@dg.asset_check(asset=tiny_fact, blocking=True, description="ids present")
def ids_present() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, description="3/3 expectations met on 40 rows")


@dg.asset_check(asset=tiny_fact, description="payouts not negative")
def payouts_not_negative() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "dagster_dbt/failed_row_count": 2,
            "failed_expectations": ["expect_column_values_to_be_between(payout_cents)"],
            "samples": dg.MetadataValue.md(f"| user_id_hash |\n|---|\n| {USER_HASH} |"),
        },
    )


@dg.asset_check(asset=tiny_fact, blocking=True)
def never_empty() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="0 rows")


checked_job = dg.define_asset_job(
    "tiny_checked",
    selection=dg.AssetSelection.assets(tiny_fact).without_checks()
    | dg.AssetSelection.checks(ids_present, payouts_not_negative),
)
blocked_job = dg.define_asset_job(
    "tiny_blocked",
    selection=dg.AssetSelection.assets(tiny_fact).without_checks()
    | dg.AssetSelection.checks(never_empty),
)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as ephemeral:
        yield ephemeral


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _definitions(home: Path) -> dg.Definitions:
    return dg.Definitions(
        assets=[tiny_fact],
        asset_checks=[ids_present, payouts_not_negative, never_empty],
        jobs=[checked_job, blocked_job],
        resources={"lakehouse": LakehouseResource(home=str(home))},
    )


def _run(home: Path, instance: dg.DagsterInstance, job: str) -> dg.ExecuteInProcessResult:
    return (
        _definitions(home)
        .resolve_job_def(job)
        .execute_in_process(instance=instance, partition_key="2026-11-01", raise_on_error=False)
    )


def _rows(home: Path) -> list[dict[str, object]]:
    table = open_catalog(Settings(home=home)).load_table("lake.check_results")
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda row: str(row["check_name"]))


def test_the_sensors_are_in_the_code_location_and_run_by_default() -> None:
    names = {sensor.name for sensor in defs.sensors or []}
    assert {sensor.name for sensor in CHECK_RESULTS_SENSORS} <= names
    assert {sensor.name for sensor in CHECK_RESULTS_SENSORS} == {
        "check_results_on_success",
        "check_results_on_failure",
        "check_results_on_canceled",
    }
    assert all(
        sensor.default_status == dg.DefaultSensorStatus.RUNNING for sensor in CHECK_RESULTS_SENSORS
    )


def test_a_runs_evaluations_become_one_row_each(home: Path, instance: dg.DagsterInstance) -> None:
    result = _run(home, instance, "tiny_checked")
    assert result.success
    assert record_run_check_results(instance, result.run_id, Settings(home=home)) == 2
    passing, failing = _rows(home)
    assert passing["check_name"] == "ids_present"
    assert (passing["passed"], passing["severity"], passing["blocking"]) == (True, "ERROR", True)
    assert passing["detail"] == "3/3 expectations met on 40 rows"
    assert failing["check_name"] == "payouts_not_negative"
    assert (failing["passed"], failing["severity"], failing["blocking"]) == (False, "WARN", False)
    assert failing["detail"] == (
        "2 failing rows; failed: expect_column_values_to_be_between(payout_cents)"
    )
    for row in (passing, failing):
        assert row["run_id"] == result.run_id
        assert row["job_name"] == "tiny_checked"
        assert row["asset_key"] == "gold/tiny_fact"
        assert row["partition"] == "2026-11-01"
        assert isinstance(row["evaluated_at"], datetime)
        assert row["evaluated_dt"] == row["evaluated_at"].date()
    assert USER_HASH not in repr(_rows(home)), "no metadata that may hold row values"


def test_the_sensor_of_each_outcome_records_its_runs(
    home: Path, instance: dg.DagsterInstance
) -> None:
    sensors = {sensor.name: sensor for sensor in CHECK_RESULTS_SENSORS}
    resources = {"lakehouse": LakehouseResource(home=str(home))}
    cursors: dict[str, str | None] = {}
    for name, sensor in sensors.items():  # a sensor's first tick starts from the newest event
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            sensor.evaluate_tick(context)
            cursors[name] = context.cursor

    passed = _run(home, instance, "tiny_checked")
    blocked = _run(home, instance, "tiny_blocked")
    assert passed.success
    assert not blocked.success
    for name, sensor in sensors.items():
        with dg.build_sensor_context(
            instance=instance, resources=resources, cursor=cursors[name]
        ) as context:
            sensor.evaluate_tick(context)

    rows = _rows(home)
    assert sorted((row["job_name"], row["check_name"], row["passed"]) for row in rows) == [
        ("tiny_blocked", "never_empty", False),
        ("tiny_checked", "ids_present", True),
        ("tiny_checked", "payouts_not_negative", False),
    ]
    assert {row["run_id"] for row in rows} == {passed.run_id, blocked.run_id}


def test_a_run_launched_in_process_is_recorded_by_its_launcher(
    home: Path, instance: dg.DagsterInstance
) -> None:
    outcome = run_job(_definitions(home), "tiny_checked", instance, partition_key="2026-11-01")
    assert outcome.success
    assert sorted((check.name, check.passed) for check in outcome.checks) == [
        ("ids_present", True),
        ("payouts_not_negative", False),
    ]
    rows = _rows(home)
    assert [(row["check_name"], row["passed"]) for row in rows] == [
        ("ids_present", True),
        ("payouts_not_negative", False),
    ]
    assert {row["run_id"] for row in rows} == {outcome.run_id}


def test_the_partition_is_the_runs_partition_or_range() -> None:
    assert run_partition({"dagster/partition": "2026-11-01"}) == "2026-11-01"
    range_tags = {
        "dagster/asset_partition_range_start": "2026-11-01",
        "dagster/asset_partition_range_end": "2026-11-02",
    }
    assert run_partition(range_tags) == "2026-11-01...2026-11-02"
    assert run_partition({}) is None
