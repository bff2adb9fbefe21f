"""The partitions every time-partitioned asset uses: bronze by ingest hour, dbt models by
event date. Both include the current (still filling) hour or day, so data that lands now can
be loaded now."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from clickstream_orchestration.dbt_manifest import max_lateness_days
from streaming.settings import get_settings

_START = get_settings().orchestration.start_date

INGEST_HOURS = dg.HourlyPartitionsDefinition(
    start_date=_START.strftime("%Y-%m-%d-%H:%M"), timezone="UTC", end_offset=1
)
EVENT_DAYS = dg.DailyPartitionsDefinition(
    start_date=_START.strftime("%Y-%m-%d"), timezone="UTC", end_offset=1
)

ARRIVAL_PLAN = "clickstream/arrival_plan"
"""Run tag of an arrival-driven run: the plan (``ArrivalPlan.encode``) its dbt steps rebuild;
without it a run rebuilds its partition range."""


def hour_key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%d-%H:%M")


def day_key(day: date) -> str:
    return day.strftime("%Y-%m-%d")


def event_days_reached(first_ingest: date, last_ingest: date) -> tuple[str, str]:
    """The day partitions (first, last) whose events can arrive between two ingest dates:
    events arrive up to ``max_lateness_days`` after their event date."""
    first = max(first_ingest - timedelta(days=max_lateness_days()), EVENT_DAYS.start.date())
    return day_key(first), day_key(last_ingest)


def hours_of(window: dg.TimeWindow) -> list[datetime]:
    """The hours of a partition time window, as naive-free aware datetimes in UTC."""
    hours, hour = [], window.start
    while hour < window.end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def days_of(window: dg.TimeWindow) -> tuple[date, date]:
    """First and last event date (both inclusive) of a daily partition time window."""
    return window.start.date(), (window.end - timedelta(days=1)).date()
