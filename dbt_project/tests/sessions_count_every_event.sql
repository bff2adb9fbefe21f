{#- Reconciliation: every deduplicated event belongs to exactly one session. -#}
{#- Whole-table invariant: it cannot be cut at day boundaries (a session's events and clicks
    can fall on the next day), so it warns rather than blocks; the day's gates are exact. -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'silver_sessions'}}}) }}
with sessions as (
    select coalesce(sum(events), 0) as events from {{ ref('silver_sessions') }}
),

events as (
    select count(*) as events from {{ ref('silver_events') }}
)

select
    sessions.events as session_events,
    events.events as silver_events
from sessions cross join events
where sessions.events <> events.events
