{#- Reconciliation: dim_users' sessions and events add up to silver_sessions and silver_events
    of the users that have one; retention never counts more active users than its cohort nor
    a week before it. -#}
{{ config(meta={'dagster': {'ref': {'name': 'dim_users'}}}) }}
with users as (
    select
        sum(sessions) as sessions,
        sum(events) as events
    from {{ ref('dim_users') }}
),

sessions as (
    select count(*) as sessions
    from {{ ref('silver_sessions') }}
    where user_id_hash is not null
),

events as (
    select count(*) as events
    from {{ ref('silver_events') }}
    where user_id_hash is not null
),

retention as (
    select count(*) as bad_rows
    from {{ ref('retention_weekly') }}
    where active_users > cohort_users or weeks_since < 0
)

select
    users.sessions as user_sessions,
    sessions.sessions as silver_sessions,
    users.events as user_events,
    events.events as silver_events,
    retention.bad_rows as bad_retention_rows
from users
cross join sessions
cross join events
cross join retention
where coalesce(users.sessions, 0) <> sessions.sessions
    or coalesce(users.events, 0) <> events.events
    or retention.bad_rows > 0
