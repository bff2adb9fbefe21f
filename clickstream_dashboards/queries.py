"""Every query the dashboards run, on marts only, in the SQL DuckDB and Athena share.

Human traffic only: sessions and clicks of crawlers and bots are left out everywhere. Amounts
are in cents in the marts and in dollars here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import pyarrow as pa

from clickstream_dashboards.filters import Filters
from lakehouse.warehouse import Warehouse, literal

FUNNEL = "mart.fact_funnel"
ENGAGEMENT = "mart.agg_engagement_daily"
PAGES = "mart.agg_pages_daily"
RETENTION = "mart.retention_weekly"
ATTRIBUTION = "mart.agg_attribution_daily"
SILVER_EVENTS = "lake.silver_events"
QUARANTINE = "lake.quarantine_events"
CHECK_RESULTS = "lake.check_results"

FUNNEL_STEPS = (
    ("sessions", "Sessions"),
    ("saw_comparison", "Saw a comparison"),
    ("interacted_chart", "Interacted with a chart"),
    ("clicked_affiliate", "Clicked an affiliate link"),
    ("converted", "Converted (purchase)"),
)
BREAKDOWNS = {
    "ab_variant": "A/B variant",
    "geo_country": "Country",
    "channel_group": "Channel",
    "device_class": "Device",
}
LATE_AFTER_MINUTES = 60


def _funnel_where(filters: Filters) -> str:
    return (
        filters.where(country="geo_country", variant="ab_variant", channel="channel_group")
        + " and not is_bot"
    )


def _one_row(table: pa.Table) -> dict[str, Any]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows[0] if rows else {}


# --- what the filters offer ----------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    first_day: date | None
    last_day: date | None
    countries: list[str]
    variants: list[str]
    channels: list[str]


def choices(warehouse: Warehouse) -> Choices:
    def distinct(column: str) -> list[str]:
        rows = warehouse.query(
            f"select distinct {column} as value from {FUNNEL} "
            f"where {column} is not null and not is_bot order by 1"
        )
        return [str(value) for value in rows.column("value").to_pylist()]

    span = _one_row(
        warehouse.query(
            f"select min(event_dt) as first_day, max(event_dt) as last_day from {FUNNEL}"
        )
    )
    first_day, last_day = span.get("first_day"), span.get("last_day")
    return Choices(
        first_day if isinstance(first_day, date) else None,
        last_day if isinstance(last_day, date) else None,
        distinct("geo_country"),
        distinct("ab_variant"),
        distinct("channel_group"),
    )


# --- overview ------------------------------------------------------------------------------

KPI_SQL = """
select
    count(distinct user_id_hash) as users,
    count(*) as sessions,
    coalesce(sum(conversions), 0) as conversions,
    cast(coalesce(sum(revenue_cents), 0) as double) / 100 as revenue,
    cast(coalesce(sum(payout_cents), 0) as double) / 100 as payout
from {table}
where {where}
"""


def kpis(warehouse: Warehouse, filters: Filters) -> dict[str, float]:
    row = _one_row(warehouse.query(KPI_SQL.format(table=FUNNEL, where=_funnel_where(filters))))
    return {name: float(value or 0) for name, value in row.items()}


def daily_trend(warehouse: Warehouse, filters: Filters) -> pa.Table:
    return warehouse.query(
        f"""
        select
            event_dt as day,
            count(distinct user_id_hash) as users,
            count(*) as sessions,
            sum(conversions) as conversions,
            cast(sum(revenue_cents) as double) / 100 as revenue,
            cast(sum(payout_cents) as double) / 100 as payout
        from {FUNNEL}
        where {_funnel_where(filters)}
        group by event_dt
        order by event_dt
        """
    )


# --- funnel --------------------------------------------------------------------------------

STEP_COUNTS = """
    count(*) as sessions,
    count(case when saw_comparison then 1 end) as saw_comparison,
    count(case when saw_comparison and interacted_chart then 1 end) as interacted_chart,
    count(case when saw_comparison and interacted_chart and clicked_affiliate then 1 end)
        as clicked_affiliate,
    count(case when saw_comparison and interacted_chart and clicked_affiliate and converted
        then 1 end) as converted
