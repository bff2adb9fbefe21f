"""Schedules: the silver/gold refresh of stale event days and the daily Iceberg maintenance.

Each tick of the refresh turns what arrived in bronze since the last tick (the arrival plan,
``lakehouse/arrivals.py``) into queued event days, however old (``lakehouse/rebuild_queue.py``),
then requests one run per queued day that no run is rebuilding yet. A day leaves the queue once
a run of it has succeeded (every gate passed; the next tick reads Dagster's run records), so a
day whose run failed is retried by the next tick, and a bad day blocks only its own gold.
Runs of the lake queue one at a time (the ``clickstream/writes`` tag).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg

from clickstream_orchestration.checks.window import PARTITION, RANGE_END, RANGE_START
from clickstream_orchestration.jobs import (
    SILVER_USER_SEGMENTS,
    iceberg_maintenance_job,
    lake_refresh_job,
)
from clickstream_orchestration.partitions import EVENT_DAYS, REBUILD, REQUESTED_UP_TO, day_key
from clickstream_orchestration.resources import LakehouseResource
from lakehouse.arrivals import (
    decode_rebuild,
    encode_days,
    encode_rebuild,
    ingest_days_holding,
    plan_arrivals,
    record_consumed,
)
from lakehouse.rebuild_queue import enqueue, mark_built, queued_days
from lakehouse.window import EventDays, Window
from streaming.contracts.settings import get_settings

_ORCHESTRATION = get_settings().orchestration
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def days_in_flight(instance: dg.DagsterInstance) -> set[str]:
    """Event-day partitions a queued or running lake refresh is rebuilding."""
    records = instance.get_run_records(
        dg.RunsFilter(job_name=lake_refresh_job.name, statuses=IN_FLIGHT)
    )
    return {
        key
        for record in records
        if (key := record.dagster_run.tags.get("dagster/partition")) is not None
    }


def rebuilt_days(
    instance: dg.DagsterInstance, since: datetime
) -> list[tuple[tuple[date, ...], datetime]]:
    """What the refresh runs that succeeded since ``since`` rebuilt: their event days, and
    the newest request each saw (a run without the tag: those made before it was created)."""
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=lake_refresh_job.name,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            updated_after=since,
        )
    )
    rebuilt = []
    for record in records:
        tags = record.dagster_run.tags
        if REBUILD in tags:
            days = decode_rebuild(tags[REBUILD]).event_days
        else:
            first = tags.get(RANGE_START) or tags.get(PARTITION)
            last = tags.get(RANGE_END) or tags.get(PARTITION)
            if first is None or last is None:
                continue
            days = Window(date.fromisoformat(first), date.fromisoformat(last)).event_days
        requested = tags.get(REQUESTED_UP_TO)
        up_to = datetime.fromisoformat(requested) if requested else record.create_timestamp
        rebuilt.append((days, up_to))
    return rebuilt


def rebuild_requests(
    queued: dict[date, datetime],
    ingest_days: dict[date, tuple[date, ...]],
    in_flight: set[str],
    tick: datetime,
) -> tuple[list[dg.RunRequest], list[date]]:
    """One run request per queued day (newest first, so today's gold comes first), none for a
    day already being rebuilt; and the queued days outside the event-day partitions."""
    requests, outside = [], []
    for day in sorted(queued, reverse=True):
        key = day_key(day)
        if not EVENT_DAYS.has_partition_key(key):
            outside.append(day)
            continue
        if key in in_flight:
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"{key}@{tick:%Y-%m-%dT%H:%M}",
                partition_key=key,
                tags={
                    REBUILD: encode_rebuild(EventDays((day,), ingest_days.get(day, ()))),
                    REQUESTED_UP_TO: queued[day].isoformat(),
                },
            )
        )
    return requests, sorted(outside)


@dg.schedule(
    name="lake_refresh_schedule",
    cron_schedule=_ORCHESTRATION.lake_refresh_cron,
    execution_timezone="UTC",
    job=lake_refresh_job,
    description=(
        "Silver and gold for every stale event day: the days of what arrived in bronze since "
        "the last tick (any age) and the days whose last rebuild failed, one run per day."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def lake_refresh_schedule(
    context: dg.ScheduleEvaluationContext, lakehouse: LakehouseResource
) -> dg.SkipReason | list[dg.RunRequest]:
    if context.instance.get_latest_materialization_event(SILVER_USER_SEGMENTS) is None:
        return dg.SkipReason(
            "waiting for the first segments build (the landing sensor requests it)"
        )
    settings, catalog = lakehouse.settings(), lakehouse.catalog()
    plan = plan_arrivals(settings, catalog)
    if plan.event_days:
        enqueue(settings, plan.event_days, reason="arrivals", catalog=catalog)
    if not plan.empty:
        # the arrivals now live on as queued days: queued first, so a crash between the two
        # plans them again rather than losing them
        record_consumed(settings, plan.loads, ledger_sequence=plan.ledger_sequence, catalog=catalog)
    queued = queued_days(settings, catalog)
    if queued:
        # a day leaves the queue once a run rebuilding it succeeded, every gate included
        oldest = min(queued.values()).replace(tzinfo=UTC)
        for days, up_to in rebuilt_days(context.instance, oldest):
            mark_built(settings, days, requested_up_to=up_to, catalog=catalog)
        queued = queued_days(settings, catalog)
    if not queued:
        return dg.SkipReason("no stale event day: nothing arrived since the last tick")
    context.log.info(f"stale event days (queued for a rebuild): {encode_days(queued)}")
    ingest_days = ingest_days_holding(settings, queued, catalog)
    tick = context.scheduled_execution_time or datetime.now().astimezone()
    requests, outside = rebuild_requests(
        queued, ingest_days, days_in_flight(context.instance), tick
    )
    if outside:
        context.log.warning(
            f"{len(outside)} stale event day(s) precede the first event-day partition "
            f"({EVENT_DAYS.start:%Y-%m-%d}), e.g. {outside[0]}: set "
            "CLICKSTREAM_ORCHESTRATION__START_DATE earlier and reload the code location"
        )
    if not requests:
        return dg.SkipReason(f"{len(queued)} stale day(s), each already being rebuilt")
    return requests


daily_iceberg_maintenance = dg.ScheduleDefinition(
    name="daily_iceberg_maintenance",
    cron_schedule=_ORCHESTRATION.maintenance_cron,
    execution_timezone="UTC",
    job=iceberg_maintenance_job,
    description="Daily: expire old Iceberg snapshots (and compact where the engine can).",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

SCHEDULES = [lake_refresh_schedule, daily_iceberg_maintenance]
