"""Real-time counts against the batch tables, per closed event hour.

Both sides count **distinct events by event time** (``ts``, UTC): the real-time ``rt.events``
(one row per ``event_id``) and the batch ``lake.silver_events`` (deduplicated the same way).
They are fed by the same stream, so after dedup they hold the same events — except for events
one side has not seen (yet). Each side's events of an hour are therefore split by when they
*arrived* (``ingest_ts``, the ingest's acceptance time):

- **before the real-time horizon**: older than the consumer's retention, or from before it
  first read the stream (e.g. days landed by ``clickstream generate --landing``, which bypass
  the stream). Only batch can have them.
- **after the batch cutoff**: accepted after the newest event the batch loaded (late events
  and recent traffic that delivery has not landed, or the lake not loaded, yet). Only the
  real-time side can have them.
- **compared**: everything in between, which must be equal on both sides.

Consent-off events are stored nowhere, and quarantined (invalid) events never reach the stream,
so neither side ever counts them. An hour is *closed* once its end is at or before the cutoff;
open hours are reported but not judged. The difference of the compared counts must be within
the tolerance: at most ``max(absolute, relative * batch compared)`` events per hour (default 0
and 0.1 %: equal, but for a handful of events in a very large hour).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from streaming.contracts.settings import Settings
from streaming.realtime.store import open_realtime, published_path

HORIZON_MARGIN = timedelta(minutes=1)
"""Events arriving this close to the real-time horizon are not compared (purge races)."""


@dataclass(frozen=True)
class Tolerance:
    absolute: int = 0
    relative: float = 0.001

    def allowed(self, batch_events: int) -> int:
        return max(self.absolute, int(self.relative * batch_events))


@dataclass(frozen=True)
class HourCounts:
    """Distinct events of one event hour on one side, split by arrival."""

    before_horizon: int = 0
    compared: int = 0
    after_cutoff: int = 0

    @property
    def total(self) -> int:
        return self.before_horizon + self.compared + self.after_cutoff


@dataclass(frozen=True)
class HourReconciliation:
    hour: datetime
    closed: bool
    rt_events: int
    batch_events: int
    compared_rt: int
    compared_batch: int
    not_yet_in_batch: int
    """Real-time events that arrived after the batch cutoff (late or not yet loaded)."""
    outside_rt: int
    """Batch events that arrived before the real-time horizon."""
    unexplained: int
    """compared_rt - compared_batch."""
    allowed: int
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "hour": self.hour.strftime("%Y-%m-%dT%H:00Z"),
            "closed": self.closed,
            "rt_events": self.rt_events,
            "batch_events": self.batch_events,
            "not_yet_in_batch": self.not_yet_in_batch,
            "outside_rt": self.outside_rt,
            "unexplained": self.unexplained,
            "allowed": self.allowed,
            "passed": self.passed,
        }


@dataclass
class ReconciliationResult:
    passed: bool
    hours: list[HourReconciliation]
    tolerance: Tolerance
    cutoff: datetime | None = None
    horizon: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failing(self) -> list[HourReconciliation]:
        return [hour for hour in self.hours if not hour.passed]

    @property
    def description(self) -> str:
        if not self.hours and self.notes:
            return "; ".join(self.notes)
        closed = [hour for hour in self.hours if hour.closed]
        compared = sum(hour.compared_batch for hour in closed)
        if self.passed:
            text = f"{len(closed)} closed hour(s) reconciled: {compared:,} events equal after dedup"
        else:
            worst = max(self.failing, key=lambda hour: abs(hour.unexplained))
            text = (
                f"{len(self.failing)} of {len(closed)} closed hour(s) differ beyond the "
                f"tolerance; worst {worst.hour:%Y-%m-%d %H}:00 UTC: real time "
                f"{worst.compared_rt:,} vs batch {worst.compared_batch:,} "
                f"({worst.unexplained:+,}, allowed ±{worst.allowed:,})"
            )
        explained = sum(hour.not_yet_in_batch for hour in self.hours)
        outside = sum(hour.outside_rt for hour in self.hours)
        return (
            f"{text}; explained: {explained:,} real-time events not yet in batch (late or "
            f"not loaded), {outside:,} batch events outside the real-time window"
        )

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for an asset check's metadata."""
        return {
            "passed": self.passed,
            "description": self.description,
            "tolerance": {"absolute": self.tolerance.absolute, "relative": self.tolerance.relative},
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "horizon": self.horizon.isoformat() if self.horizon else None,
            "closed_hours": sum(hour.closed for hour in self.hours),
            "failing_hours": [hour.as_dict() for hour in self.failing],
            "hours": [hour.as_dict() for hour in self.hours],
            "notes": list(self.notes),
        }


