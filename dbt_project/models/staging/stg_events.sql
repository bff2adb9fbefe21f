{#- Bronze rows of the run's event days (macros/window.sql), flattened, empty strings as nulls.
    Ephemeral. Only the ingest dates that can hold those days are read. -#}
with bronze as (
    select *
    from {{ source('lake', 'bronze_events') }}
    where {{ in_bronze_ingest_days('ingest_dt') }}
      and {{ in_rebuild_days('cast(ts as date)') }}
)

select
    event_id,
    event_type,
    {{ lake_timestamp('ts') }} as ts,
    ingest_ts,
    nullif(session.session_id, '') as session_id,
    nullif("user".user_id_hash, '') as user_id_hash,
    nullif("user".geo_country, '') as geo_country,
    nullif(ctx.page_url, '') as page_url,
    nullif(ctx.referrer, '') as referrer,
    nullif(ctx.locale, '') as locale,
    nullif(ctx.user_agent, '') as user_agent,
    nullif(ctx.ab_variant, '') as ab_variant,
    nullif(session.utm.source, '') as utm_source,
    nullif(session.utm.medium, '') as utm_medium,
    nullif(session.utm.campaign, '') as utm_campaign,
    nullif(chart.action, '') as chart_action,
    nullif(chart.control_id, '') as chart_control_id,
    nullif(chart.control_value, '') as chart_control_value,
    {{ drop_empty_strings('chart.product_ids') }} as product_ids,
    nullif(affiliate.link_id, '') as affiliate_link_id,
    nullif(affiliate.target, '') as affiliate_target,
    affiliate.payout_cents as payout_cents,
    coalesce(is_bot, false) as is_bot,
    nullif(source, '') as source,
    nullif(schema_version, '') as schema_version,
    nullif(privacy.source_ip_anonymized, '') as source_ip_anonymized,
    source_object
from bronze
