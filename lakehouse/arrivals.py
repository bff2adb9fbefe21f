"""Process by arrival, recompute by event: what an incremental run rebuilds.

Like Snowplow's incremental manifest, two small Iceberg tables drive the scheduled run:

* ``lake.bronze_arrivals`` (the arrival index): for every loaded ingest hour, how many bronze
  rows fall on each event date, and which load of the hour (its newest ledger ``loaded_at``)
  the counts describe. An hour whose load changed since it was indexed is indexed again from
  bronze, a whole ingest day at a time.
* ``lake.incremental_manifest``: for every ingest hour, the load of it last consumed.

The plan compares the load ledger with the manifest: the hours whose load is not the one
consumed are what arrived since they were last planned. The event dates their rows fall on
(before and after the new load, so rows a reload removed count too) are the event days to
rebuild, however old; the index names the ingest days holding events of those days, the only
bronze the run reads. dbt then rewrites exactly those event-day partitions and the session
partitions one day either side (a session is recomputed whole). The cost follows the days the
arrivals touch, not the history. The refresh schedule records the planned loads as consumed
once it has queued their event days in ``lake.rebuild_queue`` (``rebuild_queue.py``), where a
day stays until a run of it succeeds; ``build_arrivals`` records them after its build.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import BooleanExpression, In, StartsWith
from pyiceberg.table import Table

from lakehouse.catalog import open_catalog
from lakehouse.load_ledger import delete_matching
from lakehouse.tables import (
    ARRIVALS,
    BRONZE,
    BRONZE_ARRIVALS,
    BRONZE_LEDGER,
    INCREMENTAL_MANIFEST,
    LEDGER,
    MANIFEST,
    ensure_table,
)
from lakehouse.transactions import begin
from lakehouse.window import EventDays
from streaming.contracts.settings import Settings

Hour = tuple[date, str]
"""An ingest hour: (ingest_dt, two-digit hour)."""


@dataclass(frozen=True)
class ArrivalPlan:
    """What the next incremental run rebuilds, planned against one snapshot of the ledger."""

    ledger_snapshot: int | None
    loads: dict[Hour, datetime] = field(default_factory=dict)
    """The hours that arrived since they were last consumed, with the load to consume."""
    event_days: tuple[date, ...] = ()
    ingest_days: tuple[date, ...] = ()
    ledger_sequence: int | None = None
    """The ledger snapshot's sequence number, recorded with the consumed loads."""

    @property
    def empty(self) -> bool:
        return not self.loads

    def rebuild(self) -> EventDays:
        return EventDays(self.event_days, self.ingest_days)


def encode_rebuild(rebuild: EventDays) -> str:
    """A rebuild as run-tag text: its event days and ingest days, as ranges."""
    return json.dumps(
        {
            "event_days": encode_days(rebuild.event_days),
            "ingest_days": encode_days(rebuild.ingest_days),
        },
        separators=(",", ":"),
    )


def decode_rebuild(text: str) -> EventDays:
    data = json.loads(text)
    return EventDays(decode_days(data["event_days"]), decode_days(data["ingest_days"]))


def encode_days(days: Iterable[date]) -> str:
    """Sorted days as comma-separated ranges: '2026-10-11,2026-11-19..2026-11-20'."""
    ranges: list[list[date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][1]).days == 1:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return ",".join(
        first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
        for first, last in ranges
    )


