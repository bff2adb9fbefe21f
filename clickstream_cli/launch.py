"""Materialising the lake through Dagster from code: what the demo and the tests launch.

Each stage is one run of a job of the code location (bronze for the landed hours, the
segments, silver and gold for the event days), executed in this process against the
instance under ``DAGSTER_HOME``, so the runs, materialisations and check results show up in
the UI afterwards exactly as if launched from it. The daemon's sensors record only the runs it
launched, so each run's check results are recorded in ``lake.check_results`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from clickstream_orchestration.check_results import record_run_check_results
from clickstream_orchestration.checks.window import RANGE_END, RANGE_START
from clickstream_orchestration.partitions import event_days_reached, hour_key
from clickstream_orchestration.resources import LakehouseResource


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    blocking: bool
    description: str | None


@dataclass
class StageOutcome:
    job: str
    run_id: str
    success: bool
    materialized: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    error: str | None = None

    @property
    def failed_blocking_checks(self) -> list[CheckOutcome]:
        return [check for check in self.checks if check.blocking and not check.passed]


def run_job(
    defs: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    *,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    log_level: str = "ERROR",
) -> StageOutcome:
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        instance=instance,
        tags=tags or {},
        partition_key=partition_key,
        raise_on_error=False,
    )
    lakehouse = (defs.resources or {}).get("lakehouse")
    if isinstance(lakehouse, LakehouseResource):
        record_run_check_results(instance, result.run_id, lakehouse.settings())
    graph = defs.resolve_asset_graph()
    checks = [
        CheckOutcome(
            asset=evaluation.asset_key.to_user_string(),
            name=evaluation.check_name,
            passed=evaluation.passed,
            blocking=graph.get_check_spec(evaluation.asset_check_key).blocking,
            description=evaluation.description,
        )
        for evaluation in result.get_asset_check_evaluations()
    ]
    failures = [
        event.step_failure_data.error.message.strip().splitlines()[0]
        for event in result.all_events
        if event.is_step_failure and event.event_specific_data and event.step_failure_data.error
    ]
    return StageOutcome(
        job=job_name,
        run_id=result.run_id,
        success=result.success,
        materialized=[
            event.step_materialization_data.materialization.asset_key.to_user_string()
            for event in result.get_asset_materialization_events()
        ],
        checks=checks,
        error="; ".join(failures) or None,
    )


def range_tags(first: str, last: str) -> dict[str, str]:
    return {RANGE_START: first, RANGE_END: last}


def materialize_lake(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    hours: list[datetime],
    *,
    on_stage: Callable[[str], None] | None = None,
    days: tuple[str, str] | None = None,
) -> list[StageOutcome]:
    """Bronze for the ingest hours, then segments, then silver and gold for the event days;
    stops at the first stage that fails."""
    if not hours:
        raise ValueError("nothing has landed: no ingest hour to load")
    first, last = hours[0], hours[-1]
    stages = [
        ("bronze_load", range_tags(hour_key(first), hour_key(last))),
        ("segments_refresh", {}),
        ("lake_refresh", range_tags(*(days or event_days_reached(first.date(), last.date())))),
    ]
    outcomes = []
    for job_name, tags in stages:
        if on_stage is not None:
            on_stage(job_name)
        outcome = run_job(defs, job_name, instance, tags=tags)
        outcomes.append(outcome)
        if not outcome.success:
            break
    return outcomes
