-- One row per stream record: the raw payload parsed into SUPER plus the columns the minute
-- marts use. Streaming ingestion: refreshed automatically from the stream. Re-sent events
-- (the same event_id twice) are kept here; ${rt_schema}.events removes them.
CREATE MATERIALIZED VIEW ${rt_schema}.mv_events_min
BACKUP NO
AUTO REFRESH YES
AS
SELECT
    approximate_arrival_timestamp AS arrive_ts,
    shard_id,
    sequence_number,
    JSON_PARSE(kinesis_data) AS payload,
    CAST(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'event_id', TRUE) AS VARCHAR(128)) AS event_id,
    CAST(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'event_type', TRUE) AS VARCHAR(64)) AS event_type,
    CONVERT_TIMEZONE('UTC', CAST(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'ts', TRUE) AS TIMESTAMPTZ)) AS ts,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'ingest_ts', TRUE), '') AS BIGINT) AS ingest_ts,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'session', 'session_id', TRUE), '') AS VARCHAR(128)) AS session_id,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'user', 'user_id_hash', TRUE), '') AS VARCHAR(256)) AS user_id_hash,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'user', 'geo_country', TRUE), '') AS VARCHAR(8)) AS geo_country,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'ctx', 'page_url', TRUE), '') AS VARCHAR(8192)) AS page_url,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'session', 'utm', 'source', TRUE), '') AS VARCHAR(256)) AS utm_source,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'chart', 'action', TRUE), '') AS VARCHAR(32)) AS chart_action,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'affiliate', 'link_id', TRUE), '') AS VARCHAR(256)) AS affiliate_link_id,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'affiliate', 'target', TRUE), '') AS VARCHAR(256)) AS affiliate_target,
    CAST(NULLIF(JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'affiliate', 'payout_cents', TRUE), '') AS BIGINT) AS payout_cents,
    JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(kinesis_data, 'utf-8'), 'is_bot', TRUE) = 'true' AS is_bot
FROM ${external_schema}."${stream_name}"
WHERE CAN_JSON_PARSE(kinesis_data);
