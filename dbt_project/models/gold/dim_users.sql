{{ config(unique_key='user_id_hash') }}

{#- One row per user (seed 002 dim_users): every user of silver_events, with their sessions
    from silver_sessions, rebuilt whole on every run: first and last seen, first-touch source,
    latest country, preferred device class, sessions and events to date, bot flag. The sessions
    are read once with the columns used (DuckDB materializes a CTE read more than once). -#}
with sessions as (
    select
        user_id_hash,
        session_id,
        session_start_ts,
        utm_source,
        utm_medium,
        utm_campaign,
        channel_group,
        landing_page,
        geo_country,
        device_class
    from {{ ref('silver_sessions') }}
    where user_id_hash is not null
),

ordered as (
    select
        sessions.*,
        row_number() over (
            partition by sessions.user_id_hash
            order by sessions.session_start_ts, sessions.session_id
        ) as first_rank
    from sessions
),

countries as (
    select
        user_id_hash,
        geo_country,
        row_number() over (
            partition by user_id_hash order by session_start_ts desc, session_id desc
        ) as latest_rank
    from sessions
    where geo_country is not null
),

devices as (
    select
        user_id_hash,
        device_class,
        count(*) as device_sessions,
        max(session_start_ts) as last_used_ts
    from sessions
    where device_class is not null
    group by user_id_hash, device_class
),

preferred_devices as (
    select
        user_id_hash,
        device_class,
        row_number() over (
            partition by user_id_hash
            order by device_sessions desc, last_used_ts desc, device_class asc
        ) as preference_rank
    from devices
),

session_totals as (
    select
        user_id_hash,
        cast(count(*) as bigint) as sessions
    from sessions
    group by user_id_hash
),

totals as (
    select
        user_id_hash,
        min(ts) as first_seen_ts,
        max(ts) as last_seen_ts,
        cast(count(*) as bigint) as events,
        cast(count(case when event_type = 'page_view' then 1 end) as bigint) as pageviews,
        bool_or(is_bot) as is_bot
    from {{ ref('silver_events') }}
    where user_id_hash is not null
    group by user_id_hash
)

select
    totals.user_id_hash,
    totals.first_seen_ts,
    cast(totals.first_seen_ts as date) as first_seen_dt,
    totals.last_seen_ts,
    ordered.session_id as first_session_id,
    ordered.utm_source as first_utm_source,
    ordered.utm_medium as first_utm_medium,
    ordered.utm_campaign as first_utm_campaign,
    ordered.channel_group as first_channel_group,
    ordered.landing_page as first_landing_page,
    countries.geo_country as latest_country,
    preferred_devices.device_class as preferred_device_class,
    coalesce(session_totals.sessions, 0) as sessions,
    totals.events,
    totals.pageviews,
    totals.is_bot
from totals
left join session_totals on totals.user_id_hash = session_totals.user_id_hash
left join ordered
    on totals.user_id_hash = ordered.user_id_hash and ordered.first_rank = 1
left join countries
    on totals.user_id_hash = countries.user_id_hash and countries.latest_rank = 1
left join preferred_devices
    on totals.user_id_hash = preferred_devices.user_id_hash
        and preferred_devices.preference_rank = 1
