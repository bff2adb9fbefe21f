{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    unique_key=['event_dt', 'event_hour', 'event_type'],
) }}

{#- Events per UTC hour × event type (bots included and counted apart). -#}
select
    event_hour,
    event_type,
    cast(count(*) as bigint) as events,
    cast(count(case when not is_bot then 1 end) as bigint) as human_events,
    cast(count(distinct user_id_hash) as bigint) as active_users,
    cast(count(distinct session_id) as bigint) as sessions,
    cast(
        sum(case when event_type = 'affiliate_click' then coalesce(payout_cents, 0) else 0 end)
        as bigint
    ) as payout_cents,
    event_dt
from {{ ref('silver_events') }}
where {{ in_rebuild_days('event_dt') }}
group by event_dt, event_hour, event_type
