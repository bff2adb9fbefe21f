"""The partitions every time-partitioned asset uses: bronze by ingest hour, dbt models by
event date. Both include the current (still filling) hour or day, so data that lands now can
be loaded now.

They start where the data does: at ``orchestration.start_date`` when set, else at the first
ingest date in the landing store (today on an empty one), when the code location loads. Event
days start ``max_lateness_days`` earlier, for the events that arrived late on the first day."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from lakehouse.dbt_invocation import max_lateness_days
from streaming.contracts.landing import first_ingest_day, landing_store
from streaming.contracts.settings import Settings, get_settings


def first_day(settings: Settings) -> date:
    """The first ingest day of the partitions (see the module's docstring)."""
    if settings.orchestration.start_date is not None:
        return settings.orchestration.start_date
    try:
        landed = first_ingest_day(settings, landing_store(settings))
    except Exception as error:  # an unreachable bucket must not stop the code location
        logging.getLogger(__name__).warning(f"landing store not listed ({error}): start today")
        landed = None
    return landed or datetime.now(UTC).date()


_FIRST_DAY = first_day(get_settings())
INGEST_HOURS = dg.HourlyPartitionsDefinition(
    start_date=_FIRST_DAY.strftime("%Y-%m-%d-%H:%M"), timezone="UTC", end_offset=1
)
EVENT_DAYS = dg.DailyPartitionsDefinition(
    start_date=(_FIRST_DAY - timedelta(days=max_lateness_days())).strftime("%Y-%m-%d"),
    timezone="UTC",
    end_offset=1,
)

REBUILD = "clickstream/rebuild"
"""Run tag of a scheduled rebuild of a queued event day: the day and the bronze ingest days
holding its events (``arrivals.encode_rebuild``); without it a run rebuilds its partition
range, reading bronze from ``early_arrival_days`` before it on."""
REQUESTED_UP_TO = "clickstream/requested_up_to"
"""Run tag: the newest rebuild request of the run's days it was planned from; a success
removes those requests from the queue (``lakehouse/rebuild_queue.py``)."""
WRITES = "clickstream/writes"
"""Run tag naming what a run writes; the instance runs one run per value at a time."""


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
