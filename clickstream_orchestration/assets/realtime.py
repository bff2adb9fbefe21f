"""The real-time layer: minute marts read straight from the stream, and their reconciliation
with the batch tables.

On AWS the marts are Redshift streaming materialised views over the Kinesis stream, applied
idempotently through the Redshift Data API; locally the consumer in the local stack keeps the
same marts (same names and columns) in DuckDB. The check compares, per closed hour, the
real-time counts with ``silver_events``; a difference beyond the tolerance that late events do
not explain shows as a failed (non-blocking) check.
"""

import dagster as dg

from clickstream_orchestration.assets.landing import EVENTS_STREAM, OWNER
from clickstream_orchestration.checks.gates import SILVER_EVENTS
from clickstream_orchestration.resources import LakehouseResource, RealtimeResource

REDSHIFT_STREAMING_MVS = dg.AssetKey(["realtime", "redshift_streaming_mvs"])


@dg.asset(
    key=REDSHIFT_STREAMING_MVS,
    deps=[EVENTS_STREAM],
    description=(
        "The external schema over the Kinesis stream, rt.mv_events_min (auto refresh) and the "
        "minute marts on top (events by type, active users, affiliate payout, top pages, by "
        "country and UTM source), applied from streaming/realtime/redshift/ (local: the "
        'consumer\'s DuckDB marts, `clickstream query "select * from rt.events_per_minute"`).'
    ),
    group_name="realtime",
    kinds={"redshift", "kinesis", "sql"},
    owners=[OWNER],
    code_version="realtime-sql-1",
)
def redshift_streaming_mvs(
    lakehouse: LakehouseResource, realtime: RealtimeResource
) -> dg.MaterializeResult:
    metadata = realtime.apply(lakehouse.settings())
    statements = metadata.pop("statements", None)
    if statements is not None:
        rows = ["| statement | action | id | seconds |", "|---|---|---|---:|"] + [
            f"| {item['statement']} | {item['action']} | {item['id'] or ''} | {item['seconds']} |"
            for item in statements
        ]
        metadata["statements"] = dg.MetadataValue.md("\n".join(rows))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=SILVER_EVENTS,
    blocking=False,
    description=(
        "Real-time counts per closed event hour equal silver_events after dedup, or the "
        "difference is explained by late events not yet loaded (tolerance: the larger of 0 "
        "events and 0.1 % of the hour)."
    ),
)
def realtime_reconciles_with_batch(
    lakehouse: LakehouseResource, realtime: RealtimeResource
) -> dg.AssetCheckResult:
    result = realtime.reconcile(lakehouse.settings())
    metadata = result.as_metadata()
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=result.description,
        metadata={
            "closed_hours": metadata["closed_hours"],
            "failing_hours": dg.MetadataValue.json(metadata["failing_hours"]),
            "hours": dg.MetadataValue.json(metadata["hours"]),
            "tolerance": dg.MetadataValue.json(metadata["tolerance"]),
            "notes": dg.MetadataValue.json(metadata["notes"]),
        },
    )
