{{ config(
    partitioned_by=['event_dt', 'event_type'],
    rewrite_column='event_dt',
    unique_key='event_id',
) }}

{#- One row per distinct event_id: the earliest ingest wins (re-sent duplicates dropped). -#}
with ranked as (
    select
        *,
        row_number() over (
            partition by event_id
            order by ingest_ts, source_object, session_id
        ) as copy_rank
    from {{ ref('stg_events') }}
)

select
    event_id,
    event_type,
    ts,
    ingest_ts,
    session_id,
    user_id_hash,
    geo_country,
    page_url,
    referrer,
    locale,
    user_agent,
    ab_variant,
    utm_source,
    utm_medium,
    utm_campaign,
    chart_action,
    chart_control_id,
    chart_control_value,
    product_ids,
    affiliate_link_id,
    affiliate_target,
    payout_cents,
    is_bot,
    source,
    schema_version,
    source_ip_anonymized,
    cast(ts as date) as event_dt,
    {{ hour_of('ts') }} as event_hour
from ranked
where copy_rank = 1