"""


def funnel_steps(warehouse: Warehouse, filters: Filters) -> dict[str, int]:
    """Sessions reaching each step having reached every step before it (a closed funnel)."""
    row = _one_row(
        warehouse.query(f"select {STEP_COUNTS} from {FUNNEL} where {_funnel_where(filters)}")
    )
    return {step: int(row.get(step) or 0) for step, _ in FUNNEL_STEPS}


def funnel_by(
    warehouse: Warehouse,
    filters: Filters,
    dimension: Literal["ab_variant", "geo_country", "channel_group", "device_class"],
) -> pa.Table:
    return warehouse.query(
        f"""
        select coalesce({dimension}, '(unknown)') as segment, {STEP_COUNTS}
        from {FUNNEL}
        where {_funnel_where(filters)}
        group by 1
        order by sessions desc, segment
        """
    )


# --- attribution ---------------------------------------------------------------------------


def attribution_by_channel(warehouse: Warehouse, filters: Filters) -> pa.Table:
    return warehouse.query(
        f"""
        select
            attribution_model,
            channel,
            cast(sum(credited_conversions) as double) as credited_conversions,
            cast(sum(revenue_credited_cents) as double) / 100 as revenue_credited
        from {ATTRIBUTION}
        where {filters.where(channel="channel")}
        group by 1, 2
        order by 1, 3 desc, 2
        """
    )


def attribution_by_campaign(warehouse: Warehouse, filters: Filters) -> pa.Table:
    return warehouse.query(
        f"""
        select
            coalesce(campaign, '(none)') as campaign,
            attribution_model,
            cast(sum(credited_conversions) as double) as credited_conversions,
            cast(sum(revenue_credited_cents) as double) / 100 as revenue_credited
        from {ATTRIBUTION}
        where {filters.where(channel="channel")}
        group by 1, 2
        order by 1, 2
        """
    )


# --- engagement ----------------------------------------------------------------------------


def engagement_daily(warehouse: Warehouse, filters: Filters) -> pa.Table:
    return warehouse.query(
        f"""
        select
            event_dt as day,
            sum(sessions) as sessions,
            sum(engaged_sessions) as engaged_sessions,
            sum(pageviews) as pageviews,
            cast(sum(bounce_rate * sessions) as double) / nullif(sum(sessions), 0) as bounce_rate,
            cast(sum(session_seconds) as double) / nullif(sum(sessions), 0) as avg_session_seconds
        from {ENGAGEMENT}
        where {filters.where(country="geo_country", variant="ab_variant", channel="channel_group")}
            and device_class <> 'bot'
        group by event_dt
        order by event_dt
        """
    )


def top_pages(warehouse: Warehouse, filters: Filters, limit: int = 15) -> pa.Table:
    return warehouse.query(
        f"""
        select
            page_path,
            sum(pageviews) as pageviews,
            sum(entrances) as entrances,
            sum(exits) as exits,
            cast(sum(exits) as double) / nullif(sum(pageviews), 0) as exit_rate
        from {PAGES}
        where {filters.where()}
        group by page_path
        order by pageviews desc, page_path
        limit {int(limit)}
        """
    )


def retention(warehouse: Warehouse, filters: Filters) -> pa.Table:
    """Cohorts whose first week overlaps the period."""
    return warehouse.query(
        f"""
        select cohort_week, weeks_since, cohort_users, active_users, retention_rate
        from {RETENTION}
        where cohort_week between {literal(filters.start - timedelta(days=6))}
            and {literal(filters.end)}
        order by cohort_week, weeks_since
        """
    )


# --- real time -----------------------------------------------------------------------------


def realtime_minutes(warehouse: Warehouse) -> pa.Table:
    return warehouse.query(
        "select minute_ts, events, page_views, chart_interactions, affiliate_clicks, "
        "cast(payout_cents as double) / 100 as payout, sessions, users "
        "from rt.last_hour_per_minute order by minute_ts",
        source="rt",
    )


def realtime_active(warehouse: Warehouse) -> pa.Table:
    return warehouse.query(
        "select window_minutes, active_sessions, active_users, events "
        "from rt.active_users order by window_minutes",
        source="rt",
    )


def realtime_top_pages(warehouse: Warehouse, limit: int = 10) -> pa.Table:
    return warehouse.query(
        f"select page_rank, page_url, page_views, users from rt.top_pages_last_hour "
        f"where page_rank <= {int(limit)} order by page_rank, page_url",
        source="rt",
    )


def realtime_countries(warehouse: Warehouse) -> pa.Table:
    return warehouse.query(
        "select coalesce(geo_country, '(unknown)') as country, events, sessions, users "
        "from rt.by_country_last_hour order by events desc, country",
        source="rt",
    )


# --- data health ---------------------------------------------------------------------------


def latest_checks(warehouse: Warehouse) -> pa.Table:
    """The latest evaluation of every check (partitioned checks: per partition's latest run)."""
    return warehouse.query(
        f"""
        select asset_key, check_name, passed, severity, evaluated_at, detail
        from (
            select
                *,
                row_number() over (
                    partition by asset_key, check_name order by evaluated_at desc
                ) as recency
            from {CHECK_RESULTS}
        ) as ranked
        where recency = 1
        order by passed, asset_key, check_name
        """
    )


def quarantine_by_reason(warehouse: Warehouse, filters: Filters) -> pa.Table:
    return warehouse.query(
        f"""
        select stage, kind, count(*) as events
        from {QUARANTINE}
        where {filters.where(date_column="ingest_dt")}
        group by stage, kind
        order by events desc, stage, kind
        """
    )


def late_share(warehouse: Warehouse, filters: Filters) -> pa.Table:
    """Per event day: the share of events that reached the ingest over an hour after they
    happened (they arrive after their hour was built and make the lake rebuild that day)."""
    late = f"ingest_ts - to_unixtime_ms_ts > {LATE_AFTER_MINUTES * 60_000}"
    return warehouse.query(
        f"""
        select
            event_dt as day,
            count(*) as events,
            count(case when {late} then 1 end) as late_events,
            cast(count(case when {late} then 1 end) as double) / count(*) as late_share
        from (
            select event_dt, ingest_ts, {epoch_ms("ts")} as to_unixtime_ms_ts
            from {SILVER_EVENTS}
            where {filters.where(country="geo_country", variant="ab_variant")}
                and not is_bot
        ) as timed
        group by event_dt
        order by event_dt
        """
    )


def epoch_ms(column: str) -> str:
    """Milliseconds since the epoch of a timestamp column, the same on DuckDB and Trino."""
    return f"cast(date_diff('millisecond', timestamp '1970-01-01 00:00:00', {column}) as bigint)"


def freshness(warehouse: Warehouse) -> pa.Table:
    return warehouse.freshness()
