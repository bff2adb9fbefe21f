{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    rewrite_widen_days=1,
    unique_key=['event_dt', 'page_path'],
) }}

{#- Per day × page path, humans only: page views and unique viewers by the view's date;
    entrances (sessions that landed on the page) and exits (sessions whose last event was on
    it) by the session's start date. Rewritten with the session partitions it reads. -#}
with views as (
    select
        event_dt,
        {{ page_path('page_url') }} as page_path,
        cast(count(*) as bigint) as pageviews,
        cast(count(distinct user_id_hash) as bigint) as unique_users
    from {{ ref('silver_events') }}
    where {{ in_rebuild_days('event_dt', widen=1) }}
        and event_type = 'page_view'
        and not is_bot
        and page_url is not null
    group by event_dt, {{ page_path('page_url') }}
),

sessions as (
    select *
    from {{ ref('silver_sessions') }}
    where {{ in_rebuild_days('event_dt', widen=1) }}
        and not is_bot
),

entrances as (
    select
        event_dt,
        landing_page as page_path,
        cast(count(*) as bigint) as entrances
    from sessions
    where landing_page is not null
    group by event_dt, landing_page
),

exits as (
    select
        event_dt,
        exit_page as page_path,
        cast(count(*) as bigint) as exits
    from sessions
    where exit_page is not null
    group by event_dt, exit_page
),

keys as (
    select
        event_dt,
        page_path
    from views
    union distinct
    select
        event_dt,
        page_path
    from entrances
    union distinct
    select
        event_dt,
        page_path
    from exits
)

select
    keys.page_path,
    coalesce(views.pageviews, 0) as pageviews,
    coalesce(views.unique_users, 0) as unique_users,
    coalesce(entrances.entrances, 0) as entrances,
    coalesce(exits.exits, 0) as exits,
    keys.event_dt
from keys
left join views on keys.event_dt = views.event_dt and keys.page_path = views.page_path
left join entrances
    on keys.event_dt = entrances.event_dt and keys.page_path = entrances.page_path
left join exits on keys.event_dt = exits.event_dt and keys.page_path = exits.page_path
