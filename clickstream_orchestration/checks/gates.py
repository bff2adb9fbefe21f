"""Blocking checks on bronze, silver_events, fact_funnel and fact_attribution: a failure stops
downstream in the run and shows in the UI with the failing expectations as metadata."""

from collections import Counter
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from clickstream_orchestration.assets.bronze import BRONZE_EVENTS
from clickstream_orchestration.checks.expectations import validate
from clickstream_orchestration.checks.landing_lines import landed_lines_per_hour
from clickstream_orchestration.checks.suites import (
    BRONZE_SUITE,
    FACT_ATTRIBUTION_SUITE,
    FACT_FUNNEL_SUITE,
    SILVER_EVENTS_SUITE,
    Suite,
)
from clickstream_orchestration.checks.window import run_window
from clickstream_orchestration.partitions import EVENT_DAYS, INGEST_HOURS, hours_of
from clickstream_orchestration.resources import LakehouseResource, LandingResource
from lakehouse.tables import BRONZE, LEDGER, QUARANTINE
from lakehouse.window import Window

SILVER_EVENTS = dg.AssetKey(["silver", "silver_events"])
FACT_FUNNEL = dg.AssetKey(["gold", "fact_funnel"])
FACT_ATTRIBUTION = dg.AssetKey(["gold", "fact_attribution"])


def _dates_in(column: str, window: dg.TimeWindow | None, widen_days: int = 0) -> BooleanExpression:
    """Rows whose date ``column`` falls on a day ``window`` touches, widened by ``widen_days``
    on each side (every row for an unpartitioned run)."""
    if window is None:
        return AlwaysTrue()
    return Window.covering(window.start, window.end).widened(widen_days).where(column)


def _scan(
    lakehouse: LakehouseResource,
    suite: Suite,
    window: dg.TimeWindow | None,
) -> pd.DataFrame:
    settings = lakehouse.settings()
    table = lakehouse.catalog().load_table(settings.table_identifier(suite.table))
    row_filter = _dates_in(suite.partition_column, window, suite.rewrite_widen_days)
    return table.scan(row_filter=row_filter, selected_fields=tuple(suite.columns)).to_pandas()


def _suite_result(suite: Suite, frame: pd.DataFrame) -> dg.AssetCheckResult:
    outcome = validate(suite, frame)
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(outcome.outcomes) - len(outcome.failed)}/{len(outcome.outcomes)} "
            f"expectations met on {outcome.rows:,} rows"
        ),
        metadata={
            "rows_validated": outcome.rows,
            "failed_expectations": [
                f"{item.expectation}({item.column or ''})" for item in outcome.failed
            ],
            "expectations": dg.MetadataValue.md(outcome.markdown()),
        },
    )


@dg.asset_check(
    asset=BRONZE_EVENTS,
    blocking=True,
    description=(
        "Great Expectations suite on the hours loaded: ids, times and event types present "
        "and valid, partition columns well-formed."
    ),
)
def bronze_expectations(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context.run.tags, INGEST_HOURS)
    frame = _scan(lakehouse, BRONZE_SUITE, window)
    if window is not None:
        wanted = {(hour.date(), f"{hour:%H}") for hour in hours_of(window)}
        keys = list(zip(frame["ingest_dt"], frame["hour"], strict=True))
        frame = frame[[key in wanted for key in keys]]
    return _suite_result(BRONZE_SUITE, frame)


