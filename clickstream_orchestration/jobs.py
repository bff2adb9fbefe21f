"""The jobs sensors, schedules and the demo launch: each a slice of the one asset graph."""

from __future__ import annotations

import dagster as dg

from clickstream_orchestration.assets.bronze import (
    BRONZE_EVENTS,
    QUARANTINE_EVENTS,
    USER_SEGMENT_CHANGES,
)

SILVER_DAILY = dg.AssetSelection.groups("silver") - dg.AssetSelection.assets(
    ["silver", "silver_user_segments"]
)
GOLD = dg.AssetSelection.groups("gold")

bronze_job = dg.define_asset_job(
    "bronze_load",
    selection=dg.AssetSelection.assets(BRONZE_EVENTS, QUARANTINE_EVENTS),
    description="Landed objects of ingest hours into bronze and quarantine (with their gates).",
)

segments_job = dg.define_asset_job(
    "segments_refresh",
    selection=dg.AssetSelection.assets(USER_SEGMENT_CHANGES, ["silver", "silver_user_segments"]),
    description="The segment change log and the SCD2 segments model, rebuilt whole.",
)

lake_refresh_job = dg.define_asset_job(
    "lake_refresh",
    selection=SILVER_DAILY | GOLD,
    description=(
        "Silver and gold for event days: one dbt run per layer over the whole day range, "
        "gated by the blocking checks between them."
    ),
)

maintenance_job = dg.define_asset_job(
    "iceberg_maintenance",
    selection=dg.AssetSelection.groups("maintenance"),
    description="Snapshot expiry (and compaction where supported) on every lake table.",
)

JOBS = [bronze_job, segments_job, lake_refresh_job, maintenance_job]
