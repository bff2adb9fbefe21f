"""The landing sensor: new objects in the landing store become bronze runs of their hour.

The cursor holds the newest last-modified time seen (the watermark) and the keys of the
objects modified within ``sensor_lag_seconds`` of it. Each tick lists from the watermark minus
that lag, so an object that shows up late in a listing (written in the same second, or listed
late by S3) is still seen; the remembered keys keep it from being requested twice. The cursor
is committed with the run requests, so a restart resumes exactly where the last tick ended.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import dagster as dg

from clickstream_orchestration.assets.landing import LANDED_OBJECTS
from clickstream_orchestration.jobs import (
    SILVER_USER_SEGMENTS,
    bronze_load_job,
    segments_refresh_job,
)
from clickstream_orchestration.partitions import INGEST_HOURS, hour_key
from clickstream_orchestration.resources import LakehouseResource, LandingResource
from lakehouse.reference_load import SEGMENTS_PREFIX
from streaming.contracts.landing import LandedObject, hour_of_key
from streaming.contracts.settings import get_settings


@dataclass
class LandingCursor:
    watermark: float | None = None
    recent: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str | None) -> LandingCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("watermark"), set(data.get("recent", [])))

    def dump(self) -> str:
        return json.dumps({"watermark": self.watermark, "recent": sorted(self.recent)})

    def advance(self, listed: list[LandedObject], lag: float) -> LandingCursor:
        newest = max((item.last_modified for item in listed), default=self.watermark)
        if newest is None:
            return LandingCursor()
        if self.watermark is not None:
            newest = max(newest, self.watermark)
        # the next tick lists from `newest - lag`: only keys from there on can show up again
        recent = {item.key for item in listed if item.last_modified >= newest - lag}
        return LandingCursor(newest, recent)


def _run_key(kind: str, partition: str | None, keys: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"{kind}:{partition or '-'}:{digest}"


@dg.sensor(
    name="landing_sensor",
    description=(
        "Requests the bronze hour partitions that received new landing objects (a late "
        "object re-requests its hour under a new run key), and the segments refresh when the "
        "reference feed lands (and once on a fresh home, so gold never waits for a feed); "
        "each tick's arrivals are recorded as observations of the landed objects."
    ),
    jobs=[bronze_load_job, segments_refresh_job],
    minimum_interval_seconds=get_settings().orchestration.sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource, landing: LandingResource
) -> dg.SensorResult:
    settings = lakehouse.settings()
    lag = float(settings.orchestration.sensor_lag_seconds)
    cursor = LandingCursor.parse(context.cursor)
    since = None if cursor.watermark is None else cursor.watermark - lag
    listed: list[LandedObject] = []
    for prefix in (
        settings.landing_bronze_prefix + "/",
        settings.landing_quarantine_prefix + "/",
        SEGMENTS_PREFIX,
    ):
        listed += landing.list_since(prefix, since)
    new = [item for item in listed if item.key not in cursor.recent]

    by_hour: dict[datetime, list[str]] = defaultdict(list)
    segments: list[str] = []
    skipped: list[str] = []
    for item in new:
        if item.key.startswith(SEGMENTS_PREFIX):
            segments.append(item.key)
            continue
        hour = hour_of_key(item.key)
        if hour is None or not INGEST_HOURS.has_partition_key(hour_key(hour)):
            skipped.append(item.key)
            continue
        by_hour[hour].append(item.key)
    if skipped:
        context.log.warning(
            f"{len(skipped)} objects are outside the hour partitions (from "
            f"{INGEST_HOURS.start:%Y-%m-%d %H}:00 to the current hour) or carry no hour, "
            f"e.g. {skipped[0]}"
        )

    waiting = _hours_waiting_to_load(context.instance)
    requests = [
        dg.RunRequest(
            run_key=_run_key("bronze", hour_key(hour), keys),
            job_name=bronze_load_job.name,
            partition_key=hour_key(hour),
            tags={"clickstream/new_objects": str(len(keys))},
        )
        for hour, keys in sorted(by_hour.items())
        if hour_key(hour) not in waiting  # a load not started yet lists the hour when it starts
    ]
    if segments:
        requests.append(
            dg.RunRequest(
                run_key=_run_key("segments", None, segments), job_name=segments_refresh_job.name
            )
        )
    elif context.instance.get_latest_materialization_event(SILVER_USER_SEGMENTS) is None:
        # gold joins the segments: build them (empty) before any feed exists
        requests.append(dg.RunRequest(run_key="segments:first", job_name=segments_refresh_job.name))
    observations = [landing_observation(new, by_hour)] if new else []
    return dg.SensorResult(
        run_requests=requests,
        cursor=cursor.advance(listed, lag).dump(),
        asset_events=observations,
    )


def _hours_waiting_to_load(instance: dg.DagsterInstance) -> set[str]:
    records = instance.get_run_records(
        dg.RunsFilter(
            job_name=bronze_load_job.name,
            statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED],
        )
    )
    return {
        key
        for record in records
        if (key := record.dagster_run.tags.get("dagster/partition")) is not None
    }


def landing_observation(
    new: list[LandedObject], by_hour: dict[datetime, list[str]]
) -> dg.AssetObservation:
    """What this tick saw land: objects, bytes and the newest arrival, per ingest hour."""
    sizes = {item.key: item.size for item in new}
    newest = max(item.last_modified for item in new)
    table = "\n".join(
        ["| ingest hour (UTC) | new objects | bytes |", "|---|---:|---:|"]
        + [
            f"| {hour:%Y-%m-%d %H}:00 | {len(keys):,} | {sum(sizes[key] for key in keys):,} |"
            for hour, keys in sorted(by_hour.items())
        ]
    )
    return dg.AssetObservation(
        asset_key=LANDED_OBJECTS,
        metadata={
            "new_objects": dg.MetadataValue.int(len(new)),
            "new_bytes": dg.MetadataValue.int(sum(sizes.values())),
            "newest_object_at": dg.MetadataValue.timestamp(newest),
            "hours": dg.MetadataValue.md(table),
            # freshness: the newest object seen is the asset's last update
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(newest),
        },
    )
