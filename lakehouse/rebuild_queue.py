"""The rebuild queue: the event days whose silver and gold partitions are stale.

The scheduled refresh turns what arrived in bronze (the arrival plan, ``arrivals.py``) into
queued event days, then rebuilds each queued day in a run of its own. A day leaves the queue
only when a run of it succeeds, and only for the requests that run saw: a failed day stays
queued and is retried by the next tick, a day made stale again during its run is rebuilt
again, and a bad day never holds back the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import In

from lakehouse.catalog import open_catalog
from lakehouse.load_ledger import delete_matching
from lakehouse.tables import QUEUE, REBUILD_QUEUE, ensure_table
from lakehouse.transactions import begin
from streaming.contracts.settings import Settings


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def enqueue(
    settings: Settings,
    days: Iterable[date],
    *,
    reason: str,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> None:
    """Mark these event days stale as of ``now``."""
    days = sorted(set(days))
    if not days:
        return
    catalog = catalog or open_catalog(settings)
    requested_at = _utc_naive(now or datetime.now(UTC))
    rows = [{"event_dt": day, "requested_at": requested_at, "reason": reason} for day in days]
    ensure_table(catalog, settings, QUEUE).append(pa.Table.from_pylist(rows, schema=REBUILD_QUEUE))


def queued_days(settings: Settings, catalog: Catalog | None = None) -> dict[date, datetime]:
    """Every stale event day and its newest request (naive UTC)."""
    catalog = catalog or open_catalog(settings)
    table = ensure_table(catalog, settings, QUEUE)
    if table.current_snapshot() is None:
        return {}
    newest: dict[date, datetime] = {}
    for row in table.scan(selected_fields=("event_dt", "requested_at")).to_arrow().to_pylist():
        day, requested_at = row["event_dt"], row["requested_at"]
        newest[day] = max(newest.get(day, requested_at), requested_at)
    return newest


def mark_built(
    settings: Settings,
    days: Iterable[date],
    *,
    requested_up_to: datetime,
    catalog: Catalog | None = None,
) -> int:
    """A run that saw the requests up to ``requested_up_to`` rebuilt these days: those
    requests leave the queue (later ones stay). Returns how many left."""
    days = sorted(set(days))
    catalog = catalog or open_catalog(settings)
    table = ensure_table(catalog, settings, QUEUE)
    if not days or table.current_snapshot() is None:
        return 0
    day_filter = In(term="event_dt", literals={day.isoformat() for day in days})
    rows = table.scan(row_filter=day_filter).to_arrow()
    seen = pc.less_equal(
        rows["requested_at"], pa.scalar(_utc_naive(requested_up_to), pa.timestamp("us"))
    )
    kept = rows.filter(pc.invert(seen))
    if kept.num_rows == rows.num_rows:
        return 0
    with begin(table) as transaction:
        delete_matching(transaction, day_filter)
        if kept.num_rows:
            transaction.append(kept.cast(REBUILD_QUEUE))
    return rows.num_rows - kept.num_rows
