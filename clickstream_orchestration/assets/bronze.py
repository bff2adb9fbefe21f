"""The bronze layer: landed objects of an ingest hour into Iceberg, and the reference feed.

``bronze_events`` and ``quarantine_events`` are written by one load per hour (every landed
line goes to one of the two); a backfill of many hours runs as a single run that loads them
in order. Re-running an hour is idempotent: the load ledger skips hours whose objects are
unchanged and replaces an hour exactly when late objects arrived.
"""

from collections.abc import Iterator

import dagster as dg

from clickstream_orchestration.assets.landing import LANDED_OBJECTS, OWNER
from clickstream_orchestration.metadata import arrow_table_schema, table_metadata
from clickstream_orchestration.partitions import INGEST_HOURS, hours_of
from clickstream_orchestration.resources import LakehouseResource, LandingResource
from lakehouse.bronze_load import BronzeLoadResult, load_hour
from lakehouse.reference_load import load_segment_changes
from lakehouse.tables import BRONZE, QUARANTINE, SEGMENT_CHANGES

BRONZE_EVENTS = dg.AssetKey(["bronze", BRONZE.name])
QUARANTINE_EVENTS = dg.AssetKey(["bronze", QUARANTINE.name])
USER_SEGMENT_CHANGES = dg.AssetKey(["bronze", SEGMENT_CHANGES.name])
CODE_VERSION = "bronze-load-1"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            BRONZE_EVENTS,
            deps=[LANDED_OBJECTS],
            description=(
                "Every landed event as the ingest produced it, one row per landed line "
                "(duplicates kept for silver to resolve), partitioned by event type, ingest "
                "date and hour. Dagster partition: the ingest hour."
            ),
            group_name="bronze",
            kinds={"iceberg", "python"},
            owners=[OWNER],
            code_version=CODE_VERSION,
            tags={"layer": "bronze"},
            metadata={"dagster/column_schema": arrow_table_schema(BRONZE.schema)},
        ),
        dg.AssetSpec(
            QUARANTINE_EVENTS,
            deps=[LANDED_OBJECTS],
            description=(
                "Rejected payloads with their reasons: those the ingest rejected, and landed "
                "lines the bronze load could not accept (stage `bronze_load`)."
            ),
            group_name="bronze",
            kinds={"iceberg", "python"},
            owners=[OWNER],
            code_version=CODE_VERSION,
            tags={"layer": "bronze"},
            metadata={"dagster/column_schema": arrow_table_schema(QUARANTINE.schema)},
        ),
    ],
    partitions_def=INGEST_HOURS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
)
def bronze_hours(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource, landing: LandingResource
) -> Iterator[dg.MaterializeResult]:
    settings = lakehouse.settings()
    catalog = lakehouse.catalog()
    store = landing.store()
    hours = hours_of(context.partition_time_window)
    loads: list[tuple[BronzeLoadResult, BronzeLoadResult]] = []
    for number, hour in enumerate(hours, start=1):
        bronze, quarantine = load_hour(settings, hour, catalog=catalog, store=store)
        loads.append((bronze, quarantine))
        context.log.info(
            f"[{number}/{len(hours)}] {bronze.hour}: {bronze.loaded_rows:,} rows from "
            f"{bronze.objects} objects, {bronze.quarantined_rows} lines quarantined"
            + (" (unchanged, skipped)" if bronze.skipped else "")
        )
    bronze_rows = sum(bronze.loaded_rows for bronze, _ in loads)
    yield dg.MaterializeResult(
        asset_key=BRONZE_EVENTS,
        metadata={
            **table_metadata(
                catalog.load_table(settings.table_identifier(BRONZE.name)),
                settings.table_identifier(BRONZE.name),
            ),
            "hours": len(hours),
            "rows_loaded": bronze_rows,
            "objects": sum(bronze.objects for bronze, _ in loads),
            "lines_quarantined": sum(bronze.quarantined_rows for bronze, _ in loads),
            "hours_unchanged": sum(bronze.skipped for bronze, _ in loads),
            "rows_per_hour": dg.MetadataValue.md(_per_hour(loads)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_EVENTS,
        metadata={
            **table_metadata(
                catalog.load_table(settings.table_identifier(QUARANTINE.name)),
                settings.table_identifier(QUARANTINE.name),
            ),
            "ingest_rejections": sum(quarantine.loaded_rows for _, quarantine in loads),
            "bronze_load_rejections": sum(bronze.quarantined_rows for bronze, _ in loads),
        },
    )


def _per_hour(loads: list[tuple[BronzeLoadResult, BronzeLoadResult]]) -> str:
    lines = [
        "| ingest hour | objects | bronze rows | quarantined | ingest rejections |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {bronze.hour} | {bronze.objects} | {bronze.loaded_rows:,} | "
        f"{bronze.quarantined_rows:,} | {quarantine.loaded_rows:,} |"
        for bronze, quarantine in loads
    ]
    return "\n".join(lines)


@dg.asset(
    key=USER_SEGMENT_CHANGES,
    deps=[LANDED_OBJECTS],
    description=(
        "The reference feed of users entering and leaving segments, replaced from every "
        "change-log object landed so far (input of the SCD2 segments model)."
    ),
    group_name="bronze",
    kinds={"iceberg", "python"},
    owners=[OWNER],
    code_version=CODE_VERSION,
    tags={"layer": "bronze"},
    metadata={"dagster/column_schema": arrow_table_schema(SEGMENT_CHANGES.schema)},
)
def user_segment_changes(
    lakehouse: LakehouseResource, landing: LandingResource
) -> dg.MaterializeResult:
    settings = lakehouse.settings()
    catalog = lakehouse.catalog()
    rows = load_segment_changes(settings, catalog=catalog, store=landing.store())
    identifier = settings.table_identifier(SEGMENT_CHANGES.name)
    return dg.MaterializeResult(
        metadata={"rows_loaded": rows, **table_metadata(catalog.load_table(identifier), identifier)}
    )
