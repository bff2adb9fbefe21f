"""The local marts in DuckDB: the same names and columns as the Redshift views.

``_events`` holds one row per distinct ``event_id`` (duplicates are dropped as they arrive);
``mv_events_min`` and ``events`` expose it with the Redshift columns (without the raw
``payload``), and the minute marts are the views of ``redshift/V005__minute_marts.sql`` in
DuckDB's dialect. "Now" is the machine's clock in UTC.
"""

from __future__ import annotations

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "BIGINT"),
    ("event_id", "VARCHAR"),
    ("event_type", "VARCHAR"),
    ("ts", "TIMESTAMP"),
    ("ingest_ts", "BIGINT"),
    ("arrive_ts", "TIMESTAMP"),
    ("shard_id", "VARCHAR"),
    ("sequence_number", "VARCHAR"),
    ("session_id", "VARCHAR"),
    ("user_id_hash", "VARCHAR"),
    ("geo_country", "VARCHAR"),
    ("page_url", "VARCHAR"),
    ("utm_source", "VARCHAR"),
    ("chart_action", "VARCHAR"),
    ("affiliate_link_id", "VARCHAR"),
    ("affiliate_target", "VARCHAR"),
    ("payout_cents", "BIGINT"),
    ("is_bot", "BOOLEAN"),
)
"""``seq`` orders rows by when the consumer stored them; the rest are the stream's fields."""

EVENTS_TABLE = "_events"
META_TABLE = "_meta"

NOW = "timezone('UTC', now())"

TABLES = (
    f"CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} ("
    + ", ".join(f"{name} {kind}" for name, kind in EVENT_COLUMNS)
    + ")",
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)",
)

MV_COLUMNS = (
    "arrive_ts, shard_id, sequence_number, event_id, event_type, ts, ingest_ts, session_id, "
    "user_id_hash, geo_country, page_url, utm_source, chart_action, affiliate_link_id, "
    "affiliate_target, payout_cents, is_bot"
)
EVENTS_COLUMNS = (
    "event_id, event_type, ts, ingest_ts, arrive_ts, session_id, user_id_hash, geo_country, "
    "page_url, utm_source, chart_action, affiliate_link_id, affiliate_target, payout_cents, is_bot"
)


def _last(minutes: int) -> str:
    return f"ts >= {NOW} - INTERVAL {minutes} MINUTE"


VIEWS: dict[str, str] = {
    "mv_events_min": f"SELECT {MV_COLUMNS} FROM {EVENTS_TABLE}",
    "events": f"SELECT {EVENTS_COLUMNS} FROM {EVENTS_TABLE}",
    "events_per_minute": """
        SELECT date_trunc('minute', ts) AS minute_ts, event_type, count(*) AS events,
               count(DISTINCT session_id) AS sessions, count(DISTINCT user_id_hash) AS users
        FROM events GROUP BY 1, 2""",
    "affiliate_per_minute": """
        SELECT date_trunc('minute', ts) AS minute_ts, count(*) AS clicks,
               CAST(sum(coalesce(payout_cents, 0)) AS BIGINT) AS payout_cents,
               count(DISTINCT user_id_hash) AS users
        FROM events WHERE event_type = 'affiliate_click' GROUP BY 1""",
    "active_users": f"""
        SELECT 5 AS window_minutes, count(DISTINCT session_id) AS active_sessions,
               count(DISTINCT user_id_hash) AS active_users, count(*) AS events
        FROM events WHERE {_last(5)}
        UNION ALL
        SELECT 60 AS window_minutes, count(DISTINCT session_id) AS active_sessions,
               count(DISTINCT user_id_hash) AS active_users, count(*) AS events
        FROM events WHERE {_last(60)}""",
    "last_hour_per_minute": f"""
        SELECT date_trunc('minute', ts) AS minute_ts, count(*) AS events,
               count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
               count(*) FILTER (WHERE event_type = 'chart_interaction') AS chart_interactions,
               count(*) FILTER (WHERE event_type = 'affiliate_click') AS affiliate_clicks,
               CAST(coalesce(sum(payout_cents) FILTER (WHERE event_type = 'affiliate_click'), 0)
                   AS BIGINT) AS payout_cents,
               count(DISTINCT session_id) AS sessions, count(DISTINCT user_id_hash) AS users
        FROM events WHERE {_last(60)} GROUP BY 1""",
    "top_pages_last_hour": f"""
        SELECT rank() OVER (ORDER BY page_views DESC, page_url) AS page_rank, page_url,
               page_views, users
        FROM (
            SELECT page_url, count(*) AS page_views, count(DISTINCT user_id_hash) AS users
            FROM events
            WHERE event_type = 'page_view' AND page_url IS NOT NULL AND {_last(60)}
            GROUP BY page_url
        ) AS pages""",
    "by_country_last_hour": f"""
        SELECT geo_country, count(*) AS events, count(DISTINCT session_id) AS sessions,
               count(DISTINCT user_id_hash) AS users
        FROM events WHERE {_last(60)} GROUP BY geo_country""",
    "by_source_last_hour": f"""
        SELECT utm_source, count(*) AS events, count(DISTINCT session_id) AS sessions,
               count(DISTINCT user_id_hash) AS users
        FROM events WHERE {_last(60)} GROUP BY utm_source""",
}

MARTS = tuple(name for name in VIEWS if name not in ("mv_events_min", "events"))


def schema_statements() -> list[str]:
    """Tables and views of a local real-time database (idempotent)."""
    return [
        *TABLES,
        *(f"CREATE OR REPLACE VIEW {name} AS {body.strip()}" for name, body in VIEWS.items()),
    ]
