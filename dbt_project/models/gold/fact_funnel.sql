{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    unique_key='session_id',
) }}

{#- One row per session: how far it went through compare → chart → affiliate click. -#}
with events as (
    select * from {{ ref('int_session_events') }}
),

clicks as (
    select
        session_key,
        affiliate_target,
        row_number() over (partition by session_key order by ts, event_id) as click_rank
    from events
    where event_type = 'affiliate_click'
),

steps as (
    select
        session_key,
        min(user_id_hash) as any_user_id_hash,
        min(session_start_ts) as session_start_ts,
        bool_or(
            event_type = 'page_view'
            and {{ url_path('page_url') }} like '{{ var("comparison_path_prefix") }}%'
        ) as saw_comparison,
        bool_or(event_type = 'chart_interaction') as interacted_chart,
        bool_or(event_type = 'affiliate_click') as clicked_affiliate,
        sum(case when event_type = 'affiliate_click' then coalesce(payout_cents, 0) else 0 end)
            as payout_cents
    from events
    group by session_key
),

sessions as (
    select session_id, user_id_hash, ab_variant, geo_country, is_bot
    from {{ ref('silver_sessions') }}
    where {{ in_rewrite_range('event_dt') }}
),

segments as (
    select
        steps.session_key,
        {{ sorted_set_agg('user_segments.segment_key') }} as segments
    from steps
    inner join sessions on steps.session_key = sessions.session_id
    inner join {{ ref('silver_user_segments') }} as user_segments
        on sessions.user_id_hash = user_segments.user_id_hash
        and user_segments.valid_from <= steps.session_start_ts
        and (user_segments.valid_to is null or steps.session_start_ts < user_segments.valid_to)
    group by steps.session_key
)

select
    steps.session_key as session_id,
    sessions.user_id_hash,
    steps.session_start_ts,
    steps.saw_comparison,
    steps.interacted_chart,
    steps.clicked_affiliate,
    clicks.affiliate_target,
    cast(steps.payout_cents as bigint) as payout_cents,
    coalesce(segments.segments, {{ empty_string_array() }}) as segments,
    sessions.ab_variant,
    sessions.geo_country,
    sessions.is_bot,
    cast(steps.session_start_ts as date) as event_dt
from steps
inner join sessions on steps.session_key = sessions.session_id
left join clicks on steps.session_key = clicks.session_key and clicks.click_rank = 1
left join segments on steps.session_key = segments.session_key
