{{ config(
    partitioned_by=['event_dt', 'event_type'],
    rewrite_column='event_dt',
    unique_key='event_id',
) }}

{#- One row per distinct event_id: the earliest ingest wins (re-sent duplicates dropped).
    Copies with the same ingest_ts (one client batch) are ordered by their landing object's
    key, then by the copy's content (`copy_fingerprint`): the same bronze rows always keep the
    same copy, whatever order a scan returns them in. Only ids seen more than once are ranked;
    the rest pass straight through (a hash aggregate instead of sorting every event).
    The staged events are read as subqueries, not through one CTE (macros/staging.sql). -#}
-- depends_on: {{ ref('stg_events') }}
with repeated as (
    select event_id
    from ({{ staged_bronze_events() }}) as events
    group by event_id
    having count(*) > 1
),

first_copies as (
    select ranked.*
    from (
        select
            events.*,
            row_number() over (
                partition by events.event_id
                order by events.ingest_ts, events.source_object, {{ copy_fingerprint('events') }}
            ) as copy_rank
        from ({{ staged_bronze_events() }}) as events
        inner join repeated on events.event_id = repeated.event_id
    ) as ranked
    where ranked.copy_rank = 1
),

distinct_events as (
    select
        events.event_id,
        events.event_type,
        events.ts,
        events.ingest_ts,
        events.session_id,
        events.user_id_hash,
        events.geo_country,
        events.page_url,
        events.referrer,
        events.locale,
        events.user_agent,
        events.ab_variant,
        events.utm_source,
        events.utm_medium,
        events.utm_campaign,
        events.chart_action,
        events.chart_control_id,
        events.chart_control_value,
        events.product_ids,
        events.affiliate_link_id,
        events.affiliate_target,
        events.payout_cents,
        events.is_bot,
        events.browser,
        events.browser_version,
        events.os,
        events.os_version,
        events.device_class,
        events.source,
        events.schema_version,
        events.source_ip_anonymized,
        events.order_id,
        events.revenue_cents,
        events.currency,
        events.affiliate_click_id
    from ({{ staged_bronze_events() }}) as events
    left join repeated on events.event_id = repeated.event_id
    where repeated.event_id is null
    union all
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
        browser,
        browser_version,
        os,
        os_version,
        device_class,
        source,
        schema_version,
        source_ip_anonymized,
        order_id,
        revenue_cents,
        currency,
        affiliate_click_id
    from first_copies
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
    browser,
    browser_version,
    os,
    os_version,
    device_class,
    source,
    schema_version,
    source_ip_anonymized,
    order_id,
    revenue_cents,
    currency,
    affiliate_click_id,
    cast(ts as date) as event_dt,
    {{ hour_of('ts') }} as event_hour
from distinct_events
