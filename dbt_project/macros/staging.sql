{#-
  The staging select of bronze events (see models/staging/stg_events.sql, whose body it is).
  A model that reads these rows more than once (silver_events) calls it once per read, as a
  subquery: DuckDB materializes a CTE referenced more than once, and a materialized CTE of
  every event of 10 M spilled past the memory limit and took three times as long.
-#}
{% macro staged_bronze_events() %}
with bronze as (
    select *
    from {{ source('lake', 'bronze_events') }}
    where {{ in_bronze_ingest_days('ingest_dt') }}
        and {{ in_rebuild_days('cast(ts as date)') }}
)

select
    bronze.event_id,
    bronze.event_type,
    {{ lake_timestamp('bronze.ts') }} as ts,
    bronze.ingest_ts,
    nullif(bronze.session.session_id, '') as session_id,
    nullif(bronze."user".user_id_hash, '') as user_id_hash,
    nullif(bronze."user".geo_country, '') as geo_country,
    nullif(bronze.ctx.page_url, '') as page_url,
    nullif(bronze.ctx.referrer, '') as referrer,
    nullif(bronze.ctx.locale, '') as locale,
    nullif(bronze.ctx.user_agent, '') as user_agent,
    nullif(bronze.ctx.ab_variant, '') as ab_variant,
    nullif(bronze.session.utm.source, '') as utm_source,
    nullif(bronze.session.utm.medium, '') as utm_medium,
    nullif(bronze.session.utm.campaign, '') as utm_campaign,
    nullif(bronze.chart.action, '') as chart_action,
    nullif(bronze.chart.control_id, '') as chart_control_id,
    nullif(bronze.chart.control_value, '') as chart_control_value,
    {{ drop_empty_strings('bronze.chart.product_ids') }} as product_ids,
    nullif(bronze.affiliate.link_id, '') as affiliate_link_id,
    nullif(bronze.affiliate.target, '') as affiliate_target,
    -- a struct field: the alias, not the engine, names the column
    bronze.affiliate.payout_cents as payout_cents,  -- noqa: AL09
    coalesce(bronze.is_bot, false) as is_bot,
    nullif(bronze.ua.browser, '') as browser,
    nullif(bronze.ua.browser_version, '') as browser_version,
    nullif(bronze.ua.os, '') as os,
    nullif(bronze.ua.os_version, '') as os_version,
    nullif(bronze.ua.device_class, '') as device_class,
    nullif(bronze.source, '') as source,
    nullif(bronze.schema_version, '') as schema_version,
    nullif(bronze.privacy.source_ip_anonymized, '') as source_ip_anonymized,
    nullif(bronze.purchase.order_id, '') as order_id,
    bronze.purchase.revenue_cents as revenue_cents,  -- noqa: AL09
    nullif(bronze.purchase.currency, '') as currency,
    nullif(bronze.purchase.affiliate_click_id, '') as affiliate_click_id,
    bronze.source_object
from bronze
{% endmacro %}
