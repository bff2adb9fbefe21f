"""The jobs sensors, schedules and the demo launch: each a slice of the one asset graph."""

from __future__ import annotations

import dagster as dg

from clickstream_orchestration.assets.bronze import (
    BRONZE_EVENTS,
    QUARANTINE_EVENTS,
    USER_SEGMENT_CHANGES,
)
from clickstream_orchestration.assets.privacy import PRIVACY_REQUESTS_KEY
from clickstream_orchestration.partitions import WRITES

SILVER_USER_SEGMENTS = dg.AssetKey(["silver", "silver_user_segments"])
SILVER_DAILY = dg.AssetSelection.groups("silver") - dg.AssetSelection.assets(SILVER_USER_SEGMENTS)
GOLD = dg.AssetSelection.groups("gold")

# One run at a time writes bronze, and one the dbt-built tables (one DuckDB file, one Iceberg
# commit per table): the instance limits runs per `clickstream/writes` value (home.py). Loads
# are retried by the instance; the refresh is retried by its schedule's next tick.
BRONZE_WRITES = {WRITES: "bronze", "dagster/max_retries": "2"}
LAKE_WRITES = {WRITES: "lake"}

bronze_load_job = dg.define_asset_job(
    "bronze_load",
    selection=dg.AssetSelection.assets(BRONZE_EVENTS, QUARANTINE_EVENTS),
    description="Landed objects of ingest hours into bronze and quarantine (with their gates).",
    tags=BRONZE_WRITES,
)

segments_refresh_job = dg.define_asset_job(
    "segments_refresh",
    selection=dg.AssetSelection.assets(USER_SEGMENT_CHANGES, SILVER_USER_SEGMENTS),
    description="The segment change log and the SCD2 segments model, rebuilt whole.",
    tags={**LAKE_WRITES, "dagster/max_retries": "2"},
)

lake_refresh_job = dg.define_asset_job(
    "lake_refresh",
    selection=SILVER_DAILY | GOLD,
    description=(
        "Silver and gold for event days: one dbt run per layer over the whole day range, "
        "gated by the blocking checks between them."
    ),
    tags=LAKE_WRITES,
)

iceberg_maintenance_job = dg.define_asset_job(
    "iceberg_maintenance",
    selection=dg.AssetSelection.groups("maintenance"),
    description="Snapshot expiry (and compaction where supported) on every lake table.",
    tags=LAKE_WRITES,
)

privacy_erase_job = dg.define_asset_job(
    "privacy_erase",
    selection=dg.AssetSelection.assets(PRIVACY_REQUESTS_KEY),
    description=(
        "Erase one user (config: user_hash or client_hash) from every layer, rebuild its days, "
        "delete the old files, and record the request in lake.privacy_requests."
    ),
    tags=LAKE_WRITES,
)

JOBS = [
    bronze_load_job,
    segments_refresh_job,
    lake_refresh_job,
    iceberg_maintenance_job,
    privacy_erase_job,
]