def decode_days(text: str) -> tuple[date, ...]:
    days: list[date] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("..")
        start, end = date.fromisoformat(first), date.fromisoformat(last or first)
        days += [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    return tuple(days)


def plan_arrivals(
    settings: Settings, catalog: Catalog | None = None, ledger_snapshot: int | None = None
) -> ArrivalPlan:
    """The hours loaded since they were last consumed (as of ``ledger_snapshot``, default the
    ledger's current snapshot) and the event days and ingest days they touch. Indexes any
    hour whose load the arrival index does not describe yet."""
    catalog = catalog or open_catalog(settings)
    ledger = ensure_table(catalog, settings, LEDGER)
    if ledger_snapshot is None:
        snapshot = ledger.current_snapshot()
        ledger_snapshot = snapshot.snapshot_id if snapshot else None
    consumed, consumed_sequence = consumed_loads(catalog, settings)
    prefix = settings.landing_bronze_prefix + "/"
    loads = hour_loads(ledger, prefix, ledger_snapshot, after_sequence=consumed_sequence)
    arrivals = ensure_table(catalog, settings, ARRIVALS)
    before = index_arrivals(settings, loads, catalog=catalog)
    pending = {hour: load for hour, load in loads.items() if consumed.get(hour) != load}
    sequence = ledger_sequence(ledger, ledger_snapshot)
    if not pending:
        return ArrivalPlan(ledger_snapshot, ledger_sequence=sequence)

    pending_days = sorted({hour[0] for hour in pending})
    after = _scan(arrivals.refresh(), In(term="ingest_dt", literals=_iso(pending_days)))
    event_days = _event_days(before, pending) | _event_days(after, pending)
    holding = (
        _scan(arrivals, In(term="event_dt", literals=_iso(event_days))) if event_days else after
    )
    ingest_days = set(holding["ingest_dt"].to_pylist())
    return ArrivalPlan(
        ledger_snapshot,
        pending,
        tuple(sorted(event_days)),
        tuple(sorted(ingest_days)),
        ledger_sequence=sequence,
    )


def ingest_days_holding(
    settings: Settings, event_days: Iterable[date], catalog: Catalog | None = None
) -> dict[date, tuple[date, ...]]:
    """For each event day, the bronze ingest days holding its events, as the index says (one
    scan for all of them): the only bronze a rebuild of that day reads."""
    event_days = sorted(set(event_days))
    if not event_days:
        return {}
    catalog = catalog or open_catalog(settings)
    arrivals = ensure_table(catalog, settings, ARRIVALS)
    holding = _scan(arrivals, In(term="event_dt", literals=_iso(event_days)))
    by_day: dict[date, set[date]] = {day: set() for day in event_days}
    for row in holding.select(["event_dt", "ingest_dt"]).to_pylist():
        by_day[row["event_dt"]].add(row["ingest_dt"])
    return {day: tuple(sorted(days)) for day, days in by_day.items()}


def index_arrivals(
    settings: Settings, loads: dict[Hour, datetime], *, catalog: Catalog | None = None
) -> pa.Table:
    """Index again the ingest days of every hour whose load the index does not describe yet;
    returns the index rows of those loads' days as they were before."""
    catalog = catalog or open_catalog(settings)
    arrivals = ensure_table(catalog, settings, ARRIVALS)
    days = sorted({hour[0] for hour in loads})
    before = _scan(arrivals, In(term="ingest_dt", literals=_iso(days or [date.min])))
    indexed = _indexed_loads(before)
    stale_days = {hour[0] for hour, load in loads.items() if indexed.get(hour) != load}
    if stale_days:
        known = indexed | loads
        _index_days(catalog, settings, arrivals, sorted(stale_days), known)
    return before


def hour_loads(
    ledger: Table, prefix: str, snapshot_id: int | None, *, after_sequence: int | None = None
) -> dict[Hour, datetime]:
    """Each loaded ingest hour's newest load (ledger ``loaded_at``) of objects under ``prefix``,
    as of the ledger snapshot. With ``after_sequence``, only the ledger files committed after
    that sequence number are read (the hours loaded since), so planning does not grow with the
    history: every file at or below it was visible to a run that succeeded."""
    if snapshot_id is None:
        return {}
    columns = ["object_key", "ingest_dt", "hour", "loaded_at"]
    if after_sequence is None:
        rows = ledger.scan(
            row_filter=StartsWith(term="object_key", value=prefix),
            selected_fields=tuple(columns),
            snapshot_id=snapshot_id,
        ).to_arrow()
    else:
        snapshot = ledger.snapshot_by_id(snapshot_id)
        paths = [
            entry.data_file.file_path
            for manifest in (snapshot.manifests(ledger.io) if snapshot else [])
            for entry in manifest.fetch_manifest_entry(ledger.io, discard_deleted=True)
            if (entry.sequence_number or 0) > after_sequence
        ]
        tables = [
            pq.read_table(ledger.io.new_input(path).open(), columns=columns) for path in paths
        ]
        rows = pa.concat_tables(tables) if tables else _ledger_schema(columns).empty_table()
        rows = rows.filter(pc.starts_with(rows["object_key"], prefix))
    loads: dict[Hour, datetime] = {}
    for row in rows.select(columns[1:]).to_pylist():
        hour = (row["ingest_dt"], row["hour"])
        loads[hour] = max(loads.get(hour, row["loaded_at"]), row["loaded_at"])
    return loads


def _ledger_schema(columns: list[str]) -> pa.Schema:
    return pa.schema([BRONZE_LEDGER.field(name) for name in columns])


def ledger_sequence(ledger: Table, snapshot_id: int | None) -> int | None:
    """The sequence number of a ledger snapshot (what a plan as of it has seen)."""
    snapshot = ledger.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    return snapshot.sequence_number if snapshot else None


def consumed_loads(catalog: Catalog, settings: Settings) -> tuple[dict[Hour, datetime], int | None]:
    """The load of each ingest hour last consumed, and the newest ledger
    sequence number a plan that consumed loads had seen."""
    rows = _scan(ensure_table(catalog, settings, MANIFEST)).to_pylist()
    loads = {(row["ingest_dt"], row["hour"]): row["loaded_at"] for row in rows}
    sequences = [row["ledger_sequence"] for row in rows if row["ledger_sequence"] is not None]
    return loads, max(sequences, default=None)


def record_consumed(
    settings: Settings,
    loads: dict[Hour, datetime],
    *,
    ledger_sequence: int | None,
    catalog: Catalog | None = None,
    run_id: str | None = None,
) -> None:
    """Record that a successful run consumed these loads (replacing the hours' entries), having
    seen the ledger up to ``ledger_sequence``."""
    if not loads:
        return
    catalog = catalog or open_catalog(settings)
    manifest = ensure_table(catalog, settings, MANIFEST)
    days = sorted({hour[0] for hour in loads})
    kept = [
        row
        for row in _scan(manifest, days).to_pylist()
        if (row["ingest_dt"], row["hour"]) not in loads
    ]
    processed_at = datetime.now(UTC).replace(tzinfo=None)
    run_id = run_id or str(uuid.uuid4())
    new = [
        {
            "ingest_dt": hour[0],
            "hour": hour[1],
            "loaded_at": load,
            "processed_at": processed_at,
            "run_id": run_id,
            "ledger_sequence": ledger_sequence,
        }
        for hour, load in sorted(loads.items())
    ]
    rows = pa.Table.from_pylist(kept + new, schema=INCREMENTAL_MANIFEST)
    with begin(manifest) as transaction:
        delete_matching(transaction, _days_filter(days))
        transaction.append(rows)


def current_loads(
    settings: Settings, catalog: Catalog | None = None
) -> tuple[dict[Hour, datetime], int | None]:
    """Every loaded hour's newest load, as the ledger says now, and the ledger's sequence."""
    catalog = catalog or open_catalog(settings)
    ledger = ensure_table(catalog, settings, LEDGER)
    snapshot = ledger.current_snapshot()
    snapshot_id = snapshot.snapshot_id if snapshot else None
    loads = hour_loads(ledger, settings.landing_bronze_prefix + "/", snapshot_id)
    return loads, ledger_sequence(ledger, snapshot_id)


def _index_days(
    catalog: Catalog,
    settings: Settings,
    arrivals: Table,
    days: list[date],
    loads: dict[Hour, datetime],
) -> None:
    """Replace the index of these ingest days with counts read from bronze now."""
    bronze = ensure_table(catalog, settings, BRONZE)
    rows = pa.table(
        {
            "ingest_dt": pa.array([], pa.date32()),
            "hour": pa.array([], pa.string()),
            "event_dt": pa.array([], pa.date32()),
        }
    )
    if bronze.current_snapshot() is not None:
        scanned = bronze.scan(
            row_filter=_days_filter(days), selected_fields=("ingest_dt", "hour", "ts")
        ).to_arrow()
        rows = pa.table(
            {
                "ingest_dt": scanned["ingest_dt"],
                "hour": scanned["hour"],
                "event_dt": pc.cast(scanned["ts"], pa.date32()),
            }
        )
    counts = rows.group_by(["ingest_dt", "hour", "event_dt"]).aggregate([([], "count_all")])
    index = [
        {
            "ingest_dt": row["ingest_dt"],
            "hour": row["hour"],
            "event_dt": row["event_dt"],
            "events": row["count_all"],
            "loaded_at": loads.get((row["ingest_dt"], row["hour"])),
        }
        for row in counts.to_pylist()
    ]
    # an hour with a load but no rows (all rejected) is indexed too, with no event date
    present = {(row["ingest_dt"], row["hour"]) for row in index}
    index += [
        {"ingest_dt": hour[0], "hour": hour[1], "event_dt": None, "events": 0, "loaded_at": load}
        for hour, load in loads.items()
        if hour[0] in days and hour not in present
    ]
    with begin(arrivals) as transaction:
        delete_matching(transaction, _days_filter(days))
        if index:
            transaction.append(pa.Table.from_pylist(index, schema=BRONZE_ARRIVALS))


def _indexed_loads(index: pa.Table) -> dict[Hour, datetime]:
    """The load each indexed hour's counts describe."""
    return {
        (row["ingest_dt"], row["hour"]): row["loaded_at"]
        for row in index.select(["ingest_dt", "hour", "loaded_at"]).to_pylist()
    }


def _event_days(index: pa.Table, hours: Iterable[Hour]) -> set[date]:
    wanted = set(hours)
    return {
        row["event_dt"]
        for row in index.select(["ingest_dt", "hour", "event_dt"]).to_pylist()
        if (row["ingest_dt"], row["hour"]) in wanted and row["event_dt"] is not None
    }


def _iso(days: Iterable[date]) -> set[str]:
    return {day.isoformat() for day in days}


def _days_filter(days: list[date]) -> BooleanExpression:
    """In(), which is EqualTo() for one day and AlwaysFalse() for none."""
    return In(term="ingest_dt", literals=_iso(days))


def _scan(table: Table, row_filter: BooleanExpression | list[date] | None = None) -> pa.Table:
    """The table's rows matching ``row_filter`` (ingest days, or an expression; None: all)."""
    if table.current_snapshot() is None:
        return pa.Table.from_pylist([], schema=table.schema().as_arrow())
    if row_filter is None:
        return table.scan().to_arrow()
    if isinstance(row_filter, list):
        row_filter = _days_filter(row_filter)
    return table.scan(row_filter=row_filter).to_arrow()
