"""Every asset check a run evaluated, recorded in ``lake.check_results`` once the run ends.

The sensors record the runs the daemon launched (from the UI, the sensors and schedules);
runs executed in a process of their own (``clickstream demo``, the tests) are recorded by their
launcher, ``clickstream_cli.launch.run_job``. Both go through ``record_run_check_results``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from clickstream_orchestration.checks.window import PARTITION, RANGE_END, RANGE_START
from clickstream_orchestration.resources import LakehouseResource
from lakehouse.check_results import CheckResult, record_check_results
from streaming.contracts.settings import Settings

FAILED_ROW_COUNT = "dagster_dbt/failed_row_count"
FAILED_EXPECTATIONS = "failed_expectations"
RECORDED_STATUSES = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


def run_partition(tags: Mapping[str, str]) -> str | None:
    """The run's partition (``2026-11-01``), range (``2026-11-01...2026-11-02``) or None."""
    first, last = tags.get(RANGE_START), tags.get(RANGE_END)
    if first is not None and last is not None:
        return first if first == last else f"{first}...{last}"
    return tags.get(PARTITION)


def _metadata_value(metadata: Mapping[str, dg.MetadataValue], name: str) -> object:
    value = metadata.get(name)
    return None if value is None else value.value


def detail(evaluation: dg.AssetCheckEvaluation) -> str | None:
    """The check's description, its failing row count and failed expectations; no metadata
    that may hold row values (samples, previews)."""
    parts = [evaluation.description] if evaluation.description else []
    failing_rows = _metadata_value(evaluation.metadata, FAILED_ROW_COUNT)
    if failing_rows is not None:
        parts.append(f"{failing_rows} failing rows")
    failed = _metadata_value(evaluation.metadata, FAILED_EXPECTATIONS)
    if isinstance(failed, list) and failed:
        parts.append("failed: " + ", ".join(str(name) for name in failed))
    return "; ".join(parts) or None


def run_check_results(instance: dg.DagsterInstance, run_id: str) -> list[CheckResult]:
    """The asset check evaluations of the run, in the order it logged them."""
    run = instance.get_run_by_id(run_id)
    partition = None if run is None else run_partition(run.tags)
    results = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        if entry.dagster_event is None:
            continue
        evaluation = entry.dagster_event.asset_check_evaluation_data
        results.append(
            CheckResult(
                evaluated_at=datetime.fromtimestamp(entry.timestamp, UTC),
                asset_key=evaluation.asset_key.to_user_string(),
                check_name=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                blocking=evaluation.blocking,
                partition=evaluation.partition or partition,
                detail=detail(evaluation),
            )
        )
    return results


def record_run_check_results(instance: dg.DagsterInstance, run_id: str, settings: Settings) -> int:
    """Replace the run's rows of ``lake.check_results``; returns the rows written."""
    run = instance.get_run_by_id(run_id)
    job_name = "" if run is None else run.job_name
    return record_check_results(settings, run_id, job_name, run_check_results(instance, run_id))


def _check_results_sensor(status: dg.DagsterRunStatus) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=f"check_results_on_{status.value.lower()}",
        description=(
            f"Records the asset check evaluations of every run that ends in {status.value} "
            "in lake.check_results (a re-record of a run replaces its rows)."
        ),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def record(context: dg.RunStatusSensorContext, lakehouse: LakehouseResource) -> None:
        run_id = context.dagster_run.run_id
        rows = record_run_check_results(context.instance, run_id, lakehouse.settings())
        if rows:
            context.log.info(f"{rows} check results of run {run_id} recorded")

    return record


CHECK_RESULTS_SENSORS = [_check_results_sensor(status) for status in RECORDED_STATUSES]
