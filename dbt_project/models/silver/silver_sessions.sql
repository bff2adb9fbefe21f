{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    unique_key='session_id',
) }}

{#- One row per session (real or derived), partitioned by the date the session started. -#}
with events as (
    select * from {{ ref('int_session_events') }}
),

first_clicks as (
    select session_key, affiliate_target
    from (
        select
            session_key,
            affiliate_target,
            row_number() over (partition by session_key order by ts, event_id) as click_rank
        from events
        where event_type = 'affiliate_click'
    ) as clicks
    where click_rank = 1
),

{#- first and last page by the events' position in the session (no second sort) -#}
page_positions as (
    select
        session_key,
        min(position_asc) as first_position,
        max(position_asc) as last_position
    from events
    where page_url is not null
    group by session_key
),

page_ends as (
    select
        page_positions.session_key,
        first_page.page_url as first_page_url,
        last_page.page_url as last_page_url
    from page_positions
    inner join events as first_page
        on page_positions.session_key = first_page.session_key
        and page_positions.first_position = first_page.position_asc
    inner join events as last_page
        on page_positions.session_key = last_page.session_key
        and page_positions.last_position = last_page.position_asc
),

sessions as (
    select
        session_key,
        {#- the first event's value, else any non-null one -#}
        coalesce(max(case when position_asc = 1 then user_id_hash end), min(user_id_hash)) as user_id_hash,
        min(ts) as session_start_ts,
        max(ts) as session_end_ts,
        cast(count(case when event_type = 'page_view' then 1 end) as integer) as pageviews,
        cast(count(case when event_type = 'chart_interaction' then 1 end) as integer) as chart_interactions,
        cast(count(case when event_type = 'affiliate_click' then 1 end) as integer) as affiliate_clicks,
        coalesce(max(case when position_asc = 1 then ab_variant end), min(ab_variant)) as ab_variant,
        coalesce(max(case when position_asc = 1 then geo_country end), min(geo_country)) as geo_country,
        coalesce(max(case when position_asc = 1 then utm_source end), min(utm_source)) as utm_source,
        bool_or(is_bot) as is_bot,
        bool_or(
            event_type = 'page_view'
            and {{ url_path('page_url') }} like '{{ var("comparison_path_prefix") }}%'
        ) as saw_comparison,
        cast(sum(case when event_type = 'affiliate_click' then coalesce(payout_cents, 0) else 0 end)
            as bigint) as payout_cents,
        cast(count(*) as integer) as events
    from events
    group by session_key
)

select
    sessions.session_key as session_id,
    sessions.user_id_hash,
    sessions.session_start_ts,
    sessions.session_end_ts,
    sessions.pageviews,
    sessions.chart_interactions,
    sessions.affiliate_clicks,
    page_ends.first_page_url,
    page_ends.last_page_url,
    sessions.ab_variant,
    sessions.geo_country,
    sessions.utm_source,
    sessions.is_bot,
    sessions.saw_comparison,
    first_clicks.affiliate_target,
    sessions.payout_cents,
    sessions.events,
    cast(sessions.session_start_ts as date) as event_dt
from sessions
left join page_ends on sessions.session_key = page_ends.session_key
left join first_clicks on sessions.session_key = first_clicks.session_key
