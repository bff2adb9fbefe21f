"""Schedules: the hourly silver/gold refresh and the daily Iceberg maintenance.

The refresh rebuilds the event days that can still change: today and the days late events
may still arrive for (``max_lateness_days``), as one dbt run per layer over that range.
"""

from __future__ import annotations

import dagster as dg

from clickstream_orchestration.checks.window import RANGE_END, RANGE_START
from clickstream_orchestration.jobs import lake_refresh_job, maintenance_job
from clickstream_orchestration.partitions import event_days_reached
from streaming.settings import get_settings

_ORCHESTRATION = get_settings().orchestration


@dg.schedule(
    name="gold_refresh",
    cron_schedule=_ORCHESTRATION.gold_refresh_cron,
    execution_timezone="UTC",
    job=lake_refresh_job,
    description=(
        "Hourly: silver and gold for today and the days late events can still reach, in one "
        "run over that day range."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def gold_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    today = context.scheduled_execution_time.date()
    first, last = event_days_reached(today, today)
    return dg.RunRequest(
        run_key=f"gold_refresh:{context.scheduled_execution_time:%Y-%m-%dT%H}",
        tags={RANGE_START: first, RANGE_END: last},
    )


maintenance_schedule = dg.ScheduleDefinition(
    name="daily_iceberg_maintenance",
    cron_schedule=_ORCHESTRATION.maintenance_cron,
    execution_timezone="UTC",
    job=maintenance_job,
    description="Daily: expire old Iceberg snapshots (and compact where the engine can).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

SCHEDULES = [gold_refresh, maintenance_schedule]
