{#- Reconciliation, day by day: agg_pages_daily's page views add up to the human page_view
    events of silver_events, its entrances and exits to the human sessions of silver_sessions
    that have a landing and an exit page. -#}
{{ config(meta={'dagster': {'ref': {'name': 'agg_pages_daily'}}}) }}
with mart as (
    select
        event_dt,
        sum(pageviews) as pageviews,
        sum(entrances) as entrances,
        sum(exits) as exits
    from {{ ref('agg_pages_daily') }}
    group by event_dt
),

views as (
    select
        event_dt,
        count(*) as pageviews
    from {{ ref('silver_events') }}
    where event_type = 'page_view' and not is_bot and page_url is not null
    group by event_dt
),

sessions as (
    select
        event_dt,
        count(landing_page) as entrances,
        count(exit_page) as exits
    from {{ ref('silver_sessions') }}
    where not is_bot
    group by event_dt
),

silver as (
    select
        coalesce(views.event_dt, sessions.event_dt) as event_dt,
        coalesce(views.pageviews, 0) as pageviews,
        coalesce(sessions.entrances, 0) as entrances,
        coalesce(sessions.exits, 0) as exits
    from views
    full outer join sessions on views.event_dt = sessions.event_dt
)

select
    coalesce(mart.event_dt, silver.event_dt) as event_dt,
    mart.pageviews as mart_pageviews,
    silver.pageviews as silver_pageviews,
    mart.entrances as mart_entrances,
    silver.entrances as silver_entrances,
    mart.exits as mart_exits,
    silver.exits as silver_exits
from mart
full outer join silver on mart.event_dt = silver.event_dt
where coalesce(mart.pageviews, 0) <> silver.pageviews
    or coalesce(mart.entrances, 0) <> silver.entrances
    or coalesce(mart.exits, 0) <> silver.exits
    or silver.event_dt is null
