"""Schedules: the hourly arrival-driven silver/gold refresh and the daily Iceberg maintenance.

The refresh is driven by what arrived in bronze since the last successful run (the arrival
manifest, ``lakehouse/arrivals.py``): it rebuilds exactly the event days those arrivals fall
on, however old, and the sessions around them, as one run per layer. The run's partition range
spans those days (with the sessions' day either side), so Dagster records the days it rebuilt.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from clickstream_orchestration.checks.window import RANGE_END, RANGE_START
from clickstream_orchestration.jobs import lake_refresh_job, maintenance_job
from clickstream_orchestration.lakehouse.arrivals import ArrivalPlan, plan_arrivals, record_consumed
from clickstream_orchestration.partitions import ARRIVAL_PLAN, EVENT_DAYS, day_key
from clickstream_orchestration.resources import LakehouseResource
from streaming.settings import get_settings

_ORCHESTRATION = get_settings().orchestration


def partition_range(plan: ArrivalPlan, now: datetime) -> tuple[str, str]:
    """The event-day partitions (first, last) a run of the plan rewrites: its event days and
    the session partitions a day either side, within the partitions that exist."""
    first_partition = EVENT_DAYS.start.date()
    last_partition = max(now.astimezone(UTC).date(), first_partition)  # today's, still filling

    def clamp(day: date) -> date:
        return min(max(day, first_partition), last_partition)

    first = clamp(min(plan.event_days) - timedelta(days=1))
    last = clamp(max(plan.event_days) + timedelta(days=1))
    return day_key(first), day_key(last)


@dg.schedule(
    name="gold_refresh",
    cron_schedule=_ORCHESTRATION.gold_refresh_cron,
    execution_timezone="UTC",
    job=lake_refresh_job,
    description=(
        "Hourly: silver and gold for the event days of everything that arrived in bronze since "
        "the last successful run (any age), in one run over those days."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def gold_refresh(
    context: dg.ScheduleEvaluationContext, lakehouse: LakehouseResource
) -> dg.RunRequest | dg.SkipReason:
    settings, catalog = lakehouse.settings(), lakehouse.catalog()
    plan = plan_arrivals(settings, catalog)
    if plan.empty:
        return dg.SkipReason("nothing arrived in bronze since the last successful run")
    if not plan.event_days:
        # the new loads hold no event (every line rejected): nothing to rebuild
        record_consumed(settings, plan.loads, ledger_sequence=plan.ledger_sequence, catalog=catalog)
        return dg.SkipReason(f"{len(plan.loads)} new bronze load(s) hold no event")
    first, last = partition_range(plan, context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"gold_refresh:{plan.ledger_snapshot}",
        tags={RANGE_START: first, RANGE_END: last, ARRIVAL_PLAN: plan.encode()},
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
