"""Iceberg maintenance: snapshot expiry for every lake table, daily.

Every hourly load commits a snapshot; without expiry each table's metadata (and so every
commit) keeps growing. Snapshots older than the retention are expired (the current one always
stays). Data-file compaction needs an engine that rewrites Iceberg files: Athena does it with
``OPTIMIZE``; the local engine cannot, which the materialisation says.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from clickstream_orchestration.assets.landing import OWNER
from clickstream_orchestration.resources import (
    CompactionResource,
    LakehouseResource,
    retention_cutoff,
)
from lakehouse.maintenance import expire_snapshots


class MaintenanceConfig(dg.Config):
    retention_hours: float | None = None
    """Override of the settings' snapshot retention for this run (0 keeps only the current
    snapshot of each table)."""


@dg.asset(
    key=["maintenance", "iceberg_maintenance"],
    description=(
        "Expires snapshots older than the retention (settings: "
        "orchestration.snapshot_retention_hours) on every lake and mart table, and compacts "
        "small data files where the engine supports it."
    ),
    group_name="maintenance",
    kinds={"iceberg"},
    owners=[OWNER],
    code_version="maintenance-1",
)
def iceberg_maintenance(
    context: dg.AssetExecutionContext,
    config: MaintenanceConfig,
    lakehouse: LakehouseResource,
    compaction: CompactionResource,
) -> dg.MaterializeResult:
    settings = lakehouse.settings()
    catalog = lakehouse.catalog()
    now = datetime.now(UTC)
    cutoff = (
        retention_cutoff(settings, now)
        if config.retention_hours is None
        else now - timedelta(hours=config.retention_hours)
    )
    rows = ["| table | snapshots before | after | compaction |", "|---|---:|---:|---|"]
    expired = 0
    for namespace in settings.glue_databases:
        if (namespace,) not in catalog.list_namespaces():
            continue
        for identifier in sorted(catalog.list_tables(namespace)):
            name = ".".join(identifier)
            before = len(catalog.load_table(name).snapshots())
            expire_snapshots(catalog, [name], cutoff)
            after = len(catalog.load_table(name).snapshots())
            compacted = compaction.compact(settings, name)
            expired += before - after
            rows.append(f"| {name} | {before} | {after} | {compacted} |")
            context.log.info(f"{name}: {before} -> {after} snapshots; compaction: {compacted}")
    return dg.MaterializeResult(
        metadata={
            "snapshots_expired": expired,
            "retention_cutoff": cutoff.isoformat(timespec="seconds"),
            "tables": dg.MetadataValue.md("\n".join(rows)),
        }
    )
