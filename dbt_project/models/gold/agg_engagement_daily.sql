{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    rewrite_widen_days=1,
    unique_key=['event_dt', 'geo_country', 'ab_variant', 'channel_group', 'device_class'],
) }}

{#- Engagement per session start day × country × A/B variant × channel group × device class,
    human sessions only (bots excluded). An engaged session lasted at least 10 s, or has two
    or more page views, or converted (macros/pages.sql). Rewritten with the session partitions
    it reads (the run's days widened by one). -#}
with sessions as (
    select
        silver_sessions.*,
        {{ is_engaged_session('silver_sessions') }} as is_engaged,
        {{ session_seconds('silver_sessions') }} as duration_seconds
    from {{ ref('silver_sessions') }} as silver_sessions
    where {{ in_rebuild_days('silver_sessions.event_dt', widen=1) }}
        and not silver_sessions.is_bot
),

users as (
    select
        user_id_hash,
        first_seen_dt
    from {{ ref('dim_users') }}
),

grouped as (
    select
        sessions.event_dt,
        coalesce(sessions.geo_country, '(unknown)') as geo_country,
        coalesce(sessions.ab_variant, '(none)') as ab_variant,
        sessions.channel_group,
        coalesce(sessions.device_class, '(unknown)') as device_class,
        cast(count(distinct sessions.user_id_hash) as bigint) as active_users,
        cast(count(distinct case
            when users.first_seen_dt = sessions.event_dt then sessions.user_id_hash
        end) as bigint) as new_users,
        cast(count(*) as bigint) as sessions,
        cast(count(case when sessions.is_engaged then 1 end) as bigint) as engaged_sessions,
        cast(sum(sessions.duration_seconds) as bigint) as session_seconds,
        cast(sum(sessions.pageviews) as bigint) as pageviews,
        cast(sum(sessions.chart_interactions) as bigint) as chart_interactions,
        cast(sum(sessions.affiliate_clicks) as bigint) as affiliate_clicks,
        cast(sum(sessions.payout_cents) as bigint) as payout_cents
    from sessions
    left join users on sessions.user_id_hash = users.user_id_hash
    group by
        sessions.event_dt,
        coalesce(sessions.geo_country, '(unknown)'),
        coalesce(sessions.ab_variant, '(none)'),
        sessions.channel_group,
        coalesce(sessions.device_class, '(unknown)')
)

select
    geo_country,
    ab_variant,
    channel_group,
    device_class,
    active_users,
    new_users,
    sessions,
    engaged_sessions,
    cast(sessions - engaged_sessions as double) / sessions as bounce_rate,
    cast(session_seconds as double) / sessions as avg_session_seconds,
    session_seconds,
    pageviews,
    chart_interactions,
    affiliate_clicks,
    payout_cents,
    event_dt
from grouped
