"""The dbt-built lake tables and the columns that identify a row of each, for tests that
compare tables row by row."""

KEYS = {
    "lake.silver_events": ["event_id"],
    "lake.silver_sessions": ["session_id"],
    "lake.silver_user_segments": ["user_id_hash", "segment_key", "valid_from"],
    "mart.fact_funnel": ["session_id"],
    "mart.fact_affiliate_clicks": ["event_id"],
    "mart.fact_attribution": ["conversion_id", "attribution_model", "touch_session_id"],
    "mart.agg_attribution_daily": ["event_dt", "attribution_model", "channel", "campaign"],
}
