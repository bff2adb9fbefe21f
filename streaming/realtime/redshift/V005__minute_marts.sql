-- Minute marts by event time (ts, UTC). Windows ending "now" use the warehouse clock.

CREATE OR REPLACE VIEW ${rt_schema}.events_per_minute AS
SELECT
    DATE_TRUNC('minute', ts) AS minute_ts,
    event_type,
    COUNT(*) AS events,
    COUNT(DISTINCT session_id) AS sessions,
    COUNT(DISTINCT user_id_hash) AS users
FROM ${rt_schema}.events
GROUP BY 1, 2;

CREATE OR REPLACE VIEW ${rt_schema}.affiliate_per_minute AS
SELECT
    DATE_TRUNC('minute', ts) AS minute_ts,
    COUNT(*) AS clicks,
    SUM(COALESCE(payout_cents, 0)) AS payout_cents,
    COUNT(DISTINCT user_id_hash) AS users
FROM ${rt_schema}.events
WHERE event_type = 'affiliate_click'
GROUP BY 1;

CREATE OR REPLACE VIEW ${rt_schema}.active_users AS
SELECT
    5 AS window_minutes,
    COUNT(DISTINCT session_id) AS active_sessions,
    COUNT(DISTINCT user_id_hash) AS active_users,
    COUNT(*) AS events
FROM ${rt_schema}.events
WHERE ts >= DATEADD(minute, -5, GETDATE())
UNION ALL
SELECT
    60 AS window_minutes,
    COUNT(DISTINCT session_id) AS active_sessions,
    COUNT(DISTINCT user_id_hash) AS active_users,
    COUNT(*) AS events
FROM ${rt_schema}.events
WHERE ts >= DATEADD(minute, -60, GETDATE());

CREATE OR REPLACE VIEW ${rt_schema}.last_hour_per_minute AS
SELECT
    DATE_TRUNC('minute', ts) AS minute_ts,
    COUNT(*) AS events,
    SUM(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS page_views,
    SUM(CASE WHEN event_type = 'chart_interaction' THEN 1 ELSE 0 END) AS chart_interactions,
    SUM(CASE WHEN event_type = 'affiliate_click' THEN 1 ELSE 0 END) AS affiliate_clicks,
    SUM(CASE WHEN event_type = 'affiliate_click' THEN COALESCE(payout_cents, 0) ELSE 0 END) AS payout_cents,
    COUNT(DISTINCT session_id) AS sessions,
    COUNT(DISTINCT user_id_hash) AS users
FROM ${rt_schema}.events
WHERE ts >= DATEADD(minute, -60, GETDATE())
GROUP BY 1;

CREATE OR REPLACE VIEW ${rt_schema}.top_pages_last_hour AS
SELECT
    RANK() OVER (ORDER BY page_views DESC, page_url) AS page_rank,
    page_url,
    page_views,
    users
FROM (
    SELECT page_url, COUNT(*) AS page_views, COUNT(DISTINCT user_id_hash) AS users
    FROM ${rt_schema}.events
    WHERE event_type = 'page_view'
      AND page_url IS NOT NULL
      AND ts >= DATEADD(minute, -60, GETDATE())
    GROUP BY page_url
) AS pages;

CREATE OR REPLACE VIEW ${rt_schema}.by_country_last_hour AS
SELECT
    geo_country,
    COUNT(*) AS events,
    COUNT(DISTINCT session_id) AS sessions,
    COUNT(DISTINCT user_id_hash) AS users
FROM ${rt_schema}.events
WHERE ts >= DATEADD(minute, -60, GETDATE())
GROUP BY geo_country;

CREATE OR REPLACE VIEW ${rt_schema}.by_source_last_hour AS
SELECT
    utm_source,
    COUNT(*) AS events,
    COUNT(DISTINCT session_id) AS sessions,
    COUNT(DISTINCT user_id_hash) AS users
FROM ${rt_schema}.events
WHERE ts >= DATEADD(minute, -60, GETDATE())
GROUP BY utm_source;
