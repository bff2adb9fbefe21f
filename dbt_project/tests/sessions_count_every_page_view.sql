{#- Reconciliation: the sessions' page views add up to the page_view events. -#}
{#- Whole-table invariant: it cannot be cut at day boundaries (a session's events and clicks
    can fall on the next day), so it warns rather than blocks; the day's gates are exact. -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'silver_sessions'}}}) }}
with sessions as (
    select coalesce(sum(pageviews), 0) as pageviews from {{ ref('silver_sessions') }}
),

events as (
    select count(*) as pageviews
    from {{ ref('silver_events') }}
    where event_type = 'page_view'
)

select
    sessions.pageviews as session_pageviews,
    events.pageviews as event_pageviews
from sessions cross join events
where sessions.pageviews <> events.pageviews
