{{ config(unique_key=['cohort_week', 'weeks_since']) }}

{#- Weekly retention of human users: the users first seen in a week (the cohort, by dim_users'
    first_seen_dt), and how many of them had a session in each week since. Rebuilt whole on
    every run: a new session can change any cohort. -#}
with users as (
    select
        user_id_hash,
        {{ week_start('first_seen_dt') }} as cohort_week
    from {{ ref('dim_users') }}
    where not is_bot
),

activity as (
    select distinct
        users.cohort_week,
        users.user_id_hash,
        {{ week_start('sessions.event_dt') }} as active_week
    from {{ ref('silver_sessions') }} as sessions
    inner join users on sessions.user_id_hash = users.user_id_hash
),

cohorts as (
    select
        cohort_week,
        cast(count(*) as bigint) as cohort_users
    from users
    group by cohort_week
)

select
    activity.cohort_week,
    cast(date_diff('week', activity.cohort_week, activity.active_week) as integer) as weeks_since,
    cohorts.cohort_users,
    cast(count(*) as bigint) as active_users,
    cast(count(*) as double) / cohorts.cohort_users as retention_rate
from activity
inner join cohorts on activity.cohort_week = cohorts.cohort_week
group by activity.cohort_week, activity.active_week, cohorts.cohort_users
