{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    rewrite_widen_days=1,
    unique_key='session_id',
) }}

{#- One row per session: how far it went through compare → chart → affiliate click →
    conversion, the dimensions the funnel is split by, and the segments its user was in when it
    started. The sessions are read with only the columns used: DuckDB materializes a CTE read
    twice. -#}
with sessions as (
    select
        session_id,
        user_id_hash,
        session_start_ts,
        saw_comparison,
        chart_interactions,
        affiliate_clicks,
        affiliate_target,
        payout_cents,
        purchases,
        revenue_cents,
        ab_variant,
        geo_country,
        channel_group,
        device_class,
        is_bot,
        event_dt
    from {{ ref('silver_sessions') }}
    where {{ in_rebuild_days('event_dt', widen=1) }}
),

segments as (
    select
        sessions.session_id,
        {{ sorted_set_agg('user_segments.segment_key') }} as segments
    from sessions
    inner join {{ ref('silver_user_segments') }} as user_segments
        on sessions.user_id_hash = user_segments.user_id_hash
            and sessions.session_start_ts >= user_segments.valid_from
            and (
                user_segments.valid_to is null or sessions.session_start_ts < user_segments.valid_to
            )
    group by sessions.session_id
)

select
    sessions.session_id,
    sessions.user_id_hash,
    sessions.session_start_ts,
    sessions.saw_comparison,
    sessions.chart_interactions > 0 as interacted_chart,
    sessions.affiliate_clicks > 0 as clicked_affiliate,
    sessions.affiliate_target,
    sessions.payout_cents,
    sessions.purchases > 0 as converted,
    sessions.purchases as conversions,
    sessions.revenue_cents,
    coalesce(segments.segments, {{ empty_string_array() }}) as segments,
    sessions.ab_variant,
    sessions.geo_country,
    sessions.channel_group,
    sessions.device_class,
    sessions.is_bot,
    sessions.event_dt
from sessions
left join segments on sessions.session_id = segments.session_id
