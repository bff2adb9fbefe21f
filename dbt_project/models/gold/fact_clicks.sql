{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    unique_key='event_id',
) }}

{#- The star schema's fact (seed 002): one row per event (deduplicated in silver), with its keys
    to dim_users (user_id_hash), dim_pages (page_path) and dim_date (event_dt). -#}
select
    event_id,
    event_type,
    ts,
    event_hour,
    session_id,
    user_id_hash,
    {{ page_path('page_url') }} as page_path,
    {{ url_host('page_url') }} as page_host,
    referrer,
    utm_source,
    utm_medium,
    utm_campaign,
    geo_country,
    locale,
    ab_variant,
    device_class,
    browser,
    os,
    chart_action,
    affiliate_link_id,
    affiliate_target,
    case when event_type = 'affiliate_click' then coalesce(payout_cents, 0) else 0 end
        as payout_cents,
    is_bot,
    event_dt
from {{ ref('silver_events') }}
where {{ in_rebuild_days('event_dt') }}