def reconcile(
    rt_counts: Mapping[datetime, HourCounts],
    batch_counts: Mapping[datetime, HourCounts],
    tolerance: Tolerance | None = None,
    *,
    cutoff: datetime | None = None,
    horizon: datetime | None = None,
) -> ReconciliationResult:
    """Judge every closed hour (end at or before ``cutoff``; all hours without a cutoff)."""
    tolerance = tolerance or Tolerance()
    hours: list[HourReconciliation] = []
    for hour in sorted(set(rt_counts) | set(batch_counts)):
        rt = rt_counts.get(hour, HourCounts())
        batch = batch_counts.get(hour, HourCounts())
        closed = cutoff is None or hour + timedelta(hours=1) <= cutoff
        allowed = tolerance.allowed(batch.compared)
        unexplained = rt.compared - batch.compared
        hours.append(
            HourReconciliation(
                hour=hour,
                closed=closed,
                rt_events=rt.total,
                batch_events=batch.total,
                compared_rt=rt.compared,
                compared_batch=batch.compared,
                not_yet_in_batch=rt.after_cutoff,
                outside_rt=batch.before_horizon,
                unexplained=unexplained,
                allowed=allowed,
                passed=not closed or abs(unexplained) <= allowed,
            )
        )
    return ReconciliationResult(
        passed=all(hour.passed for hour in hours),
        hours=hours,
        tolerance=tolerance,
        cutoff=cutoff,
        horizon=horizon,
    )


# --- reading the counts --------------------------------------------------------------------------

_COUNTS = """
    SELECT date_trunc('hour', ts) AS hour,
           count(*) FILTER (WHERE ingest_ts < $horizon) AS before_horizon,
           count(*) FILTER (WHERE ingest_ts >= $horizon AND ingest_ts <= $cutoff) AS compared,
           count(*) FILTER (WHERE ingest_ts > $cutoff) AS after_cutoff
    FROM {relation}
    WHERE ts IS NOT NULL
    GROUP BY 1
"""


def _millis(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)


def hour_counts(
    conn: duckdb.DuckDBPyConnection, relation: str, *, cutoff: datetime, horizon: datetime
) -> dict[datetime, HourCounts]:
    """Distinct-event counts per event hour of ``relation`` (``ts``, ``ingest_ts`` columns)."""
    rows = conn.execute(
        _COUNTS.format(relation=relation),
        {"cutoff": _millis(cutoff), "horizon": _millis(horizon)},
    ).fetchall()
    counts: dict[datetime, HourCounts] = {}
    for moment, before, compared, after in rows:
        # a timestamptz column gives aware hours: keys are naive UTC on both sides
        hour = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
        counts[hour] = HourCounts(int(before), int(compared), int(after))
    return counts


def batch_cutoff(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """Acceptance time of the newest event the batch has loaded (``lake.bronze_events``)."""
    try:
        row = conn.execute("SELECT max(ingest_ts) FROM lake.bronze_events").fetchone()
    except duckdb.CatalogException:  # no lake loaded yet
        return None
    return None if row is None or row[0] is None else _from_millis(int(row[0]))


def realtime_horizon(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """Since when the real-time side holds every event: its first event or its purge horizon."""
    first = conn.execute("SELECT min(ingest_ts) FROM rt.events").fetchone()
    if first is None or first[0] is None:
        return None
    horizon = _from_millis(int(first[0]))
    purged = conn.execute("SELECT value FROM rt._meta WHERE key = 'horizon'").fetchone()
    if purged is not None and purged[0]:
        horizon = max(horizon, datetime.fromisoformat(purged[0]) + HORIZON_MARGIN)
    return horizon


def reconcile_lake(
    settings: Settings,
    lake: duckdb.DuckDBPyConnection | None = None,
    *,
    tolerance: Tolerance | None = None,
    cutoff: datetime | None = None,
) -> ReconciliationResult:
    """Reconcile the local ``rt.*`` marts with ``lake.silver_events``.

    ``lake`` is a DuckDB connection with the lake's views (``engine.connect(settings,
    catalog)``); without it one is opened. ``cutoff`` (naive UTC) overrides the batch cutoff.
    """
    owned = lake is None
    if lake is None:
        from lakehouse.catalog import open_catalog
        from lakehouse.engine import connect

        lake = connect(settings, open_catalog(settings))
    try:
        cutoff = cutoff or batch_cutoff(lake)
        if not published_path(settings).is_symlink():
            result = reconcile({}, {}, tolerance)
            result.notes.append(
                "nothing to compare: the real-time marts were never published "
                "(`clickstream rt consume` has not run in this home)"
            )
            return result
        with open_realtime(settings) as rt:
            horizon = realtime_horizon(rt)
            if cutoff is None or horizon is None:
                result = reconcile({}, {}, tolerance)
                result.notes.append(
                    "nothing to compare: "
                    + ("the batch has loaded no events" if cutoff is None else "")
                    + (" and " if cutoff is None and horizon is None else "")
                    + ("the real-time marts hold no events" if horizon is None else "")
                )
                return result
            rt_counts = hour_counts(rt, "rt.events", cutoff=cutoff, horizon=horizon)
        batch_counts = hour_counts(lake, "lake.silver_events", cutoff=cutoff, horizon=horizon)
    finally:
        if owned:
            lake.close()
    return reconcile(rt_counts, batch_counts, tolerance, cutoff=cutoff, horizon=horizon)
