"""Schemas and partitioning of the tables the Python loaders own (bronze, quarantine, ledger,
the arrival index, the incremental manifest, the rebuild queue and the check results).

Silver and gold tables take their schema from the dbt models that build them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from lakehouse.catalog import table_location
from lakehouse.transactions import begin
from streaming.contracts.settings import Settings

_TEXT = pa.string()
_TS = pa.timestamp("us")

BRONZE_EVENTS = pa.schema(
    [
        ("schema_version", _TEXT),
        ("event_type", _TEXT),
        ("event_id", _TEXT),
        ("ts", _TS),
        ("ingest_ts", pa.int64()),
        ("source", _TEXT),
        ("is_bot", pa.bool_()),
        (
            "privacy",
            pa.struct(
                [("analytics", pa.bool_()), ("ads", pa.bool_()), ("source_ip_anonymized", _TEXT)]
            ),
        ),
        ("user", pa.struct([("user_id_hash", _TEXT), ("geo_country", _TEXT)])),
        (
            "session",
            pa.struct(
                [
                    ("session_id", _TEXT),
                    (
                        "utm",
                        pa.struct(
                            [
                                (name, _TEXT)
                                for name in ("source", "medium", "campaign", "term", "content")
                            ]
                        ),
                    ),
                ]
            ),
        ),
        (
            "ctx",
            pa.struct(
                [
                    (name, _TEXT)
                    for name in ("page_url", "referrer", "locale", "user_agent", "ab_variant")
                ]
            ),
        ),
        (
            "chart",
            pa.struct(
                [
                    ("product_ids", pa.list_(_TEXT)),
                    ("action", _TEXT),
                    ("control_id", _TEXT),
                    ("control_value", _TEXT),
                ]
            ),
        ),
        (
            "affiliate",
            pa.struct([("link_id", _TEXT), ("target", _TEXT), ("payout_cents", pa.int64())]),
        ),
        (
            "metadata",
            pa.struct(
                [
                    ("sdk_version", _TEXT),
                    ("experiment_keys", pa.list_(_TEXT)),
                    ("schema_hash", _TEXT),
                ]
            ),
        ),
        # 1-1-0. A table made before it gains the column by schema evolution (ensure_table);
        # its data files are not rewritten and their rows read it as null.
        (
            "purchase",
            pa.struct(
                [
                    ("order_id", _TEXT),
                    ("revenue_cents", pa.int64()),
                    ("currency", _TEXT),
                    (
                        "products",
                        pa.list_(
                            pa.struct(
                                [
                                    ("product_id", _TEXT),
                                    ("quantity", pa.int64()),
                                    ("price_cents", pa.int64()),
                                ]
                            )
                        ),
                    ),
                    ("affiliate_click_id", _TEXT),
                ]
            ),
        ),
        # The user agent parsed at ingest (streaming.enrichment.describe_user_agent); null in
        # rows landed before it, which read it as null after schema evolution (ensure_table).
        (
            "ua",
            pa.struct(
                [
                    (name, _TEXT)
                    for name in ("browser", "browser_version", "os", "os_version", "device_class")
                ]
            ),
        ),
        ("events_type", _TEXT),
        ("ingest_dt", pa.date32()),
        ("hour", _TEXT),
        ("source_object", _TEXT),
    ]
)

QUARANTINE_EVENTS = pa.schema(
    [
        ("quarantined_at", _TS),
        ("stage", _TEXT),  # ingest | delivery | bronze_load
        ("kind", _TEXT),
        ("reasons", _TEXT),  # JSON list of {pointer, keyword, message}
        ("payload", _TEXT),  # the original bytes as text, size-capped
        ("payload_truncated", pa.bool_()),
        ("event_id", _TEXT),
        ("source_object", _TEXT),
        ("line_number", pa.int64()),
        ("ingest_dt", pa.date32()),
        ("hour", _TEXT),
    ]
)

BRONZE_LEDGER = pa.schema(
    [
        ("object_key", _TEXT),
        ("object_size", pa.int64()),
        ("ingest_dt", pa.date32()),
        ("hour", _TEXT),
        ("lines", pa.int64()),
        ("loaded_rows", pa.int64()),
        ("quarantined_rows", pa.int64()),
        ("loaded_at", _TS),
    ]
)

BRONZE_ARRIVALS = pa.schema(
    [
        ("ingest_dt", pa.date32()),
        ("hour", _TEXT),
        ("event_dt", pa.date32()),
        ("events", pa.int64()),
        ("loaded_at", _TS),  # the hour's load (its newest ledger entry) these counts describe
    ]
)

INCREMENTAL_MANIFEST = pa.schema(
    [
        ("ingest_dt", pa.date32()),
        ("hour", _TEXT),
        ("loaded_at", _TS),  # the hour's load the run consumed
        ("processed_at", _TS),
        ("run_id", _TEXT),
        ("ledger_sequence", pa.int64()),  # the ledger snapshot the run's plan had seen
    ]
)

REBUILD_QUEUE = pa.schema(
    [
        ("event_dt", pa.date32()),  # an event day whose partitions must be rebuilt
        ("requested_at", _TS),  # when arrivals (or a manual request) made it stale
        ("reason", _TEXT),
    ]
)

USER_SEGMENT_CHANGES = pa.schema(
    [
        ("user_id_hash", _TEXT),
        ("segment_key", _TEXT),
        ("action", _TEXT),  # enter | leave
        ("as_of_ts", _TS),
        ("source_object", _TEXT),
    ]
)

CHECK_RESULTS_SCHEMA = pa.schema(
    [
        ("evaluated_at", _TS),  # UTC
        ("evaluated_dt", pa.date32()),
        ("run_id", _TEXT),
        ("job_name", _TEXT),
        ("asset_key", _TEXT),  # gold/fact_funnel
        ("check_name", _TEXT),
        ("passed", pa.bool_()),
        ("severity", _TEXT),  # ERROR | WARN
        ("blocking", pa.bool_()),  # null when the evaluation does not say
        ("partition", _TEXT),  # the check's partition, or the run's partition or range
        ("detail", _TEXT),  # counts and the failed expectations, size-capped; never row values
    ]
)


MANIFEST_TARGET_BYTES = 128 * 1024
"""About 170 entries of a bronze manifest (column bounds of every column for each file)."""
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.parquet.compression-codec": "zstd",
    # Every load and every run commits; without merging, each commit adds a manifest that every
    # later scan reads. Merged every few commits into manifests of bounded size (a few hundred
    # files each), consecutive commits' files share one, and a commit touching the newest
    # partitions reads and rewrites only the newest manifests: one manifest of every file made
    # each hourly load read and rewrite the whole table's entries.
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "8",
    "commit.manifest.target-size-bytes": str(MANIFEST_TARGET_BYTES),
}


def with_lake_properties(table: Table) -> Table:
    """The table, with ``TABLE_PROPERTIES`` set if it was created without them."""
    missing = {
        name: value
        for name, value in TABLE_PROPERTIES.items()
        if name != "format-version" and table.properties.get(name) != value
    }
    if not missing:
        return table
    with begin(table) as transaction:
        transaction.set_properties(missing)
    return table.refresh()


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    partition_by: tuple[str, ...]
    sort_by: tuple[str, ...] = ()


BRONZE = TableSpec("bronze_events", BRONZE_EVENTS, ("events_type", "ingest_dt", "hour"), ("ts",))
QUARANTINE = TableSpec("quarantine_events", QUARANTINE_EVENTS, ("ingest_dt", "stage"))
LEDGER = TableSpec("bronze_load_ledger", BRONZE_LEDGER, ("ingest_dt",))
SEGMENT_CHANGES = TableSpec("user_segment_changes", USER_SEGMENT_CHANGES, ())
ARRIVALS = TableSpec("bronze_arrivals", BRONZE_ARRIVALS, ("ingest_dt",))
MANIFEST = TableSpec("incremental_manifest", INCREMENTAL_MANIFEST, ("ingest_dt",))
QUEUE = TableSpec("rebuild_queue", REBUILD_QUEUE, ())
CHECK_RESULTS = TableSpec("check_results", CHECK_RESULTS_SCHEMA, ("evaluated_dt",))


def ensure_table(catalog: Catalog, settings: Settings, spec: TableSpec) -> Table:
    """Load the table, creating it (schema, identity partitions, sort order) when missing."""
    namespace = settings.lake_namespace
    identifier = f"{namespace}.{spec.name}"
    try:
        table = with_lake_properties(catalog.load_table(identifier))
    except NoSuchTableError:
        pass
    else:
        if set(spec.schema.names) - {field.name for field in table.schema().fields}:
            with table.update_schema() as update:  # columns added since the table was made
                update.union_by_name(spec.schema)
            table = table.refresh()
        return table
    location = table_location(settings, namespace, spec.name)
    transaction = catalog.create_table_transaction(
        identifier, schema=spec.schema, location=location, properties=TABLE_PROPERTIES
    )
    with transaction.update_spec() as update:
        for column in spec.partition_by:
            update.add_identity(column)
    transaction.commit_transaction()
    return catalog.load_table(identifier)
