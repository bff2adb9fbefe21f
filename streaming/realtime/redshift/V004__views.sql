-- The raw payload of every record, for inspection (SUPER: navigate with payload.ctx.page_url).
CREATE OR REPLACE VIEW ${rt_schema}.v_events_payload AS
SELECT arrive_ts, shard_id, sequence_number, event_id, payload
FROM ${rt_schema}.mv_events_min;

-- One row per event_id: the copy with the earliest ingest wins, as in silver_events.
CREATE OR REPLACE VIEW ${rt_schema}.events AS
SELECT
    event_id, event_type, ts, ingest_ts, arrive_ts, session_id, user_id_hash, geo_country,
    page_url, utm_source, chart_action, affiliate_link_id, affiliate_target, payout_cents, is_bot
FROM (
    SELECT
        m.*,
        ROW_NUMBER() OVER (
            PARTITION BY m.event_id ORDER BY m.ingest_ts, m.arrive_ts, m.sequence_number
        ) AS copy_rank
    FROM ${rt_schema}.mv_events_min AS m
) AS ranked
WHERE copy_rank = 1;
