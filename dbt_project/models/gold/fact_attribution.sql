{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    rewrite_widen_days=var('attribution_lookback_days'),
    unique_key=['conversion_id', 'attribution_model', 'touch_session_id'],
    pre_hook="{{ delete_rewritten_days('event_dt', var('attribution_lookback_days')) }}",
) }}

{#- One row per conversion × attribution model × credited touch.

    A conversion is a `purchase` event. Its touches are the sessions (not crawlers', and not
    sessions holding nothing but conversions, such as a postback's) that start at most
    `attribution_lookback_days` before it and not after it: the sessions of its user, its own
    session, and the session of the affiliate click a postback credits. Touches are ordered by
    session start, then session id. Models:
      first_click     the first touch within `first_click_window_minutes` (seed 001: 1 hour)
      last_click      the last touch
      linear          every touch equally
      position_based  40 % first, 40 % last, 20 % shared by the middle (one touch: all of it;
                      two: half each)
      time_decay      weight 0.5 ^ (age / `attribution_half_life_days`), normalised
    A conversion a model finds no touch for is credited whole to '(direct)'.

    Exact sums: shares are accumulated in touch order and each row takes the difference of
    the rounded running totals (12 decimals for the share, whole cents for revenue), the last
    row closing at exactly 1 and exactly the revenue.

    Incremental: a touch or conversion on day d changes conversions of days d .. d + lookback,
    so a run rewrites its event days widened by the lookback (both sides) and reads sessions
    a further lookback earlier. -#}

{%- set lookback = var('attribution_lookback_days') | int %}

with conversions as (
    select
        event_id as conversion_id,
        order_id,
        ts as conversion_ts,
        user_id_hash,
        session_id as conversion_session_id,
        affiliate_click_id,
        coalesce(revenue_cents, 0) as revenue_cents,
        currency,
        event_dt
    from {{ ref('silver_events') }}
    where event_type = 'purchase'
        and {{ in_rebuild_days('event_dt', widen=lookback) }}
),

sessions as (
    select
        session_id,
        user_id_hash,
        session_start_ts,
        utm_source,
        utm_medium,
        utm_campaign,
        referrer,
        referrer_source,
        referrer_medium,
        channel_group
    from {{ ref('silver_sessions') }}
    where (pageviews > 0 or affiliate_clicks > 0)
        and not coalesce(is_bot, false)
        and {{ in_rebuild_days('event_dt', widen=2 * lookback + 1) }}
),

clicked_sessions as (
    select
        conversions.conversion_id,
        clicks.session_id
    from conversions
    inner join {{ ref('silver_events') }} as clicks
        on conversions.affiliate_click_id = clicks.event_id
    where clicks.event_type = 'affiliate_click'
        and clicks.session_id is not null
        and {{ in_rebuild_days('clicks.event_dt', widen=2 * lookback + 1) }}
),

candidate_touches as (
    select
        conversions.conversion_id,
        sessions.session_id
    from conversions
    inner join sessions on conversions.user_id_hash = sessions.user_id_hash
    union
    select
        conversion_id,
        conversion_session_id as session_id
    from conversions
    where conversion_session_id is not null
    union
    select
        conversion_id,
        session_id
    from clicked_sessions
),

touches as (
    select
        conversions.conversion_id,
        sessions.session_id as touch_session_id,
        sessions.session_start_ts as touch_ts,
        sessions.channel_group as channel,
        coalesce(
            sessions.utm_source,
            sessions.referrer_source,
            {{ url_host('sessions.referrer') }},
            '(direct)'
        ) as source,
        coalesce(sessions.utm_medium, sessions.referrer_medium, '(none)') as medium,
        sessions.utm_campaign as campaign,
        {{ millis_between('sessions.session_start_ts', 'conversions.conversion_ts') }} as age_ms
    from candidate_touches
    inner join conversions on candidate_touches.conversion_id = conversions.conversion_id
    inner join sessions on candidate_touches.session_id = sessions.session_id
    where sessions.session_start_ts <= conversions.conversion_ts
        and sessions.session_start_ts
        > conversions.conversion_ts - interval '{{ lookback }}' day
),

ranked as (
    select
        touches.*,
        row_number() over (
            partition by touches.conversion_id
            order by touches.touch_ts, touches.touch_session_id
        ) as touch_number,
        count(*) over (partition by touches.conversion_id) as touch_count,
        power(
            0.5e0, touches.age_ms / ({{ var('attribution_half_life_days') }} * 86400000e0)
        ) as decay_weight,
        case
            when touches.age_ms <= {{ var('first_click_window_minutes') }} * 60000 then 1
            else 0
        end as in_first_click_window
    from touches
),

first_in_window as (
    select
        ranked.*,
        row_number() over (
            partition by ranked.conversion_id
            order by ranked.touch_ts, ranked.touch_session_id
        ) as window_number
    from ranked
    where ranked.in_first_click_window = 1
),

raw_credits as (
    select
        conversion_id,
        'first_click' as attribution_model,
        touch_number,
        touch_session_id,
        touch_ts,
        channel,
        source,
        medium,
        campaign,
        1e0 as raw_share
    from first_in_window
    where window_number = 1
    union all
    select
        conversion_id,
        'last_click' as attribution_model,
        touch_number,
        touch_session_id,
        touch_ts,
        channel,
        source,
        medium,
        campaign,
        1e0 as raw_share
    from ranked
    where touch_number = touch_count
    union all
    select
        conversion_id,
        'linear' as attribution_model,
        touch_number,
        touch_session_id,
        touch_ts,
        channel,
        source,
        medium,
        campaign,
        1e0 / touch_count as raw_share
    from ranked
    union all
    select
        conversion_id,
        'position_based' as attribution_model,
        touch_number,
        touch_session_id,
        touch_ts,
        channel,
        source,
        medium,
        campaign,
        case
            when touch_count = 1 then 1e0
            when touch_count = 2 then 0.5e0
            when touch_number = 1 or touch_number = touch_count then 0.4e0
            else 0.2e0 / (touch_count - 2)
        end as raw_share
    from ranked
    union all
    select
        conversion_id,
        'time_decay' as attribution_model,
        touch_number,
        touch_session_id,
        touch_ts,
        channel,
        source,
        medium,
        campaign,
        decay_weight / sum(decay_weight) over (partition by conversion_id) as raw_share
    from ranked
),

models as (
    select 'first_click' as attribution_model
    union all
    select 'last_click' as attribution_model
    union all
    select 'linear' as attribution_model
    union all
    select 'position_based' as attribution_model
    union all
    select 'time_decay' as attribution_model
),

credited as (
    select distinct
        conversion_id,
        attribution_model
    from raw_credits
),

all_credits as (
    select * from raw_credits
    union all
    select
        conversions.conversion_id,
        models.attribution_model,
        1 as touch_number,
        '(direct)' as touch_session_id,
        cast(null as timestamp) as touch_ts,
        'Direct' as channel,
        '(direct)' as source,
        '(none)' as medium,
        cast(null as varchar) as campaign,
        1e0 as raw_share
    from conversions
    cross join models
    left join credited
        on conversions.conversion_id = credited.conversion_id
            and models.attribution_model = credited.attribution_model
    where credited.conversion_id is null
),

numbered as (
    select
        all_credits.*,
        row_number() over (
            partition by all_credits.conversion_id, all_credits.attribution_model
            order by all_credits.touch_number desc
        ) as from_last,
        sum(all_credits.raw_share) over (
            partition by all_credits.conversion_id, all_credits.attribution_model
            order by all_credits.touch_number
            rows unbounded preceding
        ) as raw_running_share
    from all_credits
),

running as (
    select
        numbered.*,
        case when numbered.from_last = 1 then 1e0 else numbered.raw_running_share end
            as running_share
    from numbered
),

closed as (
    select
        running.*,
        coalesce(
            lag(running.running_share) over (
                partition by running.conversion_id, running.attribution_model
                order by running.touch_number
            ),
            0e0
        ) as previous_share
    from running
)

select
    closed.conversion_id,
    conversions.order_id,
    conversions.conversion_ts,
    closed.attribution_model,
    cast(closed.touch_number as integer) as touch_position,
    closed.touch_session_id,
    {{ lake_timestamp('closed.touch_ts') }} as touch_ts,
    closed.channel,
    closed.source,
    closed.medium,
    closed.campaign,
    cast(
        cast(round(closed.running_share, 12) as decimal(20, 12))
        - cast(round(closed.previous_share, 12) as decimal(20, 12))
        as decimal(20, 12)
    ) as credit_share,
    conversions.revenue_cents,
    cast(
        round(conversions.revenue_cents * closed.running_share)
        - round(conversions.revenue_cents * closed.previous_share)
        as bigint
    ) as revenue_credited_cents,
    conversions.currency,
    conversions.event_dt
from closed
inner join conversions on closed.conversion_id = conversions.conversion_id
