"""The dbt-built lake tables and the columns that identify a row of each, for tests that
compare tables row by row."""

KEYS = {
    "lake.silver_events": ["event_id"],
    "lake.silver_sessions": ["session_id"],
    "lake.silver_user_segments": ["user_id_hash", "segment_key", "valid_from"],
    "mart.fact_funnel": ["session_id"],
    "mart.fact_affiliate_clicks": ["event_id"],
    "mart.fact_clicks": ["event_id"],
    "mart.dim_users": ["user_id_hash"],
    "mart.dim_pages": ["page_path"],
    "mart.dim_date": ["date_day"],
    "mart.agg_engagement_daily": [
        "event_dt",
        "geo_country",
        "ab_variant",
        "channel_group",
        "device_class",
    ],
    "mart.agg_events_hourly": ["event_dt", "event_hour", "event_type"],
    "mart.agg_pages_daily": ["event_dt", "page_path"],
    "mart.retention_weekly": ["cohort_week", "weeks_since"],
    "mart.fact_attribution": ["conversion_id", "attribution_model", "touch_session_id"],
    "mart.agg_attribution_daily": ["event_dt", "attribution_model", "channel", "campaign"],
}
