"""The bronze load: the landing objects of one ingest hour into ``lake.bronze_events``, and the
ingest's rejections of that hour into ``lake.quarantine_events``.

A load is idempotent per hour: the objects it consumed (key and size) are recorded in
``lake.bronze_load_ledger``; a re-run over the same objects changes nothing, a re-run over new
or late objects replaces the hour exactly (old partition files dropped and new ones added in one
Iceberg commit). Bronze keeps duplicates: deduplication is silver's job.

Every landed line ends up either in bronze or in quarantine (stage ``bronze_load``, with the
object key, line number and reasons); the ledger records the count of each per object.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse import bronze_arrow, bronze_duckdb
from lakehouse.bronze_rows import ParsedObject, Reject
from lakehouse.catalog import open_catalog
from lakehouse.load_ledger import (
    ObjectOutcome,
    delete_matching,
    hour_filter,
    is_loaded,
    record,
    recorded_outcomes,
)
from lakehouse.quarantine_load import (
    BRONZE_LOAD,
    INGEST,
    parse_ingest_object,
    reject_rows,
    replace_rows,
)
from lakehouse.tables import BRONZE, LEDGER, QUARANTINE, ensure_table
from lakehouse.transactions import begin
from streaming.contracts.landing import (
    IngestHour,
    LandedObject,
    LandingStore,
    LocalLandingStore,
    bronze_objects,
    landed_hours,
    landing_store,
    quarantine_objects,
)
from streaming.contracts.schema_registry import producer_event_types
from streaming.contracts.settings import Settings

Engine = Literal["duckdb", "arrow"]


@dataclass(frozen=True)
class BronzeLoadResult:
    hour: str
    objects: int
    lines: int
    loaded_rows: int
    quarantined_rows: int
    skipped: bool
    """True when the hour's objects were already loaded: nothing was written, and the counts
    are those the ledger recorded for that load."""
    snapshot_id: int | None
    """The target table's snapshot after the load."""
    seconds: float


def default_engine(settings: Settings, store: LandingStore) -> Engine:
    """DuckDB reads local files; anything else (S3) goes through the store and pyarrow."""
    return "duckdb" if isinstance(store, LocalLandingStore) else "arrow"


def load_hour(
    settings: Settings,
    hour: datetime,
    *,
    catalog: Catalog | None = None,
    store: LandingStore | None = None,
    engine: Engine | None = None,
) -> tuple[BronzeLoadResult, BronzeLoadResult]:
    """The hour's bronze objects and its ingest quarantine objects, in that order."""
    catalog = catalog or open_catalog(settings)
    store = store or landing_store(settings)
    return (
        load_bronze_hour(settings, hour, catalog=catalog, store=store, engine=engine),
        load_quarantine_hour(settings, hour, catalog=catalog, store=store),
    )


def load_landed_hours(
    settings: Settings, progress: Callable[[BronzeLoadResult], None] | None = None
) -> list[tuple[BronzeLoadResult, BronzeLoadResult]]:
    """Load every landed hour into bronze and quarantine (hours already loaded are no-ops)."""
    catalog = open_catalog(settings)
    store = landing_store(settings)
    results = []
    for hour in landed_hours(settings, store):
        bronze, quarantine = load_hour(settings, hour, catalog=catalog, store=store)
        results.append((bronze, quarantine))
        if progress is not None:
            progress(bronze)
    return results


def load_bronze_hour(
    settings: Settings,
    hour: datetime,
    *,
    catalog: Catalog | None = None,
    store: LandingStore | None = None,
    engine: Engine | None = None,
    force: bool = False,
) -> BronzeLoadResult:
    started = time.perf_counter()
    catalog = catalog or open_catalog(settings)
    store = store or landing_store(settings)
    engine = engine or default_engine(settings, store)
    ingest_hour = IngestHour.of(hour)
    bronze = ensure_table(catalog, settings, BRONZE)
    ledger = ensure_table(catalog, settings, LEDGER)
    prefix = settings.landing_bronze_prefix + "/"
    objects = bronze_objects(store, settings, ingest_hour, producer_event_types())
    recorded = recorded_outcomes(ledger, ingest_hour, prefix)
    if not force and recorded is not None and is_loaded(recorded, objects):
        return _summary(ingest_hour, recorded, bronze, started, skipped=True)

    keys = [item.key for item in objects]
    if engine == "duckdb":
        loaded, by_line = _load_with_duckdb(settings, store, bronze, keys, ingest_hour)
    else:
        loaded, by_line = _load_with_arrow(store, bronze, keys, ingest_hour)
    rejects = [reject for parsed in by_line for reject in parsed.rejects]
    _record_rejects(settings, catalog, ingest_hour, prefix, rejects)
    outcomes = _outcomes(objects, loaded, by_line)
    record(ledger, ingest_hour, prefix, outcomes, _now())
    return _summary(ingest_hour, outcomes, bronze.refresh(), started, skipped=False)


