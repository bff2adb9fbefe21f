"""The landing layer: the event stream and the objects the delivery stream lands from it.

Both are external: the ingest writes the stream and Firehose (or the local delivery) writes
the objects. The landing objects are observed (objects and bytes per ingest hour) so the UI
shows when new data arrived; the landing sensor turns new objects into bronze runs.
"""

import hashlib
from collections import defaultdict

import dagster as dg

from clickstream_orchestration.resources import LakehouseResource, LandingResource
from streaming.contracts.landing import hour_of_key

OWNER = "team:data-platform"
EVENTS_STREAM = dg.AssetKey(["landing", "events_stream"])
LANDED_OBJECTS = dg.AssetKey(["landing", "landed_objects"])
HOURS_SHOWN = 24

events_stream = dg.AssetSpec(
    EVENTS_STREAM,
    description=(
        "The Kinesis data stream the ingest writes accepted events to, partitioned by "
        "session (the local default: the same stream on the local AWS endpoint)."
    ),
    group_name="landing",
    kinds={"kinesis"},
    owners=[OWNER],
)


@dg.multi_observable_source_asset(
    specs=[
        dg.AssetSpec(
            LANDED_OBJECTS,
            deps=[EVENTS_STREAM],
            description=(
                "GZIP'd NDJSON objects the delivery stream lands under bronze/ and the "
                "ingest's rejections under quarantine/, by ingest hour, plus the reference "
                "feed of user segment changes."
            ),
            group_name="landing",
            kinds={"s3", "json"},
            owners=[OWNER],
        )
    ],
)
def landed_objects(lakehouse: LakehouseResource, landing: LandingResource) -> dg.ObserveResult:
    settings = lakehouse.settings()
    per_hour: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    digest = hashlib.sha256()
    objects = total_bytes = 0
    for prefix in (settings.landing_bronze_prefix, settings.landing_quarantine_prefix):
        for item in landing.list_since(prefix + "/", None):
            objects += 1
            total_bytes += item.size
            digest.update(f"{item.key}:{item.size}\n".encode())
            hour = hour_of_key(item.key)
            if hour is not None:
                counts = per_hour[hour.strftime("%Y-%m-%d %H:00")]
                counts[0] += 1
                counts[1] += item.size
    recent = sorted(per_hour.items())[-HOURS_SHOWN:]
    table = "\n".join(
        ["| ingest hour (UTC) | objects | bytes |", "|---|---:|---:|"]
        + [f"| {hour} | {count:,} | {size:,} |" for hour, (count, size) in recent]
    )
    return dg.ObserveResult(
        asset_key=LANDED_OBJECTS,
        data_version=dg.DataVersion(digest.hexdigest()[:16]),
        metadata={
            "objects": dg.MetadataValue.int(objects),
            "bytes": dg.MetadataValue.int(total_bytes),
            "hours": dg.MetadataValue.int(len(per_hour)),
            "objects_per_hour": dg.MetadataValue.md(table),
        },
    )
