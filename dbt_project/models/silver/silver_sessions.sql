{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    rewrite_widen_days=1,
    unique_key='session_id',
) }}

{#- One row per session (real or derived), partitioned by the date the session started.
    A session takes each attribute from its events by one rule: the first non-null value in
    the session's event order (ts, then event_id); empty strings are already nulls. Every
    attribute is a window over the session's events, read on its first event (macros/session.sql
    says why not an aggregate). All windows share one partitioning and order, so DuckDB sorts
    the events once; a second sort (numbering the events apart) cost a third of the model.
    Only sessions that start on the run's days (widened by one) are kept: int_session_events
    reads a day more on both sides so that each is whole. -#}
with events as (
    select * from {{ ref('int_session_events') }}
),

session_rows as (
    select
        session_key,
        row_number() over ({{ session_order() }}) as position_asc,
        {{ first_in_session('user_id_hash') }} as user_id_hash,
        min(ts) over ({{ session_window() }}) as session_start_ts,
        max(ts) over ({{ session_window() }}) as session_end_ts,
        cast(
            count(case when event_type = 'page_view' then 1 end) over ({{ session_window() }})
            as integer
        ) as pageviews,
        cast(
            count(case when event_type = 'chart_interaction' then 1 end)
                over ({{ session_window() }})
            as integer
        ) as chart_interactions,
        cast(
            count(case when event_type = 'affiliate_click' then 1 end)
                over ({{ session_window() }})
            as integer
        ) as affiliate_clicks,
        cast(
            count(case when event_type = 'purchase' then 1 end) over ({{ session_window() }})
            as integer
        ) as purchases,
        cast(
            sum(case when event_type = 'purchase' then coalesce(revenue_cents, 0) else 0 end)
                over ({{ session_window() }})
            as bigint
        ) as revenue_cents,
        {{ first_in_session('page_url') }} as first_page_url,
        {{ last_in_session('page_url') }} as last_page_url,
        {{ first_in_session('referrer') }} as referrer,
        {{ first_in_session('ab_variant') }} as ab_variant,
        {{ first_in_session('geo_country') }} as geo_country,
        {{ first_in_session('utm_source') }} as utm_source,
        {{ first_in_session('utm_medium') }} as utm_medium,
        {{ first_in_session('utm_campaign') }} as utm_campaign,
        {{ first_in_session('device_class') }} as device_class,
        {{ first_in_session('browser') }} as browser,
        {{ first_in_session('os') }} as os,
        bool_or(is_bot) over ({{ session_window() }}) as is_bot,
        coalesce(bool_or(
            event_type = 'page_view' and {{ is_comparison_page('page_url') }}
        ) over ({{ session_window() }}), false) as saw_comparison,
        {{ first_in_session('affiliate_target', "event_type = 'affiliate_click'") }}
            as affiliate_target,
        cast(
            sum(case when event_type = 'affiliate_click' then coalesce(payout_cents, 0) else 0 end)
                over ({{ session_window() }})
            as bigint
        ) as payout_cents,
        cast(count(*) over ({{ session_window() }}) as integer) as events
    from events
),

sessions as (
    select *
    from session_rows
    where
        position_asc = 1
        and {{ in_rebuild_days('cast(session_start_ts as date)', widen=1) }}
),

hosts as (
    select
        *,
        {{ url_host('referrer') }} as referrer_host,
        {{ url_host('first_page_url') }} as first_page_host
    from sessions
),

sources as (
    select
        *,
        {{ referrer_medium('referrer_host', 'first_page_host') }} as referrer_medium,
        {{ referrer_source('referrer_host') }} as referrer_source
    from hosts
)

select
    session_key as session_id,
    user_id_hash,
    session_start_ts,
    session_end_ts,
    pageviews,
    chart_interactions,
    affiliate_clicks,
    first_page_url,
    last_page_url,
    referrer,
    ab_variant,
    geo_country,
    utm_source,
    utm_medium,
    utm_campaign,
    {{ page_path('first_page_url') }} as landing_page,
    {{ page_path('last_page_url') }} as exit_page,
    referrer_medium,
    referrer_source,
    {{ channel_group('utm_source', 'utm_medium', 'referrer_medium') }} as channel_group,
    device_class,
    browser,
    os,
    is_bot,
    saw_comparison,
    affiliate_target,
    payout_cents,
    purchases,
    revenue_cents,
    events,
    cast(session_start_ts as date) as event_dt
from sources