def load_quarantine_hour(
    settings: Settings,
    hour: datetime,
    *,
    catalog: Catalog | None = None,
    store: LandingStore | None = None,
    force: bool = False,
) -> BronzeLoadResult:
    """The ingest's rejections landed for the hour into ``lake.quarantine_events``."""
    started = time.perf_counter()
    catalog = catalog or open_catalog(settings)
    store = store or landing_store(settings)
    ingest_hour = IngestHour.of(hour)
    quarantine = ensure_table(catalog, settings, QUARANTINE)
    ledger = ensure_table(catalog, settings, LEDGER)
    prefix = settings.landing_quarantine_prefix + "/"
    objects = quarantine_objects(store, settings, ingest_hour)
    recorded = recorded_outcomes(ledger, ingest_hour, prefix)
    if not force and recorded is not None and is_loaded(recorded, objects):
        return _summary(ingest_hour, recorded, quarantine, started, skipped=True)

    parsed = [parse_ingest_object(item.key, store.get(item.key), ingest_hour) for item in objects]
    replace_rows(quarantine, ingest_hour, INGEST, prefix, [row for p in parsed for row in p.rows])
    rejects = [reject for p in parsed for reject in p.rejects]
    _record_rejects(settings, catalog, ingest_hour, prefix, rejects)
    loaded = {p.key: len(p.rows) for p in parsed}
    outcomes = _outcomes(objects, loaded, parsed)
    record(ledger, ingest_hour, prefix, outcomes, _now())
    return _summary(ingest_hour, outcomes, quarantine.refresh(), started, skipped=False)


def _load_with_duckdb(
    settings: Settings, store: LandingStore, table: Table, keys: list[str], hour: IngestHour
) -> tuple[dict[str, int], list[ParsedObject]]:
    if not isinstance(store, LocalLandingStore):
        raise ValueError("the duckdb engine reads local landing files; use engine='arrow'")
    conn = bronze_duckdb.connect(settings)
    try:
        written = bronze_duckdb.write_hour(
            conn,
            store.root.resolve(),
            keys,
            hour,
            data_dir=_local_path(table.location()) / "data",
            scratch=bronze_duckdb.Scratch.of(settings),
        )
    finally:
        conn.close()
    try:
        with begin(table) as transaction:
            delete_matching(transaction, hour_filter(hour))
            if written.files:
                # written just now into a folder of their own: no table can reference them, and
                # proving it would read every manifest of the table
                paths = [f"file://{path}" for path in written.files]
                transaction.add_files(paths, check_duplicate_files=False)
    except BaseException:
        for path in written.files:
            path.unlink(missing_ok=True)
        raise
    return dict(written.loaded), written.parsed_by_line


def _load_with_arrow(
    store: LandingStore, table: Table, keys: list[str], hour: IngestHour
) -> tuple[dict[str, int], list[ParsedObject]]:
    loaded: dict[str, int] = {}
    by_line: list[ParsedObject] = []
    with begin(table) as transaction:
        delete_matching(transaction, hour_filter(hour))
        for chunk, chunk_objects in bronze_arrow.read_chunks(store, keys, hour):
            if chunk.num_rows:
                transaction.append(chunk)
            for item in chunk_objects:
                loaded[item.key] = item.rows.num_rows if item.rows is not None else 0
                if item.parsed_by_line is not None:
                    by_line.append(item.parsed_by_line)
    return loaded, by_line


def _record_rejects(
    settings: Settings, catalog: Catalog, hour: IngestHour, prefix: str, rejects: list[Reject]
) -> None:
    quarantine = ensure_table(catalog, settings, QUARANTINE)
    rows = reject_rows(rejects, hour, _now(), settings.ingest.quarantine_payload_bytes)
    if rows or quarantine.current_snapshot() is not None:
        replace_rows(quarantine, hour, BRONZE_LOAD, prefix, rows)


def _outcomes(
    objects: list[LandedObject], loaded: dict[str, int], by_line: list[ParsedObject]
) -> list[ObjectOutcome]:
    parsed = {item.key: item for item in by_line}
    outcomes = []
    for item in objects:
        rows = loaded.get(item.key, 0)
        rejected = len(parsed[item.key].rejects) if item.key in parsed else 0
        lines = parsed[item.key].lines if item.key in parsed else rows
        outcomes.append(ObjectOutcome(item.key, item.size, lines, rows, rejected))
    return outcomes


def _summary(
    hour: IngestHour,
    outcomes: list[ObjectOutcome],
    table: Table,
    started: float,
    *,
    skipped: bool,
) -> BronzeLoadResult:
    snapshot = table.current_snapshot()
    return BronzeLoadResult(
        hour=str(hour),
        objects=len(outcomes),
        lines=sum(outcome.lines for outcome in outcomes),
        loaded_rows=sum(outcome.loaded_rows for outcome in outcomes),
        quarantined_rows=sum(outcome.quarantined_rows for outcome in outcomes),
        skipped=skipped,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        seconds=time.perf_counter() - started,
    )


def _local_path(location: str) -> Path:
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"the duckdb engine writes local tables only, not {location}")
    return Path(parsed.path)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
