"""Schedules: the hourly silver/gold refresh and the daily Iceberg maintenance.

The refresh rebuilds the event days that can still change: today and the days late events
may still arrive for (``max_lateness_days``), as one dbt run per layer over that range.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg

from clickstream_orchestration.checks.window import RANGE_END, RANGE_START
from clickstream_orchestration.dbt_manifest import max_lateness_days
from clickstream_orchestration.jobs import lake_refresh_job, maintenance_job
from clickstream_orchestration.partitions import EVENT_DAYS, day_key
from streaming.settings import get_settings

_ORCHESTRATION = get_settings().orchestration


def refresh_range(now: datetime) -> tuple[str, str]:
    """The day partitions the refresh at ``now`` rebuilds (first, last)."""
    today = now.date()
    first = max(today - timedelta(days=max_lateness_days()), EVENT_DAYS.start.date())
    return day_key(first), day_key(today)


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
    first, last = refresh_range(context.scheduled_execution_time)
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