@dg.asset_check(
    asset=BRONZE_EVENTS,
    blocking=True,
    description=(
        "Every line landed in the hours loaded is in bronze or in quarantine: lines of the "
        "objects the loads consumed (bronze/ and quarantine/, counted from the objects) = "
        "bronze rows + quarantined rows, hour by hour. Objects landed after a load of the "
        "current hour are its next load's."
    ),
)
def bronze_reconciles_with_landing(
    context: dg.AssetCheckExecutionContext,
    lakehouse: LakehouseResource,
    landing: LandingResource,
) -> dg.AssetCheckResult:
    settings = lakehouse.settings()
    catalog = lakehouse.catalog()
    window = run_window(context.run.tags, INGEST_HOURS)
    ledger = catalog.load_table(settings.table_identifier(LEDGER.name))
    loaded = set(
        ledger.scan(row_filter=_dates_in("ingest_dt", window), selected_fields=("object_key",))
        .to_arrow()["object_key"]
        .to_pylist()
    )
    landed = landed_lines_per_hour(settings, landing.store(), window, loaded)
    in_lake: Counter[datetime] = Counter()
    for spec in (BRONZE, QUARANTINE):
        table = catalog.load_table(settings.table_identifier(spec.name))
        scan = table.scan(
            row_filter=_dates_in("ingest_dt", window), selected_fields=("ingest_dt", "hour")
        )
        counts = scan.to_arrow().group_by(["ingest_dt", "hour"]).aggregate([([], "count_all")])
        for day, hour, rows in zip(
            counts["ingest_dt"].to_pylist(),
            counts["hour"].to_pylist(),
            pc.cast(counts["count_all"], "int64").to_pylist(),
            strict=True,
        ):
            moment = datetime(day.year, day.month, day.day, int(hour), tzinfo=UTC)
            if window is None or window.start <= moment < window.end:
                in_lake[moment] += rows
    hours = sorted(set(landed) | set(in_lake))
    mismatched = [hour for hour in hours if landed.get(hour, 0) != in_lake.get(hour, 0)]
    table_md = "\n".join(
        ["| ingest hour | landed lines | bronze + quarantine |", "|---|---:|---:|"]
        + [
            f"| {hour:%Y-%m-%d %H}:00 | {landed.get(hour, 0):,} | {in_lake.get(hour, 0):,} |"
            + (" **mismatch**" if hour in mismatched else "")
            for hour in hours
        ]
    )
    return dg.AssetCheckResult(
        passed=not mismatched,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(hours) - len(mismatched)}/{len(hours)} hours reconcile"
            if hours
            else "nothing landed in the hours checked"
        ),
        metadata={
            "landed_lines": sum(landed.values()),
            "bronze_plus_quarantine_rows": sum(in_lake.values()),
            "mismatched_hours": [f"{hour:%Y-%m-%d %H}:00" for hour in mismatched],
            "per_hour": dg.MetadataValue.md(table_md),
        },
    )


@dg.asset_check(
    asset=SILVER_EVENTS,
    blocking=True,
    description=(
        "Great Expectations suite on the event days built: one row per event_id, ids and "
        "times present, event types from the contract, payouts not negative."
    ),
)
def silver_events_expectations(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context.run.tags, EVENT_DAYS)
    return _suite_result(SILVER_EVENTS_SUITE, _scan(lakehouse, SILVER_EVENTS_SUITE, window))


@dg.asset_check(
    asset=FACT_FUNNEL,
    blocking=True,
    description=(
        "Great Expectations suite on the event days built: one row per session, funnel "
        "flags set, payouts not negative."
    ),
)
def fact_funnel_expectations(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context.run.tags, EVENT_DAYS)
    return _suite_result(FACT_FUNNEL_SUITE, _scan(lakehouse, FACT_FUNNEL_SUITE, window))


@dg.asset_check(
    asset=FACT_ATTRIBUTION,
    blocking=True,
    description=(
        "Great Expectations suite on the conversion days built (the run's days widened by the "
        "lookback): one row per conversion, model and touch, known models, credits present, "
        "revenue not negative. The exact sums are dbt tests (attribution_credits_*)."
    ),
)
def fact_attribution_expectations(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context.run.tags, EVENT_DAYS)
    return _suite_result(FACT_ATTRIBUTION_SUITE, _scan(lakehouse, FACT_ATTRIBUTION_SUITE, window))


GATES = [
    bronze_expectations,
    bronze_reconciles_with_landing,
    silver_events_expectations,
    fact_funnel_expectations,
    fact_attribution_expectations,
]
