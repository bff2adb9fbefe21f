"""The event days a run rebuilds: the one type the dbt vars, the Iceberg rewrite, the gates,
the partition filters and the schedules all use.

Two shapes: a :class:`Window` of consecutive days (Dagster partitions, backfills, the CLI) and
:class:`EventDays` planned from arrivals (the scheduled rebuild of queued days, with the bronze
ingest days that hold their events). ``macros/window.sql`` reads their ``as_vars()`` in dbt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyiceberg.expressions import (
    AlwaysFalse,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    In,
    LessThanOrEqual,
)


@dataclass(frozen=True)
class Window:
    """Consecutive event dates, both ends inclusive."""

    min_date: date
    max_date: date

    def __post_init__(self) -> None:
        if self.min_date > self.max_date:
            raise ValueError(f"window starts {self.min_date} after it ends {self.max_date}")

    @classmethod
    def covering(cls, start: datetime, end: datetime) -> Window:
        """The dates a time span touches, ``end`` exclusive (a Dagster partition time window:
        a day partition, a range of them, or ingest hours)."""
        return cls(start.date(), (end - timedelta(microseconds=1)).date())

    @property
    def event_days(self) -> tuple[date, ...]:
        span = (self.max_date - self.min_date).days + 1
        return tuple(self.min_date + timedelta(days=offset) for offset in range(span))

    def widened(self, days: int) -> Window:
        """``days`` more on each side (sessions cross midnight)."""
        margin = timedelta(days=days)
        return Window(self.min_date - margin, self.max_date + margin)

    def where(self, column: str) -> BooleanExpression:
        """Rows whose date ``column`` falls in the window, as an Iceberg scan filter."""
        return on_days(column, self.event_days)

    def as_vars(self) -> dict[str, str]:
        return {"min_date": self.min_date.isoformat(), "max_date": self.max_date.isoformat()}


@dataclass(frozen=True)
class EventDays:
    """What an arrival-driven run rebuilds: these event dates, read from the bronze rows of
    these ingest dates (see ``lakehouse/arrivals.py``)."""

    event_days: tuple[date, ...]
    ingest_days: tuple[date, ...]

    def as_vars(self) -> dict[str, list[str]]:
        return {
            "event_days": [day.isoformat() for day in sorted(self.event_days)],
            "ingest_days": [day.isoformat() for day in sorted(self.ingest_days)],
        }


Rebuild = Window | EventDays
"""The event days a run rebuilds; None (where accepted) means a full build."""


@dataclass(frozen=True)
class Rewrite:
    """The partitions a write replaces: the ``days`` of the date ``column`` (``rewrite_spec``
    in ``macros/window.sql`` names them for each model)."""

    column: str
    days: tuple[date, ...]

    def where(self) -> BooleanExpression:
        return on_days(self.column, self.days)


def on_days(column: str, days: Iterable[date]) -> BooleanExpression:
    """Rows whose date ``column`` is one of ``days`` (none: no row); a run of consecutive days
    is a range, so a long window stays a two-sided filter."""
    ordered = sorted(set(days))
    if not ordered:
        return AlwaysFalse()
    first, last = ordered[0], ordered[-1]
    if len(ordered) == 1:
        return EqualTo(term=column, value=first.isoformat())
    if (last - first).days + 1 == len(ordered):
        return And(
            GreaterThanOrEqual(term=column, value=first.isoformat()),
            LessThanOrEqual(term=column, value=last.isoformat()),
        )
    return In(term=column, literals={day.isoformat() for day in ordered})
